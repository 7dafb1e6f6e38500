"""A process killed in the middle of draining 500 outbox rows loses none and repeats only
the sends that were in flight (at most the courier's concurrency, here bounded by the five
recipients: one recipient's rows go one at a time)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlmodel import col, select

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.messages import ChatAddress, Outgoing
from bot.core.settings import Settings
from bot.runtime.app import App
from content import ContentPack
from run_bot import build_app
from storage import outbox, people
from storage.db import Database
from storage.models import Outbox, OutboxStatus
from tests.bot.helpers import add_candidate

ROWS = 500
KILL_AFTER = 180  # sends that complete before app A hangs
RECIPIENTS = 5  # each has at most one send in flight at the kill


class HangingTransport(MemoryAdapter):
    """Delivers (records the message) and then, after ``hang_after`` sends, never returns:
    the platform got the message but the process dies before it can record that."""

    def __init__(self, clock: FixedClock, hang_after: int | None = None) -> None:
        super().__init__(clock)
        self.hang_after = hang_after
        self.delivered: list[str] = []
        self.hanging: list[str] = []
        self.all_hanging = asyncio.Event()

    async def send(self, to: ChatAddress, message: Outgoing) -> None:
        assert message.key is not None
        self.delivered.append(message.key)
        if self.hang_after is not None and len(self.delivered) > self.hang_after:
            self.hanging.append(message.key)
            if len(self.hanging) == RECIPIENTS:
                self.all_hanging.set()
            await asyncio.Event().wait()  # until the process is killed


async def _seed(app: App) -> list[int]:
    ids: list[int] = []
    now = app.clock.now()
    recipients = []
    for n in range(RECIPIENTS):
        candidate, _ = await add_candidate(app, f"候选人{n}", phone=f"1380013900{n}")
        recipients.append(candidate.id)
        async with app.db.session() as session:
            identity = await people.touch_identity(
                session=session,
                platform="memory",
                user_id=f"u{n}",
                chat_id=f"u{n}",
                display_name=None,
                now=now,
            )
            await people.bind_identity(
                session=session, identity=identity, candidate_id=candidate.id
            )
    async with app.db.session() as session:
        for i in range(ROWS):
            row = await outbox.enqueue(
                session=session,
                kind="notice",
                payload=Outgoing(f"notice {i}").to_json(),
                due_at=now,
                now=now,
                candidate_id=recipients[i % len(recipients)],
            )
            assert row is not None
            ids.append(row)
    return ids


async def _status_counts(db: Database) -> Counter[str]:
    async with db.session() as session:
        return Counter((await session.exec(select(Outbox.status))).all())


async def test_kill_mid_drain_then_restart(
    settings: Settings,
    database_url: str,
    database: Database,
    clock: FixedClock,
    content_pack: ContentPack,
) -> None:
    # App A: its own engine, as a separate process would have.
    db_a = Database(database_url)
    app_a = build_app(settings, clock=clock, content=content_pack, db=db_a)
    ids = await _seed(app_a)
    transport_a = HangingTransport(clock, hang_after=KILL_AFTER)
    app_a.add_adapter(transport_a)

    drain = asyncio.create_task(app_a.courier.drain(limit=50))
    await asyncio.wait_for(transport_a.all_hanging.wait(), 60)
    # Kill: the drain stops where it is; nothing is cleaned up, the engine goes away.
    drain.cancel()
    await asyncio.gather(drain, return_exceptions=True)
    await db_a.engine.dispose()
    del app_a

    in_flight = set(transport_a.hanging)
    assert len(in_flight) == RECIPIENTS <= settings.send_concurrency
    async with database.session() as session:
        sending = (
            await session.exec(
                select(Outbox.id).where(col(Outbox.status) == OutboxStatus.SENDING.value)
            )
        ).all()
    leased = {f"outbox:{i}" for i in sending}  # in flight, or claimed and not yet sent
    assert in_flight <= leased
    assert KILL_AFTER < len(transport_a.delivered) < ROWS
    counts = await _status_counts(database)
    assert counts[OutboxStatus.SENT.value] == KILL_AFTER
    assert counts[OutboxStatus.PENDING.value] == ROWS - KILL_AFTER - len(leased)

    # App B starts on the same database; the in-flight rows wait for their lease to expire.
    app_b = build_app(settings, clock=clock, content=content_pack, db=Database(database_url))
    transport_b = HangingTransport(clock)
    app_b.add_adapter(transport_b)
    try:
        first = await app_b.courier.drain()
        assert first == ROWS - KILL_AFTER - len(leased)
        assert not set(transport_b.delivered) & leased
        clock.advance(outbox.SEND_LEASE + timedelta(seconds=1))
        assert await app_b.courier.drain() == len(leased)
    finally:
        await app_b.close()

    delivered_a = Counter(transport_a.delivered)
    delivered_b = Counter(transport_b.delivered)
    everything = delivered_a + delivered_b
    assert set(everything) == {f"outbox:{i}" for i in ids}  # every row delivered
    duplicates = {key for key, n in everything.items() if n > 1}
    assert duplicates == in_flight  # only the sends in flight at the kill, each once more
    assert max(delivered_b.values()) == 1 and max(delivered_a.values()) == 1
    assert await _status_counts(database) == Counter({OutboxStatus.SENT.value: ROWS})
