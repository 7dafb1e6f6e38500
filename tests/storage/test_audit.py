"""The audit log: entries are truncated to their columns and listed newest first, in pages."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FixedClock
from storage import audit
from storage.db import Database


async def test_record_truncates_and_keeps_every_field(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        await audit.record(
            session=session,
            staff_id=7,
            actor="甲" * 120,
            action="export_candidates_with_a_long_name",
            now=now,
            candidate_id=99,  # no foreign key: entries outlive the candidate
            detail="d" * 600,
        )
        await audit.record(session=session, staff_id=None, actor="system", action="view", now=now)
    async with database.session() as session:
        entries = await audit.latest(session=session)
    assert len(entries) == 2
    full = next(e for e in entries if e.staff_id == 7)
    bare = next(e for e in entries if e.staff_id is None)
    assert full.actor == "甲" * 100
    assert full.action == "export_candidates_with_a_long_na"
    assert len(full.action) == 32
    assert full.detail == "d" * 500
    assert full.candidate_id == 99
    assert full.at == now
    assert (bare.actor, bare.action, bare.candidate_id, bare.detail) == ("system", "view", None, "")


async def test_latest_is_newest_first_with_limit_and_offset(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        assert list(await audit.latest(session=session)) == []
        # Out of time order; the last two share a time, so the later insert comes first.
        for minutes, name in ((2, "b"), (0, "a"), (5, "d"), (3, "c1"), (3, "c2")):
            await audit.record(
                session=session,
                staff_id=1,
                actor=name,
                action="view",
                now=t0 + timedelta(minutes=minutes),
            )
    async with database.session() as session:
        everything = [e.actor for e in await audit.latest(session=session)]
        first_page = [e.actor for e in await audit.latest(session=session, limit=2)]
        second_page = [e.actor for e in await audit.latest(session=session, limit=2, offset=2)]
        past_end = list(await audit.latest(session=session, limit=2, offset=5))
    assert everything == ["d", "c2", "c1", "b", "a"]
    assert first_page == ["d", "c2"]
    assert second_page == ["c1", "b"]
    assert past_end == []
