"""The database going away under webhook traffic (PostgreSQL): connections killed with
``pg_terminate_backend`` while deliveries arrive, and the server unreachable for a while
(20 s with CI=true, a few seconds locally). Webhooks answer 200 only for what is stored
and 503 otherwise, so the platform delivers again; afterwards the bot serves without a
restart and every delivery has its one answer."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.telegram import TelegramAdapter
from bot.core.clock import FixedClock
from bot.core.dispatcher import RECOVER_AFTER, Dispatcher
from bot.core.messages import Incoming
from bot.core.web import WebServer
from bot.runtime.app import App
from storage.models import Identity
from tests.adapters.fake_telegram import FakeTelegram
from tests.adapters.test_outage import Proxy, proxy  # noqa: F401  (fixture)
from tests.adapters.test_poison import stored, tracebacks
from tests.adapters.test_telegram import fake, webhook  # noqa: F401  (fixtures)

HELP = "你可以使用这些命令"
KILLS = 20
# How long PostgreSQL stays unreachable: the 20 s in CI, a few seconds locally.
OUTAGE_SECONDS = 20.0 if os.environ.get("CI") == "true" else 3.0
ANSWER_BOUND = 5.0  # seconds: a 503 must come quickly, not after the pool's timeouts
KILL_OTHERS = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """PostgreSQL only: SQLite has no connections to kill."""
    return postgres_url


@pytest.fixture
async def admin(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(postgres_url, isolation_level="AUTOCOMMIT")
    yield engine
    await engine.dispose()


async def deliver_until_stored(
    api: FakeTelegram, update: dict[str, Any], attempts: int = 100
) -> list[int]:
    """Post like Telegram: again after anything but a 200; every status seen."""
    statuses = []
    for _ in range(attempts):
        statuses.append(await api.post_webhook(update))
        if statuses[-1] == 200:
            break
        await asyncio.sleep(0.1)
    return statuses


APOLOGY = "抱歉，刚才处理出了点问题"


async def answers_after_recovery(
    app: App, clock: FixedClock, api: FakeTelegram, users: range
) -> dict[int, list[str]]:
    """Drain the workers, let recovery pick up what failed half-way and the courier send
    what is due; each user's texts."""
    await app.dispatcher.drain_background()
    clock.advance(RECOVER_AFTER * 2)
    await app.dispatcher.recover()
    await app.courier.drain()
    return {user: api.texts(user) for user in users}


async def burst_with_killer(
    api: FakeTelegram, admin: AsyncEngine, users: range
) -> tuple[dict[int, dict[str, Any]], list[list[int]], int]:
    """Every user posts /help (again after anything but a 200) while another connection
    kills every other connection to the database, every 0.1 s, for 2 s."""
    updates = {user: api.message(user, "/help") for user in users}
    killed = 0
    stop = asyncio.Event()

    async def killer() -> None:
        nonlocal killed
        async with admin.connect() as conn:
            for _ in range(KILLS):
                if stop.is_set():
                    break
                killed += int((await conn.execute(KILL_OTHERS)).scalar_one())
                await asyncio.sleep(0.1)

    task = asyncio.create_task(killer())
    try:
        results = await asyncio.gather(
            *(deliver_until_stored(api, update) for update in updates.values())
        )
    finally:
        stop.set()
        await task
    return updates, list(results), killed


async def test_killed_connections_while_webhooks_arrive(
    app: App,
    clock: FixedClock,
    fake: FakeTelegram,  # noqa: F811
    webhook: tuple[TelegramAdapter, WebServer],  # noqa: F811
    admin: AsyncEngine,
) -> None:
    users = range(6000, 6060)
    updates, results, killed = await burst_with_killer(fake, admin, users)
    assert killed > 0  # connections really died under the traffic
    statuses = {s for seen in results for s in seen}
    assert statuses <= {200, 503}, statuses  # never a 500: the platform retries a 503
    assert all(seen[-1] == 200 for seen in results)
    # Nothing acknowledged that is not stored: every 200 has its inbox row.
    ids = {e.event_id for e in await stored(app)}
    assert {str(u["update_id"]) for u in updates.values()} <= ids

    # Nothing lost: every delivery processed, every user answered exactly once.
    texts = await answers_after_recovery(app, clock, fake, users)
    assert all(len(t) == 1 for t in texts.values()), texts
    assert all(e.processed_at is not None for e in await stored(app))
    # The pool replaced the dead connections: the next delivery just works.
    assert await fake.post_webhook(fake.message(6999, "/help")) == 200
    await app.dispatcher.drain_background()
    assert len(fake.texts(6999)) == 1 and HELP in fake.texts(6999)[0]


def kill_mid_transaction(
    monkeypatch: pytest.MonkeyPatch, admin: AsyncEngine, users: range
) -> list[int]:
    """The first processing of each of ``users``' deliveries loses its connection half-way
    (killed from the admin connection after the inbox row is locked); the pids killed."""
    real = Dispatcher._identity
    killed: list[int] = []
    done: set[str] = set()

    async def identity(session: AsyncSession, message: Incoming, now: datetime) -> Identity:
        if int(message.sender.user_id) in users and message.event_id not in done:
            done.add(message.event_id)
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with admin.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)
        return await real(session, message, now)

    monkeypatch.setattr(Dispatcher, "_identity", staticmethod(identity))
    return killed


async def test_a_connection_killed_mid_transaction_costs_no_answer(
    app: App,
    clock: FixedClock,
    fake: FakeTelegram,  # noqa: F811
    webhook: tuple[TelegramAdapter, WebServer],  # noqa: F811
    admin: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A connection killed under a delivery's processing is the database's fault, not the
    message's: the delivery is processed again, and the person gets the real answer."""
    users = range(6100, 6110)
    killed = kill_mid_transaction(monkeypatch, admin, users)
    for user in users:
        assert await fake.post_webhook(fake.message(user, "/help")) == 200
    texts = await answers_after_recovery(app, clock, fake, users)
    assert len(killed) == len(users)
    assert all(len(t) == 1 for t in texts.values()), texts  # this much holds today
    apologised = [user for user, t in texts.items() if APOLOGY in t[0]]
    assert apologised == []
    assert all(HELP in t[0] for t in texts.values())


class TestUnreachable:
    """PostgreSQL behind the TCP proxy of test_outage.py, switched off for a while."""

    @pytest.fixture
    def database_url(self, postgres_url: str, proxy: Proxy) -> str:  # noqa: F811
        return make_url(postgres_url).set(port=proxy.port).render_as_string(hide_password=False)

    async def test_unreachable_for_a_while_then_back(
        self,
        app: App,
        fake: FakeTelegram,  # noqa: F811
        webhook: tuple[TelegramAdapter, WebServer],  # noqa: F811
        proxy: Proxy,  # noqa: F811
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        _, web = webhook
        assert await fake.post_webhook(fake.message(7000, "/help")) == 200
        await app.dispatcher.drain_background()
        assert len(fake.texts(7000)) == 1

        await proxy.refuse()
        updates: list[dict[str, Any]] = []
        answers: list[tuple[int, str | None]] = []
        latencies: list[float] = []
        ends = time.monotonic() + OUTAGE_SECONDS
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < ends:  # a delivery every 0.2 s, for the whole outage
                update = fake.message(7001 + len(updates), "/help")
                updates.append(update)
                started = time.monotonic()
                async with http.post(
                    f"http://127.0.0.1:{web.bound_port}/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": fake.webhook_secret or ""},
                ) as response:
                    answers.append((response.status, response.headers.get("Retry-After")))
                latencies.append(time.monotonic() - started)
                await asyncio.sleep(0.2)
            async with http.get(f"http://127.0.0.1:{web.bound_port}/healthz") as response:
                assert response.status == 503
        assert len(updates) >= OUTAGE_SECONDS * 2
        assert answers == [(503, "5")] * len(updates)  # nothing acknowledged, all retried
        assert max(latencies) < ANSWER_BOUND

        # Back, with no restart: Telegram delivers again what it got no 200 for.
        await proxy.start()
        assert len(await stored(app)) == 1  # indeed nothing was stored during the outage
        for update in updates:
            assert await fake.post_webhook(update) == 200
        await app.dispatcher.drain_background()
        for n in range(len(updates)):
            texts = fake.texts(7001 + n)
            assert len(texts) == 1 and HELP in texts[0]
        assert all(e.processed_at is not None and e.error is None for e in await stored(app))
        assert tracebacks(caplog) == []
