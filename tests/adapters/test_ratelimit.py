"""The send limiter keeps every window and never drops a send."""

from __future__ import annotations

import asyncio

from adapters.ratelimit import RateLimiter, Window


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def test_per_key_and_overall_windows() -> None:
    t = FakeTime()
    limiter = RateLimiter(
        per_key=Window(1, 1.0), overall=Window(3, 1.0), monotonic=t.monotonic, sleep=t.sleep
    )
    stamps: dict[str, list[float]] = {"a": [], "b": [], "c": [], "d": []}

    async def send(key: str) -> None:
        await limiter.acquire(key)
        stamps[key].append(t.now)

    await asyncio.gather(*(send(k) for k in "aaaabcd"))
    assert len(stamps["a"]) == 4
    gaps = [b - a for a, b in zip(stamps["a"], stamps["a"][1:], strict=False)]
    assert all(g >= 1.0 for g in gaps)
    every = sorted(s for v in stamps.values() for s in v)
    for i in range(len(every) - 3):
        assert every[i + 3] - every[i] >= 1.0  # never 4 inside one second
    limiter.forget_idle()


async def test_several_windows_for_one_key_each_hold() -> None:
    """WeCom: 30 a minute and 1,000 an hour to one member."""
    from adapters.wecom import PER_MEMBER

    t = FakeTime()
    limiter = RateLimiter(per_key=PER_MEMBER, monotonic=t.monotonic, sleep=t.sleep)
    stamps: list[float] = []
    for _ in range(1100):
        await limiter.acquire("zhangsan")
        stamps.append(t.now)
    for i in range(len(stamps) - 30):
        assert stamps[i + 30] - stamps[i] >= 60.0  # never 31 inside a minute
    for i in range(len(stamps) - 1000):
        assert stamps[i + 1000] - stamps[i] >= 3600.0  # never 1,001 inside an hour
    assert stamps[1000] >= 3600.0 > stamps[999]  # the hourly window is what held the 1,001st
    await limiter.acquire("lisi")  # another member is not held back
    assert t.now == stamps[-1]
