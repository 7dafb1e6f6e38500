"""The outbox: dedupe on enqueue, lease-based claiming, and every status transition."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.clock import FixedClock
from storage import outbox
from storage.db import Database
from storage.models import Outbox, OutboxStatus
from tests.storage.factories import make_candidate, pk


async def _candidate_id(database: Database, clock: FixedClock) -> int:
    async with database.session() as session:
        return pk(await make_candidate(session, now=clock.now()))


async def _row(database: Database, row_id: int) -> Outbox:
    async with database.session() as session:
        row = await session.get(Outbox, row_id)
    assert row is not None
    return row


async def test_enqueue_writes_a_pending_row_dedupes_and_needs_a_recipient(
    database: Database, clock: FixedClock
) -> None:
    cid = await _candidate_id(database, clock)
    now = clock.now()
    due = now + timedelta(hours=1)
    async with database.session() as session:
        first = await outbox.enqueue(
            session=session,
            kind="text",
            payload={"text": "早上好"},
            due_at=due,
            now=now,
            candidate_id=cid,
            dedupe_key="push:1:morning",
            category="push",
            expires_at=due + timedelta(hours=2),
        )
        again = await outbox.enqueue(
            session=session,
            kind="text",
            payload={"text": "second"},
            due_at=now,
            now=now,
            candidate_id=cid,
            dedupe_key="push:1:morning",
        )
        plain_a = await outbox.enqueue(
            session=session, kind="text", payload={}, due_at=now, now=now, candidate_id=cid
        )
        plain_b = await outbox.enqueue(
            session=session, kind="text", payload={}, due_at=now, now=now, candidate_id=cid
        )
        with pytest.raises(ValueError, match="recipient"):
            await outbox.enqueue(session=session, kind="text", payload={}, due_at=now, now=now)
    assert isinstance(first, int)
    assert again is None
    # Rows without a dedupe key never collide.
    assert plain_a is not None and plain_b is not None and plain_a != plain_b
    row = await _row(database, first)
    assert row.status == OutboxStatus.PENDING.value
    assert row.payload == {"text": "早上好"}
    assert row.kind == "text"
    assert row.candidate_id == cid and row.identity_id is None and row.staff_id is None
    assert row.due_at == due and row.created_at == now
    assert row.expires_at == due + timedelta(hours=2)
    assert row.category == "push"
    assert row.attempts == 0 and row.sent_at is None and row.lease_until is None


async def test_due_ids_orders_filters_limits_and_excludes(
    database: Database, clock: FixedClock
) -> None:
    cid = await _candidate_id(database, clock)
    now = clock.now()
    async with database.session() as session:

        async def add(due_offset: timedelta) -> int:
            row_id = await outbox.enqueue(
                session=session,
                kind="text",
                payload={},
                due_at=now + due_offset,
                now=now,
                candidate_id=cid,
            )
            assert row_id is not None
            return row_id

        late = await add(-timedelta(minutes=1))
        early = await add(-timedelta(minutes=10))
        same_as_late = await add(-timedelta(minutes=1))
        exactly_now = await add(timedelta())
        future = await add(timedelta(seconds=1))
        sent = await add(-timedelta(hours=1))
        failed = await add(-timedelta(hours=1))
        expired = await add(-timedelta(hours=1))
        await outbox.mark_sent(session=session, row_id=sent, now=now)
        await outbox.mark_failed(session=session, row_id=failed, error="x", retry_at=None)
        await outbox.mark_expired(session=session, row_id=expired)
    async with database.session() as session:
        ids = await outbox.due_ids(session=session, now=now)
        limited = await outbox.due_ids(session=session, now=now, limit=2)
        rest = await outbox.due_ids(session=session, now=now, exclude=[early, late])
        later = await outbox.due_ids(session=session, now=now + timedelta(seconds=1))
    assert list(ids) == [early, late, same_as_late, exactly_now]
    assert list(limited) == [early, late]
    assert list(rest) == [same_as_late, exactly_now]
    assert future not in ids and future in later


async def test_claim_leases_a_row_until_it_expires(database: Database, clock: FixedClock) -> None:
    cid = await _candidate_id(database, clock)
    now = clock.now()
    async with database.session() as session:
        row_id = await outbox.enqueue(
            session=session, kind="text", payload={}, due_at=now, now=now, candidate_id=cid
        )
        not_due = await outbox.enqueue(
            session=session,
            kind="text",
            payload={},
            due_at=now + timedelta(minutes=5),
            now=now,
            candidate_id=cid,
        )
    assert row_id is not None and not_due is not None
    async with database.session() as session:
        claimed = await outbox.claim(session=session, row_id=row_id, now=now)
        assert claimed is not None
        assert claimed.id == row_id
        assert claimed.status == OutboxStatus.SENDING.value
        assert claimed.lease_until == now + outbox.SEND_LEASE
        assert await outbox.claim(session=session, row_id=not_due, now=now) is None
        assert await outbox.claim(session=session, row_id=999_999, now=now) is None
    async with database.session() as session:
        # Leased: neither claimable nor due while the lease runs, up to its last instant.
        at_lease_end = now + outbox.SEND_LEASE
        assert await outbox.claim(session=session, row_id=row_id, now=at_lease_end) is None
        assert row_id not in await outbox.due_ids(session=session, now=at_lease_end)
    after = now + outbox.SEND_LEASE + timedelta(seconds=1)
    async with database.session() as session:
        assert list(await outbox.due_ids(session=session, now=after)) == [row_id]
        again = await outbox.claim(session=session, row_id=row_id, now=after)
        assert again is not None
        assert again.lease_until == after + outbox.SEND_LEASE
        assert again.attempts == 0


async def test_mark_sent_finishes_the_row(database: Database, clock: FixedClock) -> None:
    cid = await _candidate_id(database, clock)
    now = clock.now()
    async with database.session() as session:
        row_id = await outbox.enqueue(
            session=session, kind="text", payload={}, due_at=now, now=now, candidate_id=cid
        )
        assert row_id is not None
        assert await outbox.claim(session=session, row_id=row_id, now=now) is not None
        await outbox.mark_sent(session=session, row_id=row_id, now=now + timedelta(seconds=3))
    row = await _row(database, row_id)
    assert row.status == OutboxStatus.SENT.value
    assert row.sent_at == now + timedelta(seconds=3)
    assert row.lease_until is None
    assert row.attempts == 1
    much_later = now + timedelta(days=1)
    async with database.session() as session:
        assert await outbox.claim(session=session, row_id=row_id, now=much_later) is None
        assert list(await outbox.due_ids(session=session, now=much_later)) == []


async def test_mark_failed_retries_or_gives_up(database: Database, clock: FixedClock) -> None:
    cid = await _candidate_id(database, clock)
    now = clock.now()
    retry_at = now + timedelta(minutes=2)
    async with database.session() as session:
        row_id = await outbox.enqueue(
            session=session, kind="text", payload={}, due_at=now, now=now, candidate_id=cid
        )
        assert row_id is not None
        await outbox.claim(session=session, row_id=row_id, now=now)
        await outbox.mark_failed(session=session, row_id=row_id, error="E" * 600, retry_at=retry_at)
    row = await _row(database, row_id)
    assert row.status == OutboxStatus.PENDING.value
    assert row.due_at == retry_at
    assert row.attempts == 1
    assert row.last_error == "E" * 500
    assert row.lease_until is None
    async with database.session() as session:
        assert list(await outbox.due_ids(session=session, now=now)) == []
        assert list(await outbox.due_ids(session=session, now=retry_at)) == [row_id]
        await outbox.claim(session=session, row_id=row_id, now=retry_at)
        await outbox.mark_failed(session=session, row_id=row_id, error="gone", retry_at=None)
    row = await _row(database, row_id)
    assert row.status == OutboxStatus.FAILED.value
    assert row.attempts == 2
    assert row.last_error == "gone"
    assert row.due_at == retry_at
    async with database.session() as session:
        assert list(await outbox.due_ids(session=session, now=now + timedelta(days=7))) == []
        claim = await outbox.claim(session=session, row_id=row_id, now=now + timedelta(days=7))
        assert claim is None


async def test_defer_and_expire(database: Database, clock: FixedClock) -> None:
    cid = await _candidate_id(database, clock)
    now = clock.now()
    until = now + timedelta(hours=8)
    async with database.session() as session:
        deferred = await outbox.enqueue(
            session=session, kind="text", payload={}, due_at=now, now=now, candidate_id=cid
        )
        dropped = await outbox.enqueue(
            session=session, kind="text", payload={}, due_at=now, now=now, candidate_id=cid
        )
        assert deferred is not None and dropped is not None
        await outbox.claim(session=session, row_id=deferred, now=now)
        await outbox.claim(session=session, row_id=dropped, now=now)
        await outbox.defer(session=session, row_id=deferred, until=until)
        await outbox.mark_expired(session=session, row_id=dropped)
    row = await _row(database, deferred)
    # Deferring is not an attempt: the row is simply due again later.
    assert row.status == OutboxStatus.PENDING.value
    assert row.due_at == until
    assert row.lease_until is None
    assert row.attempts == 0
    gone = await _row(database, dropped)
    assert gone.status == OutboxStatus.EXPIRED.value
    assert gone.last_error == "expired"
    assert gone.lease_until is None
    assert gone.attempts == 0
    async with database.session() as session:
        assert list(await outbox.due_ids(session=session, now=until - timedelta(seconds=1))) == []
        assert list(await outbox.due_ids(session=session, now=until)) == [deferred]


async def test_enqueue_many_writes_in_chunks_and_skips_taken_keys(
    database: Database, clock: FixedClock
) -> None:
    cid = await _candidate_id(database, clock)
    now = clock.now()
    rows = [
        {
            "kind": "push",
            "payload": {"text": f"n{i}"},
            "due_at": now,
            "candidate_id": cid,
            "dedupe_key": f"bc:1:{i}",
            "category": "broadcast",
        }
        for i in range(2500)
    ]
    async with database.session() as session:
        assert await outbox.enqueue_many(session=session, rows=rows, now=now) == 2500
    async with database.session() as session:
        # The same keys again, and two new ones: only the new ones are added.
        again = [*rows[:3], {**rows[0], "dedupe_key": "bc:2:0"}, {**rows[1], "dedupe_key": None}]
        assert await outbox.enqueue_many(session=session, rows=again, now=now) == 2
        with pytest.raises(ValueError):
            await outbox.enqueue_many(
                session=session, rows=[{"kind": "push", "payload": {}, "due_at": now}], now=now
            )
    async with database.session() as session:
        ids = await outbox.due_ids(session=session, now=now, limit=5000)
        assert len(ids) == 2502
        row = await session.get(Outbox, ids[-1])
    assert row is not None and row.status == OutboxStatus.PENDING.value and row.attempts == 0
    assert row.created_at is not None
