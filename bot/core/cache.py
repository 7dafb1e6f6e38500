"""Shared cache for adapters (access tokens), backed by the database so processes agree."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import Clock
from storage import cache
from storage.db import Database


class SharedCache:
    """``get``/``set`` small strings with a time to live, across processes."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def get(self, key: str) -> str | None:
        async with self.db.session() as session:
            return await cache.cache_get(session=session, key=key, now=self.clock.now())

    async def set(self, key: str, value: str, ttl: timedelta) -> None:
        async with self.db.session() as session:
            await cache.cache_set(
                session=session, key=key, value=value, expires_at=self.clock.now() + ttl
            )

    async def delete(self, key: str) -> None:
        async with self.db.session() as session:
            await cache.cache_delete(session=session, key=key)
