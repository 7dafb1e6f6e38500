"""The database going away beside real traffic, through the Telegram webhook: PostgreSQL
behind a TCP proxy the test switches off and on again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from adapters.telegram import TelegramAdapter
from bot.core.web import WebServer
from bot.runtime.app import App
from tests.adapters.fake_telegram import FakeTelegram
from tests.adapters.test_poison import stored, tracebacks
from tests.adapters.test_telegram import fake, webhook  # noqa: F401  (fixtures)


class Proxy:
    """A TCP forwarder to PostgreSQL that the test can switch off and on again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def refuse(self) -> None:
        """Stop listening and cut every open connection: connections are refused."""
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[Proxy]:
    url = make_url(postgres_url)
    server = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await server.start()
    yield server
    if server._server is not None and server._server.is_serving():
        await server.refuse()


@pytest.fixture
def database_url(postgres_url: str, proxy: Proxy) -> str:
    """This module's database is PostgreSQL reached through the proxy."""
    return make_url(postgres_url).set(port=proxy.port).render_as_string(hide_password=False)


async def test_database_outage_answers_503_then_recovers(
    app: App,
    fake: FakeTelegram,  # noqa: F811
    webhook: tuple[TelegramAdapter, WebServer],  # noqa: F811
    proxy: Proxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, web = webhook
    assert await fake.post_webhook(fake.message(3000, "/help")) == 200
    await app.dispatcher.drain_background()
    assert len(fake.texts(3000)) == 1

    await proxy.refuse()
    updates = [fake.message(3001 + n, "/help") for n in range(10)]
    answers = []
    async with aiohttp.ClientSession() as http:
        for update in updates:
            async with http.post(
                f"http://127.0.0.1:{web.bound_port}/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": fake.webhook_secret or ""},
            ) as response:
                answers.append((response.status, response.headers.get("Retry-After")))
        async with http.get(f"http://127.0.0.1:{web.bound_port}/healthz") as response:
            assert response.status == 503
    assert answers == [(503, "5")] * 10
    assert tracebacks(caplog) == []
    warnings = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(warnings) == 10  # one line per request, no traceback

    # The database is back; Telegram retries what it did not get a 200 for.
    await proxy.start()
    for update in updates:
        assert await fake.post_webhook(update) == 200
    await app.dispatcher.drain_background()
    for n in range(10):
        assert len(fake.texts(3001 + n)) == 1
    assert all(e.processed_at is not None for e in await stored(app))
