"""Sliding-window rate limits for sending: per chat and per app.

Platforms publish limits such as "1 message per second per chat, 30 per second
overall" (Telegram) or "5 per second per user, 50 per second per app" (Feishu).
``acquire(key)`` waits until one more send fits every window; it never drops.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

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


def _windows(given: Window | Sequence[Window] | None) -> tuple[Window, ...]:
    if given is None:
        return ()
    return (given,) if isinstance(given, Window) else tuple(given)


class RateLimiter:
    """Waits so that sends stay within per-key windows and overall windows.

    Either may be several windows (WeCom: 30 a minute and 1,000 an hour to one member;
    Telegram: 30 a second, spread out so that network jitter cannot bunch them into a
    burst the platform counts as 31); each keeps its own log, since a short window
    forgets sooner.
    """

    def __init__(
        self,
        *,
        per_key: Window | Sequence[Window] | None = None,
        overall: Window | Sequence[Window] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_key = _windows(per_key)
        self.overall = _windows(overall)
        self.monotonic = monotonic
        self.sleep = sleep
        self._keys: dict[str, list[deque[float]]] = {}
        self._all: list[deque[float]] = [deque() for _ in self.overall]
        self._lock = asyncio.Lock()

    def _logs(self, key: str) -> list[deque[float]]:
        logs = self._keys.get(key)
        if logs is None:
            logs = self._keys[key] = [deque() for _ in self.per_key]
        return logs

    async def acquire(self, key: str) -> None:
        """Return when one more send to ``key`` is allowed, and count it."""
        while True:
            async with self._lock:
                now = self.monotonic()
                logs = self._logs(key)
                wait = max(
                    (w.wait(log, now) for w, log in zip(self.per_key, logs, strict=True)),
                    default=0.0,
                )
                for window, log in zip(self.overall, self._all, strict=True):
                    wait = max(wait, window.wait(log, now))
                if wait <= 0:
                    for log in (*logs, *self._all):
                        log.append(now)
                    if len(self._keys) > PRUNE_ABOVE:
                        self.forget_idle()
                    return
            await self.sleep(wait)

    def forget_idle(self) -> None:
        """Drop keys with no sends inside their windows (done by acquire as keys pile up)."""
        now = self.monotonic()
        horizon = max((w.seconds for w in self.per_key), default=0)
        for key in [
            k
            for k, logs in self._keys.items()
            if all(not log or log[-1] <= now - horizon for log in logs)
        ]:
            del self._keys[key]
