"""Periodic work: jobs the elected leader runs on every scheduler tick.

A job reads the truth from the database (candidates' dates, the outbox) and
writes outbox rows with dedupe keys, so running it twice for the same moment,
or in two processes, adds nothing. Each job opens its own transactions. Each job's
duration is recorded (``preboard_tick_job_seconds{job=...}`` on ``/metrics``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime

from bot.core import metrics
from bot.core.context import Services
from bot.core.dispatcher import AfterRoute
from storage.db import Database

log = logging.getLogger(__name__)

__all__ = ["AfterRoute", "TickJob", "run_jobs", "timed"]

# One periodic job: (database, services, now).
TickJob = Callable[[Database, Services, datetime], Awaitable[None]]


async def run_jobs(db: Database, services: Services, jobs: Sequence[TickJob]) -> None:
    """Run every job once; one job's failure is logged and does not stop the others."""
    for job in jobs:
        name = job_name(job)
        started = time.monotonic()
        failed = False
        try:
            await job(db, services, services.clock.now())
        except Exception:
            failed = True
            log.exception("scheduled job %s failed", name)
        metrics.tick_job(name, time.monotonic() - started, failed=failed)


@contextlib.contextmanager
def timed(job: str) -> Iterator[None]:
    """Record the block's duration as the tick job ``job`` (e.g. the courier's drain)."""
    started = time.monotonic()
    try:
        yield
    except Exception:
        metrics.tick_job(job, time.monotonic() - started, failed=True)
        raise
    metrics.tick_job(job, time.monotonic() - started)


def job_name(job: TickJob) -> str:
    """The job's function name (a partial's function's), its label in the metrics."""
    target = getattr(job, "func", job)
    return str(getattr(target, "__name__", type(target).__name__))
