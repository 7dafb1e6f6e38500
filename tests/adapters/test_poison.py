"""A poison update beside real traffic, through the Telegram webhook (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from adapters.telegram import TelegramAdapter
from bot.core.dispatcher import Dispatcher
from bot.core.messages import Incoming
from bot.core.web import WebServer
from bot.runtime.app import App
from storage.models import Identity, InboundEvent
from tests.adapters.fake_telegram import FakeTelegram
from tests.adapters.test_telegram import fake, webhook  # noqa: F401  (fixtures)

POISON = 666
UNBOUND = "请先用 HR 发给你的邀请码绑定账号：发送「绑定 邀请码」或 /bind 邀请码。"
HEALTHZ_BOUND = 2.0  # seconds; the issue measured 30 s while a poison update failed


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]


async def healthz_latencies(web: WebServer, stop: asyncio.Event) -> list[float]:
    """Probe /healthz back to back until ``stop``; each probe's seconds."""
    url = f"http://127.0.0.1:{web.bound_port}/healthz"
    latencies = []
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            started = time.perf_counter()
            async with http.get(url) as response:
                await response.read()
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)
    return latencies


async def stored(app: App) -> list[InboundEvent]:
    async with app.db.session() as session:
        return list((await session.exec(select(InboundEvent))).all())


async def test_poison_updates_beside_traffic(
    app: App,
    fake: FakeTelegram,  # noqa: F811
    webhook: tuple[TelegramAdapter, WebServer],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Lone surrogates are made safe; an update that cannot be processed at all is
    retried later, and neither slows anyone else down."""
    _, web = webhook
    real = Dispatcher._identity

    async def failing(session: AsyncSession, message: Incoming, now: datetime) -> Identity:
        if message.sender.user_id == str(POISON):
            raise RuntimeError("cannot store this sender")
        return await real(session, message, now)

    monkeypatch.setattr(Dispatcher, "_identity", staticmethod(failing))
    ordinary = [fake.message(3000 + n, "/help") for n in range(40)]
    surrogates = [
        fake.message(
            4000 + n,
            "进度 \ud800 \udfff",
            **{"from": {**fake.user(4000 + n), "first_name": "\ud83d"}},
        )
        for n in range(5)
    ]
    poison = [fake.message(POISON, f"/help {n}") for n in range(3)]
    stop = asyncio.Event()
    probe = asyncio.create_task(healthz_latencies(web, stop))
    statuses = await asyncio.gather(
        *(fake.post_webhook(update) for update in [*poison, *surrogates, *ordinary])
    )
    await app.dispatcher.drain_background()
    stop.set()
    latencies = await probe
    assert set(statuses) == {200}
    assert latencies and max(latencies) < HEALTHZ_BOUND
    # Everyone else was answered, once each.
    for n in range(40):
        assert len(fake.texts(3000 + n)) == 1
    # Lone surrogates were replaced at the edge: the text is understood, the name stored.
    for n in range(5):
        assert fake.texts(4000 + n) == [UNBOUND]
    async with app.db.session() as session:
        names = (
            await session.exec(select(Identity.display_name).where(Identity.user_id == "4000"))
        ).all()
    assert names == ["\ufffd"]
    # The poison waits for a later, bounded retry; nothing is processed half-way.
    events = {e.event_id: e for e in await stored(app)}
    failed = [e for e in events.values() if e.processed_at is None]
    assert len(failed) == 3
    assert all(e.attempts == 1 and e.retry_at is not None for e in failed)
    assert not fake.texts(POISON)
    assert not [r for r in tracebacks(caplog) if "cannot store" not in str(r.exc_info)]
