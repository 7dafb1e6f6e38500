"""The shared HTTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from adapters.base import Route
from bot.core.web import MAX_BODY, WebServer
from storage.db import Database


@pytest.fixture
async def server(database: Database) -> AsyncIterator[WebServer]:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=str(len(await request.read())))

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail")

    srv = WebServer(database, "127.0.0.1", 0)
    srv.add_routes([Route("POST", "/echo", echo), Route("GET", "/broken", broken)])
    await srv.start()
    yield srv
    await srv.stop()


async def test_healthz_reports_database(server: WebServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{server.bound_port}/healthz") as resp:
            assert resp.status == 200
            assert await resp.json() == {"status": "ok", "database": True}


async def test_healthz_when_database_is_down(tmp_path: object) -> None:
    db = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    srv = WebServer(db, "127.0.0.1", 0)
    await srv.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{srv.bound_port}/healthz") as resp:
                assert resp.status == 503
                assert (await resp.json())["database"] is False
    finally:
        await srv.stop()
        await db.dispose()


async def test_body_limit(server: WebServer) -> None:
    url = f"http://127.0.0.1:{server.bound_port}/echo"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=b"x" * 100) as resp:
            assert resp.status == 200 and await resp.text() == "100"
        async with http.post(url, data=b"x" * (MAX_BODY + 1)) as resp:
            assert resp.status == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked upload
            for _ in range(17):
                yield b"y" * 65536

        async with http.post(url, data=chunks()) as resp:
            assert resp.status == 413
        async with http.post(url, data=b"ok") as resp:  # still serving
            assert resp.status == 200


async def test_errors_do_not_leak(server: WebServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{server.bound_port}/broken") as resp:
            assert resp.status == 500
            assert "secret" not in await resp.text()


async def test_link_redirects_are_always_served(server: WebServer) -> None:
    """``/r/{token}`` needs no adapter; an unknown token is a short plain 404."""
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{server.bound_port}/r/nosuchtoken"
        async with http.get(url, allow_redirects=False) as resp:
            assert resp.status == 404
            assert resp.content_type == "text/plain"
            assert await resp.text() == "link not found\n"
