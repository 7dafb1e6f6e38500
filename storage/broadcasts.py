"""HR broadcasts: who may receive one, and the record of each sent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Broadcast,
    Candidate,
    CourseResult,
    Document,
    DocumentStatus,
    Identity,
    OfferStatus,
)


async def audience_pool(*, session: AsyncSession, hr_id: int | None) -> Sequence[Candidate]:
    """Candidates a broadcast may reach: one HR's (all when None), without those who
    declined the offer or asked for their data to be deleted; by name."""
    stmt = select(Candidate).where(
        col(Candidate.offer_status) != OfferStatus.DECLINED.value,
        col(Candidate.forget_requested_at).is_(None),
    )
    if hr_id is not None:
        stmt = stmt.where(Candidate.hr_id == hr_id)
    return (await session.exec(stmt.order_by(col(Candidate.name), col(Candidate.id)))).all()


async def bound_candidate_ids(*, session: AsyncSession, candidate_ids: Iterable[int]) -> set[int]:
    """Those of ``candidate_ids`` with at least one chat account."""
    ids = list(candidate_ids)
    if not ids:
        return set()
    stmt = select(Identity.candidate_id).where(col(Identity.candidate_id).in_(ids)).distinct()
    return {int(i) for i in (await session.exec(stmt)).all() if i is not None}


async def approved_documents(
    *, session: AsyncSession, candidate_ids: Iterable[int]
) -> dict[int, set[str]]:
    """Checklist items each candidate has had approved."""
    ids = list(candidate_ids)
    found: dict[int, set[str]] = defaultdict(set)
    if ids:
        stmt = select(Document.candidate_id, Document.item).where(
            col(Document.candidate_id).in_(ids),
            Document.status == DocumentStatus.APPROVED.value,
        )
        for candidate_id, item in (await session.exec(stmt)).all():
            found[candidate_id].add(item)
    return found


async def passed_courses(
    *, session: AsyncSession, candidate_ids: Iterable[int]
) -> dict[int, set[str]]:
    """Courses each candidate has passed."""
    ids = list(candidate_ids)
    found: dict[int, set[str]] = defaultdict(set)
    if ids:
        stmt = select(CourseResult.candidate_id, CourseResult.course_id).where(
            col(CourseResult.candidate_id).in_(ids), col(CourseResult.passed).is_(True)
        )
        for candidate_id, course_id in (await session.exec(stmt)).all():
            found[candidate_id].add(course_id)
    return found


async def create_broadcast(
    *,
    session: AsyncSession,
    staff_id: int | None,
    text: str,
    audience: dict[str, Any],
    now: datetime,
) -> Broadcast:
    broadcast = Broadcast(staff_id=staff_id, text=text, audience=audience, created_at=now)
    session.add(broadcast)
    await session.flush()
    return broadcast


async def set_recipients(*, session: AsyncSession, broadcast: Broadcast, recipients: int) -> None:
    broadcast.recipients = recipients
    session.add(broadcast)
    await session.flush()
