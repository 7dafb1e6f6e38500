"""Queries for scheduled pushes: mute, receipts, caps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Candidate


async def set_muted(
    *, session: AsyncSession, candidate_id: int, muted: bool, now: datetime
) -> None:
    """/mute and /unmute: stop or restore non-transactional pushes."""
    await session.exec(
        update(Candidate)
        .where(col(Candidate.id) == candidate_id)
        .values(muted_at=now if muted else None, updated_at=now)
    )
