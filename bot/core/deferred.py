"""Work that may wait a moment after a message is committed, done in batches (issue #13).

Re-scoring a candidate after their message used to run inside the message's own
transaction: the costliest part of handling "进度", paid again for every message of
a burst. Now the message's transaction only notes the candidate (``add``); once it
has committed and its replies are on their way, the dispatcher ``kick``\\ s a
background flush that re-scores everyone noted meanwhile in one batch. Deliveries
processed in line (polling, the console, tests) ``flush`` before they return, so a
person who writes and then looks sees the new score. A crash between the commit and
the flush loses nothing that matters: the periodic job re-scores whoever interacted
after their latest score.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Run = Callable[[frozenset[int]], Awaitable[None]]


DELAY = 0.2  # seconds a kicked flush waits, so that a burst is re-scored in one batch


class Deferred:
    """Named batch jobs over ids: ``add`` notes an id, a flush runs each job once for
    all the ids noted since the last one."""

    def __init__(self) -> None:
        self._jobs: dict[str, Run] = {}
        self._pending: dict[str, set[int]] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one flush at a time

    def register(self, name: str, run: Run) -> None:
        self._jobs[name] = run

    def add(self, name: str, key: int) -> None:
        if name in self._jobs:
            self._pending.setdefault(name, set()).add(key)

    def kick(self) -> None:
        """Flush in the background in :data:`DELAY` seconds, unless that is planned:
        what is noted meanwhile goes in the same batch."""
        if self._pending and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._later())

    async def flush(self) -> None:
        """Run everything noted so far now, after any flush already running, and wait."""
        async with self._lock:
            while self._pending:
                taken, self._pending = self._pending, {}
                for name, keys in taken.items():
                    try:
                        await self._jobs[name](frozenset(keys))
                    except Exception:  # the periodic catch-up job does it later
                        log.exception("deferred %s for %d ids failed", name, len(keys))

    async def _later(self) -> None:
        await asyncio.sleep(DELAY)
        await asyncio.shield(self.flush())  # once begun, a flush finishes even if stopped

    async def stop(self) -> None:
        """Cancel a planned flush and do it now (a flush already begun finishes first)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()
