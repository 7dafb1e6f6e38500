"""A key-value table with expiry, shared by all bot processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CacheEntry


async def cache_get(*, session: AsyncSession, key: str, now: datetime) -> str | None:
    entry = await session.get(CacheEntry, key)
    if entry is None or entry.expires_at <= now:
        return None
    return entry.value


async def cache_set(*, session: AsyncSession, key: str, value: str, expires_at: datetime) -> None:
    entry = await session.get(CacheEntry, key)
    if entry is None:
        entry = CacheEntry(key=key, value=value, expires_at=expires_at)
    entry.value = value
    entry.expires_at = expires_at
    session.add(entry)
    await session.flush()


async def cache_delete(*, session: AsyncSession, key: str) -> None:
    await session.exec(delete(CacheEntry).where(col(CacheEntry.key) == key))
