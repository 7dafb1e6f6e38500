"""The webhook's side of the inbox: store fast, process beside it (issue #13).

A webhook does the least before answering: its request is verified and decrypted by
the adapter, then :class:`InboxWriter` stores it, grouping the deliveries that arrive
together into one transaction (one commit for a burst instead of one per request),
and the platform gets its answer. Processing runs in :class:`Workers`: a bounded
queue and a fixed number of tasks, so a burst of five thousand deliveries is five
thousand rows and a queue, not five thousand tasks competing with the next
acknowledgement for the event loop and the database. When the queue is full, the
delivery stays in the inbox (durable, acknowledged) and :meth:`Dispatcher.recover`
picks it up: back-pressure never blocks an acknowledgement.

A queued delivery keeps the request id of the webhook that stored it
(:mod:`bot.core.trace`): the worker binds it while processing, so the log lines of
the processing and of the direct replies carry it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core import metrics, trace
from bot.core.clock import Clock
from bot.core.messages import Incoming
from storage import events
from storage.db import Database

log = logging.getLogger(__name__)

BATCH = 200  # deliveries per inbox transaction at most


@dataclass(slots=True)
class _Pending:
    message: Incoming
    stored: asyncio.Future[bool]


class InboxWriter:
    """Stores deliveries in the inbox, many per commit; each caller learns whether its
    delivery was new (False: a redelivery, stored before by this or another process)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, message: Incoming) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(message, future))
        if self._writer is None or self._writer.done():
            # Its own context: the batch serves many requests, not the first one's id.
            self._writer = asyncio.create_task(self._write(), context=contextvars.Context())
        return await future

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
            try:
                fresh = await self._insert(batch)
            except Exception as exc:  # the whole batch failed: every caller answers 5xx
                # (the platform delivers again; the web layer reports the outage)
                log.warning("storing %d deliveries failed: %s", len(batch), exc)
                for item in batch:
                    if not item.stored.done():
                        item.stored.set_exception(exc)
                continue
            for item, new in zip(batch, fresh, strict=True):
                if not item.stored.done():
                    item.stored.set_result(new)

    async def _insert(self, batch: list[_Pending]) -> list[bool]:
        """One transaction for the batch, its rows inserted in one global order: two
        processes storing the same deliveries (a platform retrying on another one) then
        take their row locks in the same order and cannot deadlock."""
        now = self.clock.now()
        order = sorted(
            range(len(batch)),
            key=lambda i: (batch[i].message.sender.platform, batch[i].message.event_id),
        )
        fresh = [False] * len(batch)
        async with self.db.session(urgent=True) as session:  # a platform waits on it
            for i in order:
                message = batch[i].message
                fresh[i] = await events.store_inbound_event(
                    session=session,
                    platform=message.sender.platform,
                    event_id=message.event_id,
                    payload=message.to_json(),
                    now=now,
                )
        return fresh


Job = tuple[str, str, Incoming]  # platform, event id, the delivery


@dataclass(slots=True)
class _Queued:
    job: Job
    request_id: str | None  # the webhook request that stored it
    stored_at: float  # time.monotonic() when it was queued, just after it was stored


class Workers:
    """A bounded queue of stored deliveries and ``count`` tasks processing them."""

    def __init__(
        self, process: Callable[[str, str, Incoming], Awaitable[None]], count: int, backlog: int
    ) -> None:
        self._process = process
        self._count = count
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue(maxsize=backlog)
        self._tasks: list[asyncio.Task[None]] = []
        self.overflowed = 0  # deliveries left to recovery because the queue was full

    def offer(self, job: Job) -> bool:
        """Queue ``job``; False (and it waits in the inbox for recovery) when full."""
        self._start()
        try:
            self._queue.put_nowait(_Queued(job, trace.current(), time.monotonic()))
        except asyncio.QueueFull:
            self.overflowed += 1
            metrics.overflowed()
            log.warning("processing queue full: %s event %s left for recovery", *job[:2])
            return False
        return True

    def _start(self) -> None:
        self._tasks = [t for t in self._tasks if not t.done()]
        while len(self._tasks) < self._count:
            self._tasks.append(asyncio.create_task(self._work()))

    async def _work(self) -> None:
        while True:
            queued = await self._queue.get()
            platform, event_id, message = queued.job
            with trace.bound(queued.request_id):
                try:
                    await self._process(platform, event_id, message)
                    log.debug("%s event %s processed", platform, event_id)
                except Exception:  # _process reports its own failures; never lose the worker
                    log.exception("processing %s event %s failed", platform, event_id)
                finally:
                    metrics.processed(platform, time.monotonic() - queued.stored_at)
                    self._queue.task_done()

    @property
    def queued(self) -> int:
        """Deliveries waiting for a worker."""
        return self._queue.qsize()

    async def join(self) -> None:
        """Wait until everything queued is processed."""
        await self._queue.join()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
