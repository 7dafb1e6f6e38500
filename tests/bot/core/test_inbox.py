"""The webhook's inbox: deliveries that arrive together share one commit, a redelivery
in the same burst is recognised, and a full processing queue loses nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import func, select

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.inbox import InboxWriter, Workers
from bot.core.messages import Incoming
from bot.runtime.app import App
from storage.models import InboundEvent
from tests.bot.helpers import add_candidate


class CountingWriter(InboxWriter):
    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.batches: list[int] = []

    async def _insert(self, batch: list) -> list[bool]:  # type: ignore[type-arg]
        self.batches.append(len(batch))
        return await super()._insert(batch)


async def test_a_burst_is_stored_in_one_commit_and_a_repeat_in_it_is_seen(
    app: App, chat: MemoryAdapter
) -> None:
    writer = CountingWriter(app.db, app.clock)
    messages = [chat.incoming(f"u{n}", "进度", event_id=f"burst-{n}") for n in range(20)]
    messages.append(chat.incoming("u3", "进度", event_id="burst-3"))  # WeCom retried one
    fresh = await asyncio.gather(*(writer.store(m) for m in messages))
    assert fresh == [True] * 20 + [False]
    assert writer.batches == [21]  # one transaction for the whole burst
    async with app.db.session() as session:
        count = (await session.exec(select(func.count()).select_from(InboundEvent))).one()
    assert count == 20
    # Later deliveries start a new batch; a delivery stored earlier is still a repeat.
    assert await writer.store(chat.incoming("u1", "hi", event_id="later")) is True
    assert await writer.store(messages[0]) is False
    assert writer.batches == [21, 1, 1]


async def test_a_full_queue_leaves_deliveries_to_recovery(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    seen: list[str] = []

    async def slow(platform: str, event_id: str, message: Incoming) -> None:
        seen.append(event_id)
        started.set()
        await release.wait()

    workers = Workers(slow, count=1, backlog=2)
    job = ("memory", "e0", chat.incoming("u1", "x"))
    assert workers.offer(job)
    await started.wait()  # the worker holds e0; the queue has room for two more
    assert workers.offer(("memory", "e1", job[2])) and workers.offer(("memory", "e2", job[2]))
    assert not workers.offer(("memory", "e3", job[2]))  # full: never waits, never blocks
    assert workers.overflowed == 1
    release.set()
    await workers.join()
    assert seen == ["e0", "e1", "e2"]
    await workers.stop()

    # Through the dispatcher: an acknowledged delivery the queue could not take is
    # processed by recovery, once.
    _, code = await add_candidate(app, "张三")
    message = chat.incoming("u1", f"/bind {code}", event_id="overflow-1")
    app.dispatcher.workers.offer = lambda job: False  # type: ignore[method-assign]
    assert await chat.submit(message) is True
    await app.dispatcher.drain_background()
    assert not chat.sent["u1"]
    clock.advance(timedelta(seconds=31))
    assert await app.dispatcher.recover() == 1
    assert chat.sent["u1"][0].text.startswith("欢迎你，张三")
    assert await app.dispatcher.recover() == 0
