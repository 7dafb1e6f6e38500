"""The leader lock: a PostgreSQL advisory lock held on a dedicated connection.

Every statement the election needs lives here; ``bot/runtime/leader.py`` decides
when to call them.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy.engine import make_url


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://u:p@h/db`` as asyncpg wants it: ``postgresql://u:p@h/db``."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def connect(url: str, *, timeout: float) -> Any:
    """A dedicated connection (an ``asyncpg.Connection``) outside the engine's pool."""
    return await asyncpg.connect(asyncpg_dsn(url), timeout=timeout)


async def try_lock(conn: Any, key: int, *, timeout: float) -> bool:
    """Take the lock if free; the server frees it when this connection ends."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key, timeout=timeout))


async def unlock(conn: Any, key: int, *, timeout: float) -> None:
    await conn.fetchval("SELECT pg_advisory_unlock($1)", key, timeout=timeout)


async def ping(conn: Any, *, timeout: float) -> bool:
    """Whether the connection (and with it the lock) is still alive."""
    return bool(await conn.fetchval("SELECT 1", timeout=timeout) == 1)


async def set_keepalives(conn: Any, *, idle: int, probe: int) -> None:
    """Let the server notice a vanished holder within about ``idle + 2 * probe`` seconds."""
    await conn.execute(
        f"SET tcp_keepalives_idle = {int(idle)}; SET tcp_keepalives_interval = {int(probe)}; "
        "SET tcp_keepalives_count = 2"
    )


__all__ = ["asyncpg_dsn", "connect", "ping", "set_keepalives", "try_lock", "unlock"]
