"""The leader lock's statements: a PostgreSQL advisory lock on dedicated connections."""

from __future__ import annotations

import pytest

from storage import leader_lock
from storage.db import Database

KEY = 0x5EED_1EAD  # not the bot's own key, so nothing else in the database contends for it
TIMEOUT = 5.0


def test_asyncpg_dsn_drops_the_driver_and_keeps_the_password() -> None:
    assert (
        leader_lock.asyncpg_dsn("postgresql+asyncpg://bot:s3cret@db.local:6432/preboard")
        == "postgresql://bot:s3cret@db.local:6432/preboard"
    )
    assert leader_lock.asyncpg_dsn("postgresql://u@h/d") == "postgresql://u@h/d"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # PostgreSQL only
async def test_lock_one_holder_at_a_time_and_keepalives(database: Database) -> None:
    assert database.dialect == "postgresql"
    first = await leader_lock.connect(database.url, timeout=TIMEOUT)
    second = await leader_lock.connect(database.url, timeout=TIMEOUT)
    try:
        assert await leader_lock.ping(first, timeout=TIMEOUT)
        await leader_lock.set_keepalives(first, idle=7, probe=3)
        keepalives = [
            await first.fetchval(f"SHOW {name}")
            for name in ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")
        ]
        assert keepalives == ["7", "3", "2"]
        assert await leader_lock.try_lock(first, KEY, timeout=TIMEOUT)
        assert not await leader_lock.try_lock(second, KEY, timeout=TIMEOUT)
        # Another key is another lock.
        assert await leader_lock.try_lock(second, KEY + 1, timeout=TIMEOUT)
        # The holder may take it again; it then holds it twice and must unlock twice.
        assert await leader_lock.try_lock(first, KEY, timeout=TIMEOUT)
        await leader_lock.unlock(first, KEY, timeout=TIMEOUT)
        assert not await leader_lock.try_lock(second, KEY, timeout=TIMEOUT)
        await leader_lock.unlock(first, KEY, timeout=TIMEOUT)
        assert await leader_lock.try_lock(second, KEY, timeout=TIMEOUT)
        assert not await leader_lock.try_lock(first, KEY, timeout=TIMEOUT)
        # The server frees the lock when its connection ends.
        await second.close()
        assert await leader_lock.try_lock(first, KEY, timeout=TIMEOUT)
        assert await leader_lock.try_lock(first, KEY + 1, timeout=TIMEOUT)
        assert await leader_lock.ping(first, timeout=TIMEOUT)
    finally:
        await first.close()
        await second.close()
