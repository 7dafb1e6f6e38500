"""The leader's clockwork: APScheduler calls the app's tick.

The schedule's truth is the database (candidates' dates, the outbox), so the
jobs here are only alarms: an interval tick every ``SCHEDULER_TICK_SECONDS``
(first run at once, so due rows after downtime go out on start-up), and two
daily ticks, at ``DIGEST_HOUR``:00 and 00:05 in the bot's time zone, so daily
work happens on time even with a long interval. Every tick runs the same
jobs; they dedupe through the database. Jobs live in memory only and the
scheduler runs only while this process is the leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.core.settings import Settings

log = logging.getLogger(__name__)

Tick = Callable[[], Coroutine[Any, Any, None]]


class TickScheduler:
    """Starts and stops an :class:`AsyncIOScheduler` that calls ``tick``."""

    def __init__(self, tick: Tick, settings: Settings) -> None:
        self.tick = tick
        self.settings = settings
        self._scheduler: AsyncIOScheduler | None = None
        self._ticks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def start(self) -> None:
        """Schedule the ticks (the first one now); needs a running event loop."""
        if self.running:
            return
        tz = self.settings.timezone
        scheduler = AsyncIOScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": AsyncIOExecutor()},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=tz,
        )
        scheduler.add_job(
            self._fire,
            "interval",
            seconds=self.settings.scheduler_tick_seconds,
            id="tick",
            name="tick",
            next_run_time=datetime.now(tz),
        )
        scheduler.add_job(
            self._fire, "cron", hour=self.settings.digest_hour, minute=0, id="daily-digest-hour"
        )
        scheduler.add_job(self._fire, "cron", hour=0, minute=5, id="daily-after-midnight")
        scheduler.start()
        self._scheduler = scheduler
        log.info(
            "scheduler started: tick every %ss, daily at %02d:00 and 00:05 (%s)",
            self.settings.scheduler_tick_seconds,
            self.settings.digest_hour,
            tz.key,
        )

    def stop(self) -> None:
        """Remove the jobs; a tick already running finishes on its own (see :meth:`idle`)."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
            log.info("scheduler stopped")

    async def idle(self) -> None:
        """Wait for ticks still running (a clean shutdown lets a drain finish its sends)."""
        while self._ticks:
            await asyncio.gather(*list(self._ticks), return_exceptions=True)

    async def cancel(self) -> None:
        """Cut running ticks off (a shutdown's grace period is over): a drain stops
        mid-way and the rows it was sending keep their lease."""
        ticks = list(self._ticks)
        for task in ticks:
            task.cancel()
        await asyncio.gather(*ticks, return_exceptions=True)

    async def _fire(self) -> None:
        """Run one tick in its own task: stopping the scheduler (which cancels its jobs)
        must not cut a drain off mid-send."""
        task = asyncio.create_task(self.tick(), name="tick")
        self._ticks.add(task)
        task.add_done_callback(self._ticks.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)

    # Leader callbacks.
    async def on_elected(self) -> None:
        self.start()

    async def on_deposed(self) -> None:
        self.stop()
