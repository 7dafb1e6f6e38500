"""The weekly check-in answers (``checkins``): one per candidate and local week."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.locks import locked
from storage.models import CheckIn

ANSWERS = ("fine", "worried", "question")


async def record_checkin(
    *, session: AsyncSession, candidate_id: int, week: date, answer: str, now: datetime
) -> bool:
    """Store this week's answer (a second tap the same week replaces it); True when it
    is the week's first."""
    if answer not in ANSWERS:
        raise ValueError(f"unknown check-in answer {answer!r}")
    stmt = select(CheckIn).where(CheckIn.candidate_id == candidate_id, CheckIn.week == week)
    existing = (await session.exec(locked(session, stmt))).first()
    if existing is not None:
        existing.answer, existing.at = answer, now
        session.add(existing)
        return False
    session.add(CheckIn(candidate_id=candidate_id, week=week, answer=answer, at=now))
    await session.flush()
    return True


async def checkins_since(
    *, session: AsyncSession, candidate_ids: Sequence[int], since: datetime
) -> Sequence[CheckIn]:
    """Answers of these candidates given since ``since``, oldest first."""
    stmt = (
        select(CheckIn)
        .where(col(CheckIn.candidate_id).in_(candidate_ids), col(CheckIn.at) >= since)
        .order_by(col(CheckIn.at), col(CheckIn.id))
    )
    return (await session.exec(stmt)).all()
