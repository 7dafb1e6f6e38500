"""A graceful stop: take no new work, finish what is in flight within a grace period.

On SIGTERM (``run_bot.py run``) :meth:`bot.runtime.app.App.run_platforms` closes the
:class:`Gate` in front of every platform webhook, so a delivery arriving from then on
is answered 503 with ``Retry-After`` (the platform delivers it again, to this process'
successor or a sibling) and never acknowledged unless it was stored; requests already
inside finish storing. Then the work in flight (queued deliveries and their replies, a
running tick and its drain) gets until the end of ``SHUTDOWN_GRACE_SECONDS``; what is
still running then is cut off, and the outbox rows it was sending keep their lease,
so another process sends them when it runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.core.channel import Route

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[Any]]


class Gate:
    """Counts webhook requests in flight; once closed, refuses new ones with 503."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        self.closed = False
        self.refused = 0
        self._inside = 0
        self._empty = asyncio.Event()
        self._empty.set()

    def guard(self, routes: Sequence[Route]) -> list[Route]:
        """The same routes, each behind this gate."""
        return [Route(r.method, r.path, self._wrap(r.handler)) for r in routes]

    def _wrap(self, handler: Handler) -> Handler:
        async def guarded(request: Any) -> Any:
            if self.closed:
                from aiohttp import web  # only serving platforms loads aiohttp

                self.refused += 1
                return web.json_response(
                    {"error": "shutting down"},
                    status=503,
                    headers={"Retry-After": str(self.retry_after)},
                )
            self._inside += 1
            self._empty.clear()
            try:
                return await handler(request)
            finally:
                self._inside -= 1
                if not self._inside:
                    self._empty.set()

        return guarded

    def close(self) -> None:
        self.closed = True

    async def drained(self, timeout: float) -> bool:
        """Wait until no request is inside (they are storing their delivery); False when
        some still were after ``timeout``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._empty.wait(), max(0.0, timeout))
        return self._empty.is_set()


class Deadline:
    """The end of the grace period, on the event loop's clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = asyncio.get_running_loop().time() + seconds

    def left(self) -> float:
        return max(0.0, self._end - asyncio.get_running_loop().time())

    async def within(self, *work: Awaitable[Any]) -> bool:
        """Wait for all of ``work`` until the deadline; True when it all finished. What
        has not finished is cancelled."""
        tasks = [asyncio.ensure_future(w) for w in work]
        if not tasks:
            return True
        done, pending = await asyncio.wait(tasks, timeout=self.left())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.warning("shutting down: %r", task.exception())
        return not pending


__all__ = ["Deadline", "Gate"]
