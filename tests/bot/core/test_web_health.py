"""``/livez``, ``/readyz`` and the request id every answer carries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bot.core.web import WebServer
from storage import migrate
from storage.db import Database


@pytest.fixture
async def server(database: Database) -> AsyncIterator[WebServer]:
    srv = WebServer(database, "127.0.0.1", 0)
    await srv.start()
    yield srv
    await srv.stop()


async def get(
    srv: WebServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Any, Mapping[str, str]]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{srv.bound_port}{path}", headers=headers) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, body, resp.headers


async def test_livez_and_readyz_when_all_is_well(server: WebServer) -> None:
    assert (await get(server, "/livez"))[:2] == (200, {"status": "ok"})
    status, body, _ = await get(server, "/readyz")
    assert status == 200
    assert body == {"status": "ready", "revision": [migrate.script_head()]}


async def test_readyz_when_the_database_is_unreachable() -> None:
    db = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    srv = WebServer(db, "127.0.0.1", 0)
    await srv.start()
    try:
        status, body, _ = await get(srv, "/readyz")
        assert status == 503
        assert body["status"] == "unavailable"
        assert body["reason"].startswith("database unavailable")
        assert (await get(srv, "/livez"))[0] == 200  # the process itself is fine
    finally:
        await srv.stop()
        await db.dispose()


async def test_readyz_when_a_migration_is_missing(database: Database, server: WebServer) -> None:
    """A database whose schema stopped one revision short of the head."""
    head = migrate.script_head()
    assert head is not None
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'behind0001'"))
    try:
        status, body, _ = await get(server, "/readyz")
        assert status == 503
        assert "not at the migrations' head" in body["reason"]
        assert body["database_revision"] == ["behind0001"]
        assert body["head_revision"] == [head]
    finally:  # the PostgreSQL database is shared by this run's tests
        async with database.engine.begin() as conn:
            await conn.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head}
            )
    assert (await get(server, "/readyz"))[0] == 200


async def test_readyz_on_a_database_never_migrated(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    srv = WebServer(db, "127.0.0.1", 0)
    await srv.start()
    try:
        status, body, _ = await get(srv, "/readyz")
        assert status == 503
        assert body["database_revision"] == []
        assert (await get(srv, "/healthz"))[0] == 200  # /healthz only asks for an answer
    finally:
        await srv.stop()
        await db.dispose()


async def test_every_answer_carries_a_request_id(server: WebServer) -> None:
    _, _, headers = await get(server, "/livez", {"X-Request-Id": "lb-7f3a.42:1"})
    assert headers["X-Request-Id"] == "lb-7f3a.42:1"  # the proxy's id, kept
    for unsafe in ("a b", "x" * 65, "<script>", "id\u00e9"):
        _, _, headers = await get(server, "/livez", {"X-Request-Id": unsafe})
        assert headers["X-Request-Id"] != unsafe
        assert len(headers["X-Request-Id"]) == 16
    _, _, first = await get(server, "/healthz")
    _, _, second = await get(server, "/healthz")
    assert first["X-Request-Id"] != second["X-Request-Id"]
    _, _, missing = await get(server, "/no/such/path")  # a 404 from the router too
    assert len(missing["X-Request-Id"]) == 16
