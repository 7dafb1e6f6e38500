"""The inbox: a delivery is stored once, processed once, and found again when abandoned."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FixedClock
from storage import events
from storage.db import Database


async def test_store_once_then_process_once(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    payload = {"sender": ["telegram", "42", "42", "张三"], "text": "hi"}
    async with database.session() as session:
        assert await events.store_inbound_event(
            session=session, platform="telegram", event_id="e1", payload=payload, now=now
        )
        assert not await events.store_inbound_event(
            session=session, platform="telegram", event_id="e1", payload={}, now=now
        )
        # The same id from another platform is another event.
        assert await events.store_inbound_event(
            session=session, platform="wecom", event_id="e1", payload={}, now=now
        )
    async with database.session() as session:
        event = await events.lock_unprocessed(session=session, platform="telegram", event_id="e1")
        assert event is not None
        assert event.payload == payload and event.received_at == now
        assert event.processed_at is None
        assert (
            await events.lock_unprocessed(session=session, platform="telegram", event_id="nope")
            is None
        )
        await events.mark_processed(
            session=session,
            platform="telegram",
            event_id="e1",
            now=now + timedelta(seconds=1),
            error="E" * 700,
        )
    async with database.session() as session:
        assert (
            await events.lock_unprocessed(session=session, platform="telegram", event_id="e1")
            is None
        )
        other = await events.lock_unprocessed(session=session, platform="wecom", event_id="e1")
        assert other is not None
        await events.mark_processed(session=session, platform="wecom", event_id="e1", now=now)
    async with database.session() as session:
        left = await events.stale_unprocessed(session=session, older_than=now + timedelta(days=1))
    assert list(left) == []


async def test_stale_unprocessed_oldest_first(database: Database, clock: FixedClock) -> None:
    t0 = clock.now()
    async with database.session() as session:
        for name, minutes in (("b", 2), ("a", 1), ("c", 3), ("cut", 10), ("done", 0)):
            await events.store_inbound_event(
                session=session,
                platform="memory",
                event_id=name,
                payload={},
                now=t0 + timedelta(minutes=minutes),
            )
        await events.mark_processed(session=session, platform="memory", event_id="done", now=t0)
    cut = t0 + timedelta(minutes=10)
    async with database.session() as session:
        stale = await events.stale_unprocessed(session=session, older_than=cut)
        two = await events.stale_unprocessed(session=session, older_than=cut, limit=2)
        from_processed = await events.lock_unprocessed(
            session=session, platform="memory", event_id="done"
        )
    assert [e.event_id for e in stale] == ["a", "b", "c"]  # "cut" is not older than the cut
    assert [e.event_id for e in two] == ["a", "b"]
    assert from_processed is None
