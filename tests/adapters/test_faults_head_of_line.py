"""One chatty person must not hold up everyone else (found by ``bench.fuzz``).

Replies are paced per chat (Telegram: one a second per chat; here one every 0.25 s), and
each person's deliveries are processed one after another. A burst from one person must
then wait for itself only: someone else who writes meanwhile is answered at once. Real
time, because the pacing is: about four seconds of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from adapters.ratelimit import RateLimiter, Window
from adapters.telegram import WEBHOOK_PATH, TelegramAdapter
from bot.core.settings import Settings
from bot.core.web import WebServer
from bot.runtime.app import App
from tests.adapters.fake_telegram import FakeTelegram
from tests.adapters.test_telegram import adapter_for, fake, tg_settings, until  # noqa: F401

CHATTY, NEWCOMER = 8000, 8001
BURST = 16
PACE = Window(1, 0.25)  # one message every 0.25 s to a chat
PROMPT = 1.0  # seconds: the newcomer's answer, with processing far faster than the pace


@pytest.fixture
async def paced(
    app: App,
    fake: FakeTelegram,  # noqa: F811
    settings: Settings,
) -> AsyncIterator[WebServer]:
    configured = tg_settings(settings, fake, telegram_webhook_secret="s3cret-Token_1")
    adapter: TelegramAdapter = adapter_for(app, configured, limiter=RateLimiter(per_key=PACE))
    web = WebServer(app.db, "127.0.0.1", 0)
    web.add_routes(adapter.routes())
    await web.start()
    url = f"http://127.0.0.1:{web.bound_port}{WEBHOOK_PATH}"
    adapter.settings = configured.model_copy(update={"telegram_webhook_url": url})
    await adapter.start()
    yield web
    await app.dispatcher.drain_background()
    await adapter.stop()
    await web.stop()


async def test_a_burst_from_one_person_does_not_delay_another(
    app: App,
    fake: FakeTelegram,  # noqa: F811
    paced: WebServer,
) -> None:
    burst = [fake.message(CHATTY, f"/help {n}") for n in range(BURST)]
    assert set(await asyncio.gather(*(fake.post_webhook(u) for u in burst))) == {200}
    started = time.monotonic()
    assert await fake.post_webhook(fake.message(NEWCOMER, "/help")) == 200
    await until(lambda: bool(fake.texts(NEWCOMER)), timeout=30)
    waited = time.monotonic() - started
    await until(lambda: len(fake.texts(CHATTY)) == BURST, timeout=30)  # all of them, in time
    assert waited < PROMPT, f"the newcomer waited {waited:.1f} s behind the burst"
