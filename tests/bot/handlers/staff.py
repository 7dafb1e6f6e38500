"""Helpers for the staff command tests: snapshots, audit rows and outbox rows."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.runtime.app import App
from storage import audit, scores
from storage.models import (
    Candidate,
    Outbox,
    ScoreSnapshot,
)

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


async def latest_snapshot(app: App, candidate: Candidate) -> ScoreSnapshot:
    assert candidate.id is not None
    async with app.db.session() as session:
        return (await scores.latest(session=session, candidate_ids=[candidate.id]))[candidate.id]


async def audit_rows(app: App) -> list[tuple[str, str, int | None, str]]:
    async with app.db.session() as session:
        rows = await audit.latest(session=session, limit=100)
    return [(r.actor, r.action, r.candidate_id, r.detail) for r in rows]


async def outbox_rows(app: App, candidate: Candidate) -> list[Outbox]:
    from sqlmodel import col, select

    async with app.db.session() as session:
        stmt = (
            select(Outbox).where(col(Outbox.candidate_id) == candidate.id).order_by(col(Outbox.id))
        )
        return list((await session.exec(stmt)).all())
