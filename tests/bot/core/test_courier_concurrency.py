"""The courier sends concurrently when it drains: round trips overlap, one recipient's
rows still go one at a time and in order, a kick drains in the background, and a stop
hands back what was claimed and not sent."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from sqlmodel import col, select

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.messages import ChatAddress, Outgoing
from bot.runtime.app import App
from storage import outbox, people
from storage.models import Outbox, OutboxStatus
from tests.bot.helpers import add_candidate


class SlowTransport(MemoryAdapter):
    """Each send takes a round trip; counts how many are in flight, overall and per chat."""

    def __init__(self, clock: FixedClock, seconds: float = 0.02) -> None:
        super().__init__(clock)
        self.seconds = seconds
        self.in_flight = 0
        self.most = 0
        self.per_chat: defaultdict[str, int] = defaultdict(int)
        self.most_per_chat = 0
        self.gate: asyncio.Event | None = None  # when set up, sends wait for it

    async def send(self, to: ChatAddress, message: Outgoing) -> None:
        self.in_flight += 1
        self.per_chat[to.chat_id] += 1
        self.most = max(self.most, self.in_flight)
        self.most_per_chat = max(self.most_per_chat, self.per_chat[to.chat_id])
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(self.seconds)
            await super().send(to, message)
        finally:
            self.in_flight -= 1
            self.per_chat[to.chat_id] -= 1


async def _recipients(app: App, count: int) -> list[int]:
    ids = []
    now = app.clock.now()
    for n in range(count):
        candidate, _ = await add_candidate(app, f"候选人{n}", phone=f"138001390{n:02d}")
        assert candidate.id is not None
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
        ids.append(candidate.id)
    return ids


async def _enqueue(app: App, texts: list[tuple[int, str]]) -> None:
    now = app.clock.now()
    async with app.db.session() as session:
        for candidate_id, text in texts:
            await outbox.enqueue(
                session=session,
                kind="notice",
                payload=Outgoing(text).to_json(),
                due_at=now,
                now=now,
                candidate_id=candidate_id,
            )


async def _statuses(app: App) -> list[str]:
    async with app.db.session() as session:
        return list((await session.exec(select(Outbox.status))).all())


async def test_drain_overlaps_round_trips_and_keeps_each_recipients_order(
    app: App, clock: FixedClock
) -> None:
    transport = SlowTransport(clock)
    app.add_adapter(transport)
    recipients = await _recipients(app, 12)
    await _enqueue(app, [(c, f"{c}:{i}") for i in range(3) for c in recipients])

    assert await app.courier.drain() == 36
    assert transport.most > 4  # sends overlapped (12 recipients, concurrency 16)
    assert transport.most <= app.courier.concurrency
    assert transport.most_per_chat == 1  # one recipient: one send at a time
    for n, candidate_id in enumerate(recipients):
        assert [m.text for m in transport.sent[f"u{n}"]] == [
            f"{candidate_id}:{i}" for i in range(3)
        ]
    assert await _statuses(app) == [OutboxStatus.SENT.value] * 36


async def test_a_kick_drains_in_the_background(app: App, clock: FixedClock) -> None:
    transport = SlowTransport(clock, seconds=0)
    app.add_adapter(transport)
    recipients = await _recipients(app, 3)
    await _enqueue(app, [(c, "你好") for c in recipients])

    app.courier.kick()
    app.courier.kick()  # coalesces with the one running
    await app.courier.idle()
    assert await _statuses(app) == [OutboxStatus.SENT.value] * 3
    assert sum(len(v) for v in transport.sent.values()) == 3


async def test_stop_lets_sends_in_flight_finish_and_hands_back_the_rest(
    app: App, clock: FixedClock
) -> None:
    transport = SlowTransport(clock, seconds=0)
    transport.gate = asyncio.Event()
    app.add_adapter(transport)
    app.courier.concurrency = 2
    recipients = await _recipients(app, 6)
    await _enqueue(app, [(c, "通知") for c in recipients])

    app.courier.kick()
    while transport.in_flight < 2:  # two sends in flight, two more rows claimed and queued
        await asyncio.sleep(0.01)
    stopping = asyncio.create_task(app.courier.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # waits for the sends in flight
    transport.gate.set()
    await stopping

    statuses = await _statuses(app)
    assert statuses.count(OutboxStatus.SENT.value) == 2
    assert statuses.count(OutboxStatus.PENDING.value) == 4  # claimed ones handed back
    async with app.db.session() as session:
        leased = (
            await session.exec(select(Outbox.id).where(col(Outbox.lease_until).is_not(None)))
        ).all()
    assert leased == []
    app.courier.kick()  # a stopped courier starts nothing
    await app.courier.idle()
    assert (await _statuses(app)).count(OutboxStatus.SENT.value) == 2


async def test_confirmed_broadcast_is_sent_without_waiting_for_a_tick(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    recipients = await _recipients(app, 3)
    async with app.db.session() as session:
        rows = [
            await outbox.enqueue(
                session=session,
                kind="push",
                payload=Outgoing("广播").to_json(),
                due_at=clock.now(),
                now=clock.now(),
                candidate_id=c,
                category="broadcast",
            )
            for c in recipients
        ]
    assert all(rows)
    # What the broadcast flow does in its turn: note the job; the flush after commit kicks.
    app.services.deferred.add("send", 1)
    await app.services.deferred.flush()
    await app.courier.idle()
    assert sum(len(v) for v in chat.sent.values()) == 3
