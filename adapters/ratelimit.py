"""Sliding-window rate limits for sending: per chat and per app.

Platforms publish limits such as "1 message per second per chat, 30 per second
overall" (Telegram) or "5 per second per user, 50 per second per app" (Feishu).
``acquire(key)`` waits until one more send fits every window; it never drops.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable

PRUNE_ABOVE = 10_000  # keys kept before idle ones are dropped (one per chat ever seen)


class Window:
    """At most ``count`` events in any ``seconds``-long interval."""

    def __init__(self, count: int, seconds: float) -> None:
        if count < 1 or seconds <= 0:
            raise ValueError("a window needs count >= 1 and seconds > 0")
        self.count = count
        self.seconds = seconds

    def wait(self, log: deque[float], now: float) -> float:
        # Same expression as the wait below, so float rounding cannot disagree with it.
        while log and log[0] + self.seconds <= now:
            log.popleft()
        if len(log) < self.count:
            return 0.0
        return log[0] + self.seconds - now


class RateLimiter:
    """Waits so that sends stay within a per-key window and an overall window."""

    def __init__(
        self,
        *,
        per_key: Window | None = None,
        overall: Window | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_key = per_key
        self.overall = overall
        self.monotonic = monotonic
        self.sleep = sleep
        self._keys: defaultdict[str, deque[float]] = defaultdict(deque)
        self._all: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self, key: str) -> None:
        """Return when one more send to ``key`` is allowed, and count it."""
        while True:
            async with self._lock:
                now = self.monotonic()
                wait = 0.0
                if self.per_key is not None:
                    wait = max(wait, self.per_key.wait(self._keys[key], now))
                if self.overall is not None:
                    wait = max(wait, self.overall.wait(self._all, now))
                if wait <= 0:
                    self._keys[key].append(now)
                    self._all.append(now)
                    if len(self._keys) > PRUNE_ABOVE:
                        self.forget_idle()
                    return
            await self.sleep(wait)

    def forget_idle(self) -> None:
        """Drop keys with no sends inside their window (done by acquire as keys pile up)."""
        now = self.monotonic()
        horizon = self.per_key.seconds if self.per_key else 0
        for key in [k for k, log in self._keys.items() if not log or log[-1] <= now - horizon]:
            del self._keys[key]
