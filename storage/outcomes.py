"""Outcomes: whether a candidate joined or reneged, for the funnel and calibration."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Outbox, OutboxCategory, OutboxStatus, Outcome

JOINED = "joined"
RENEGED = "reneged"
# Scheduled messages an outcome makes pointless (replies, notices and alerts stay).
SCHEDULED = (OutboxCategory.PUSH.value, OutboxCategory.REMINDER.value)


async def get_outcome(*, session: AsyncSession, candidate_id: int) -> Outcome | None:
    stmt = select(Outcome).where(col(Outcome.candidate_id) == candidate_id)
    return (await session.exec(stmt)).first()


async def record_outcome(
    *,
    session: AsyncSession,
    candidate_id: int,
    outcome: str,
    reason: str | None,
    department: str | None,
    recorded_by: int | None,
    score: int | None,
    features: dict[str, Any],
    now: datetime,
) -> tuple[Outcome, bool]:
    """Insert or replace the candidate's outcome; True when it is new.

    Pending pushes and reminders to the candidate are expired: nothing scheduled
    goes to someone who has joined or walked away.
    """
    if outcome not in (JOINED, RENEGED):
        raise ValueError(f"unknown outcome {outcome!r}")
    row = await get_outcome(session=session, candidate_id=candidate_id)
    created = row is None
    if row is None:
        row = Outcome(candidate_id=candidate_id, outcome=outcome)
    row.outcome = outcome
    row.reason = reason[:500] if reason else None
    row.department = department
    row.recorded_by = recorded_by
    row.score = score
    row.features = dict(features)
    row.at = now
    session.add(row)
    await session.flush()
    await session.exec(
        update(Outbox)
        .where(
            col(Outbox.candidate_id) == candidate_id,
            col(Outbox.status) == OutboxStatus.PENDING.value,
            col(Outbox.category).in_(SCHEDULED),
        )
        .values(status=OutboxStatus.EXPIRED.value, last_error="outcome recorded")
    )
    return row, created


async def list_outcomes(
    *, session: AsyncSession, candidate_ids: Iterable[int] | None = None
) -> Sequence[Outcome]:
    """Outcomes of these candidates; with None, every outcome (anonymous ones too)."""
    stmt = select(Outcome).order_by(col(Outcome.at), col(Outcome.id))
    if candidate_ids is not None:
        ids = list(candidate_ids)
        if not ids:
            return []
        stmt = stmt.where(col(Outcome.candidate_id).in_(ids))
    return (await session.exec(stmt)).all()


async def candidates_with_outcome(
    *, session: AsyncSession, candidate_ids: Iterable[int] | None = None
) -> set[int]:
    """Which of these candidates (all, with None) have an outcome recorded."""
    rows = await list_outcomes(session=session, candidate_ids=candidate_ids)
    return {r.candidate_id for r in rows if r.candidate_id is not None}
