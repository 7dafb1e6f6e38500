"""Submitted documents."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Document


async def documents_of(*, session: AsyncSession, candidate_id: int) -> Sequence[Document]:
    stmt = select(Document).where(Document.candidate_id == candidate_id)
    return (await session.exec(stmt)).all()
