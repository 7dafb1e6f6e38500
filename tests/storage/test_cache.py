"""The shared cache expires entries and is visible across sessions."""

from __future__ import annotations

from datetime import timedelta

from bot.core.cache import SharedCache
from bot.core.clock import FixedClock
from storage.db import Database


async def test_set_get_expire_delete(database: Database, clock: FixedClock) -> None:
    cache = SharedCache(database, clock)
    assert await cache.get("wecom:token") is None
    await cache.set("wecom:token", "abc", timedelta(seconds=100))
    await cache.set("wecom:token", "def", timedelta(seconds=100))
    other_process = SharedCache(Database(database.url), clock)
    assert await other_process.get("wecom:token") == "def"
    await other_process.db.dispose()
    clock.advance(timedelta(seconds=101))
    assert await cache.get("wecom:token") is None
    await cache.set("k", "v", timedelta(seconds=10))
    await cache.delete("k")
    assert await cache.get("k") is None
