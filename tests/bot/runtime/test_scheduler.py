"""The scheduler: ticks at start and on its interval, only in the elected leader."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.context import Services
from bot.core.messages import Outgoing
from bot.core.settings import Settings
from bot.runtime.app import App
from bot.runtime.scheduler import TickScheduler
from content import ContentPack
from run_bot import build_app
from storage import outbox, people
from storage.db import Database
from storage.models import Outbox, OutboxStatus
from tests.bot.helpers import add_candidate

LEASE = 4


def _fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"scheduler_tick_seconds": 1, "leader_lease_seconds": LEASE})


class Counter:
    def __init__(self) -> None:
        self.times: list[float] = []

    async def __call__(self, db: Database, services: Services, now: datetime) -> None:
        self.times.append(time.monotonic())


async def _until(predicate: object, timeout: float) -> None:
    start = time.monotonic()
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() - start < timeout, f"not within {timeout}s"
        await asyncio.sleep(0.02)


def _plain() -> Settings:
    return _fast(Settings(_env_file=None))  # type: ignore[call-arg]


async def test_ticks_at_once_then_every_interval() -> None:
    calls: list[float] = []

    async def tick() -> None:
        calls.append(time.monotonic())

    scheduler = TickScheduler(tick, _plain())
    started = time.monotonic()
    scheduler.start()
    try:
        await _until(lambda: len(calls) >= 2, 3)
        assert calls[0] - started < 0.5  # the first tick runs at start-up
        assert 0.9 < calls[1] - started < 2.5  # the next one an interval later
        inner = scheduler._scheduler
        assert inner is not None
        jobs = {job.id: job.trigger for job in inner.get_jobs()}
        assert str(jobs["daily-digest-hour"]) == "cron[hour='9', minute='0']"
        assert str(jobs["daily-after-midnight"]) == "cron[hour='0', minute='5']"
        assert {str(trigger.timezone) for trigger in jobs.values()} == {"Asia/Shanghai"}
    finally:
        scheduler.stop()
    count = len(calls)
    await asyncio.sleep(1.3)
    assert len(calls) == count and not scheduler.running


async def test_stopping_lets_a_running_tick_finish() -> None:
    finished = asyncio.Event()

    async def slow_tick() -> None:
        await asyncio.sleep(0.3)
        finished.set()

    scheduler = TickScheduler(slow_tick, _plain())
    scheduler.start()
    await asyncio.sleep(0.1)
    scheduler.stop()
    await scheduler.idle()
    assert finished.is_set()


@pytest.fixture
async def two_apps(
    settings: Settings,
    database: Database,
    database_url: str,
    clock: FixedClock,
    content_pack: ContentPack,
) -> AsyncIterator[tuple[App, App]]:
    fast = _fast(settings)
    first = build_app(fast, clock=clock, content=content_pack, db=database)
    second = build_app(fast, clock=clock, content=content_pack, db=Database(database_url))
    yield first, second
    await first.stop_scheduling()
    await second.stop_scheduling()
    await second.db.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_only_the_leader_ticks(two_apps: tuple[App, App]) -> None:
    apps = two_apps
    counters = [Counter(), Counter()]
    for app, counter in zip(apps, counters, strict=True):
        app.tick_jobs = [counter]
        await app.start_scheduling()
    await _until(lambda: any(a.leader and a.leader.is_leader for a in apps), LEASE)
    leader, follower = apps if apps[0].leader and apps[0].leader.is_leader else apps[::-1]
    lead_count, follow_count = (counters[apps.index(a)] for a in (leader, follower))
    await asyncio.sleep(2.2)
    assert len(lead_count.times) >= 2
    assert follow_count.times == []

    # The leader stops (cleanly): the other is elected and ticks at once.
    await leader.stop_scheduling()
    stopped_at = time.monotonic()
    ticks = len(lead_count.times)
    await _until(lambda: follow_count.times, LEASE)
    assert follow_count.times[0] - stopped_at < LEASE
    await asyncio.sleep(1.2)
    assert len(follow_count.times) >= 2 and len(lead_count.times) == ticks


async def test_leader_sends_due_rows_at_start_up(
    settings: Settings, database: Database, clock: FixedClock, content_pack: ContentPack
) -> None:
    """Rows that fell due during downtime go out on start-up; expired ones do not."""
    app = build_app(_fast(settings), clock=clock, content=content_pack, db=database)
    app.tick_jobs = []
    chat = MemoryAdapter(clock)
    app.add_adapter(chat)
    candidate, _ = await add_candidate(app, "张三")
    now = clock.now()
    async with app.db.session() as session:
        identity = await people.touch_identity(
            session=session,
            platform="memory",
            user_id="u1",
            chat_id="u1",
            display_name=None,
            now=now,
        )
        await people.bind_identity(session=session, identity=identity, candidate_id=candidate.id)
        for text, expires in (("还有效", None), ("已过期", now - timedelta(minutes=1))):
            await outbox.enqueue(
                session=session,
                kind="push",
                payload=Outgoing(text).to_json(),
                due_at=now - timedelta(hours=5),
                now=now - timedelta(hours=6),
                candidate_id=candidate.id,
                category="push",
                expires_at=expires,
            )
    await app.start_scheduling()
    try:
        await _until(lambda: chat.sent["u1"], LEASE)
        await asyncio.sleep(0.2)
        assert [m.text for m in chat.sent["u1"]] == ["还有效"]
        async with app.db.session() as session:
            statuses = sorted(r.status for r in (await session.exec(select(Outbox))).all())
        assert statuses == [OutboxStatus.EXPIRED.value, OutboxStatus.SENT.value]
    finally:
        await app.stop_scheduling()
