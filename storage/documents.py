"""Submitted documents and their review."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Candidate, Document, DocumentStatus


async def documents_of(*, session: AsyncSession, candidate_id: int) -> Sequence[Document]:
    stmt = select(Document).where(Document.candidate_id == candidate_id)
    return (await session.exec(stmt)).all()


async def get_document(*, session: AsyncSession, document_id: int) -> Document | None:
    return await session.get(Document, document_id)


async def submit_document(
    *,
    session: AsyncSession,
    candidate_id: int,
    item: str,
    sha256: str,
    mime_type: str,
    size: int,
    file_name: str | None,
    now: datetime,
) -> tuple[Document, str | None]:
    """Store a new submission for the item, replacing the previous one.

    Returns the document and the SHA-256 of the file it replaced (if any).
    """
    stmt = select(Document).where(Document.candidate_id == candidate_id, Document.item == item)
    document = (await session.exec(stmt)).first()
    replaced = None
    if document is None:
        document = Document(
            candidate_id=candidate_id,
            item=item,
            status="",
            sha256="",
            mime_type="",
            size=0,
            submitted_at=now,
        )
    elif document.sha256 != sha256:
        replaced = document.sha256
    document.status = DocumentStatus.SUBMITTED.value
    document.sha256 = sha256
    document.mime_type = mime_type
    document.size = size
    document.file_name = (file_name or "")[:200] or None
    document.submitted_at = now
    document.reviewed_at = None
    document.reviewer_id = None
    document.reject_reason = None
    session.add(document)
    await session.flush()
    return document, replaced


async def review_document(
    *,
    session: AsyncSession,
    document: Document,
    approved: bool,
    reviewer_id: int | None,
    reason: str | None,
    now: datetime,
) -> None:
    document.status = (DocumentStatus.APPROVED if approved else DocumentStatus.REJECTED).value
    document.reviewed_at = now
    document.reviewer_id = reviewer_id
    document.reject_reason = None if approved else (reason or "")[:500]
    session.add(document)
    await session.flush()


async def awaiting_review(
    *, session: AsyncSession, hr_id: int | None, limit: int, offset: int = 0
) -> tuple[Sequence[tuple[Document, Candidate]], int]:
    """Submitted documents (of one HR's candidates, or all), oldest first, and the total."""
    base = (
        select(Document, Candidate)
        .join(Candidate, col(Candidate.id) == col(Document.candidate_id))
        .where(Document.status == DocumentStatus.SUBMITTED.value)
    )
    count = (
        select(func.count())
        .select_from(Document)
        .join(Candidate, col(Candidate.id) == col(Document.candidate_id))
        .where(Document.status == DocumentStatus.SUBMITTED.value)
    )
    if hr_id is not None:
        base = base.where(Candidate.hr_id == hr_id)
        count = count.where(Candidate.hr_id == hr_id)
    rows = (
        await session.exec(
            base.order_by(col(Document.submitted_at), col(Document.id)).offset(offset).limit(limit)
        )
    ).all()
    total = int((await session.exec(count)).one())
    return [(doc, cand) for doc, cand in rows], total
