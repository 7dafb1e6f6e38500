"""Leader election: one leader at a time; hand-over when the leader's connection dies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.runtime.leader import Leader
from storage.db import Database
from storage.leader_lock import asyncpg_dsn

LEASE = 4.0  # seconds: the loop runs every 1 s, a health check may take 0.5 s


class Watched:
    """A Leader plus a log of its transitions."""

    def __init__(self, url: str, name: str) -> None:
        self.events: list[str] = []
        self.leader = Leader(
            url,
            lease_seconds=LEASE,
            on_elected=self._elected,
            on_deposed=self._deposed,
            name=name,
        )

    async def _elected(self) -> None:
        self.events.append("elected")

    async def _deposed(self) -> None:
        self.events.append("deposed")


class Sampler:
    """Checks, every 20 ms, that never more than one instance is leader."""

    def __init__(self, *watched: Watched) -> None:
        self.watched = watched
        self.overlaps = 0
        self.samples = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            if sum(w.leader.is_leader for w in self.watched) > 1:
                self.overlaps += 1
            self.samples += 1
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _until(predicate: object, timeout: float) -> float:
    """Seconds until ``predicate()`` holds; fails after ``timeout``."""
    start = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout}s")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
async def pair(database: Database) -> AsyncIterator[tuple[Watched, Watched]]:
    a, b = Watched(database.url, "A"), Watched(database.url, "B")
    yield a, b
    await a.leader.stop()
    await b.leader.stop()


def test_dsn_for_asyncpg() -> None:
    assert (
        asyncpg_dsn("postgresql+asyncpg://bot:s3cret@db.internal:5433/preboard?ssl=require")
        == "postgresql://bot:s3cret@db.internal:5433/preboard?ssl=require"
    )


async def test_sqlite_process_is_always_leader(tmp_path: Path) -> None:
    watched = Watched(f"sqlite+aiosqlite:///{tmp_path}/x.db", "solo")
    await watched.leader.start()
    assert watched.leader.is_leader and watched.events == ["elected"]
    await watched.leader.stop()
    assert not watched.leader.is_leader and watched.events == ["elected", "deposed"]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_hand_over_when_the_leaders_connection_dies(
    database: Database, pair: tuple[Watched, Watched]
) -> None:
    a, b = pair
    await a.leader.start()
    await _until(lambda: a.leader.is_leader, LEASE)
    sampler = Sampler(a, b)
    await b.leader.start()
    await asyncio.sleep(LEASE / 2)  # B campaigns (twice) and stays a follower
    assert a.leader.is_leader and not b.leader.is_leader and b.events == []

    # Kill A's backend from outside, as a crashed server connection would.
    pid = a.leader.backend_pid
    assert pid is not None
    admin = await asyncpg.connect(asyncpg_dsn(database.url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    stepped_down = await _until(lambda: not a.leader.is_leader, LEASE)
    took_over = await _until(lambda: b.leader.is_leader, LEASE)
    assert stepped_down < LEASE and took_over < LEASE
    assert a.events == ["elected", "deposed"] and b.events == ["elected"]

    # A campaigns again but stays a follower while B holds the lock.
    await asyncio.sleep(LEASE / 2)
    assert not a.leader.is_leader and a.leader.backend_pid is not None

    # A clean stop releases the lock: A takes over within the lease.
    await b.leader.stop()
    assert b.events == ["elected", "deposed"]
    assert await _until(lambda: a.leader.is_leader, LEASE) < LEASE
    await sampler.stop()
    assert sampler.samples > 100 and sampler.overlaps == 0


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_leader_survives_a_database_it_can_reach(
    database: Database, pair: tuple[Watched, Watched]
) -> None:
    """Several health checks in a row keep the same leader (no flapping)."""
    a, b = pair
    await a.leader.start()
    await b.leader.start()
    await _until(lambda: a.leader.is_leader or b.leader.is_leader, LEASE)
    first = a if a.leader.is_leader else b
    await asyncio.sleep(LEASE)
    assert first.leader.is_leader and first.events == ["elected"]
    assert sum(w.leader.is_leader for w in pair) == 1
