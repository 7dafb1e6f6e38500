"""Stability score history: one row per computation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Outcome, ScoreSnapshot


async def save(*, session: AsyncSession, snapshot: ScoreSnapshot) -> ScoreSnapshot:
    session.add(snapshot)
    await session.flush()
    return snapshot


async def save_many(
    *, session: AsyncSession, snapshots: Sequence[ScoreSnapshot]
) -> Sequence[ScoreSnapshot]:
    """Save these snapshots with one flush (the INSERTs go out in batches, ids returned)."""
    session.add_all(snapshots)
    await session.flush()
    return snapshots


async def add_rows(*, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert snapshots given as column values in one executemany (no objects, no ids)."""
    if rows:
        await session.exec(insert(ScoreSnapshot), params=rows)


async def latest(
    *,
    session: AsyncSession,
    candidate_ids: Iterable[int] | None = None,
    before: datetime | None = None,
) -> dict[int, ScoreSnapshot]:
    """Each candidate's newest snapshot (all candidates when ``candidate_ids`` is None);
    given ``before``, the newest one taken before that moment."""
    newest = select(
        ScoreSnapshot.candidate_id, func.max(ScoreSnapshot.id).label("last_id")
    ).group_by(col(ScoreSnapshot.candidate_id))
    if before is not None:
        newest = newest.where(col(ScoreSnapshot.at) < before)
    if candidate_ids is not None:
        ids = list(candidate_ids)
        if not ids:
            return {}
        newest = newest.where(col(ScoreSnapshot.candidate_id).in_(ids))
    sub = newest.subquery()
    stmt = select(ScoreSnapshot).join(sub, col(ScoreSnapshot.id) == sub.c.last_id)
    return {row.candidate_id: row for row in (await session.exec(stmt)).all()}


async def history(
    *, session: AsyncSession, candidate_id: int, since: datetime
) -> Sequence[ScoreSnapshot]:
    """A candidate's snapshots since ``since``, oldest first."""
    stmt = (
        select(ScoreSnapshot)
        .where(col(ScoreSnapshot.candidate_id) == candidate_id, col(ScoreSnapshot.at) >= since)
        .order_by(col(ScoreSnapshot.at), col(ScoreSnapshot.id))
    )
    return (await session.exec(stmt)).all()


async def latest_of(*, session: AsyncSession, candidate_id: int) -> ScoreSnapshot | None:
    """A candidate's newest snapshot, or None."""
    stmt = (
        select(ScoreSnapshot)
        .where(col(ScoreSnapshot.candidate_id) == candidate_id)
        .order_by(col(ScoreSnapshot.at).desc(), col(ScoreSnapshot.id).desc())
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def calibration_rows(
    *, session: AsyncSession
) -> list[tuple[str, int | None, dict[str, Any]]]:
    """Every recorded outcome (joined / reneged) with its score and indicator values."""
    stmt = select(Outcome.outcome, Outcome.score, Outcome.features).order_by(
        col(Outcome.at), col(Outcome.id)
    )
    return [(o, s, dict(f or {})) for o, s, f in (await session.exec(stmt)).all()]
