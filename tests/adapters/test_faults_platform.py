"""The platform API failing for a while (500s, 429s) under real replies: nothing lost,
nothing sent twice, and the courier waits as told (its backoff, or the platform's
retry_after) on the moved clock, never a sleep. Telegram (webhook) and WeCom, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from adapters.telegram import TelegramAdapter
from bot.core.clock import FixedClock
from bot.core.courier import backoff
from bot.core.web import WebServer
from bot.runtime.app import App
from storage.models import Outbox
from tests.adapters.fake_telegram import FakeTelegram
from tests.adapters.test_telegram import fake, webhook  # noqa: F401  (fixtures)

USERS = [5000 + n for n in range(20)]
SECOND = timedelta(seconds=1)


async def rows(app: App) -> list[Outbox]:
    async with app.db.session() as session:
        return list((await session.exec(select(Outbox).order_by(Outbox.id))).all())  # type: ignore[arg-type]


async def ask_everyone(app: App, api: FakeTelegram) -> None:
    """Each user sends /help through the webhook; the replies are tried at once."""
    for user in USERS:
        assert await api.post_webhook(api.message(user, "/help")) == 200
    await app.dispatcher.drain_background()


Page = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(web: WebServer) -> Page:
    """``GET /metrics`` as an operator sees it: (sample name, labels) -> value."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{web.bound_port}/metrics") as response,
    ):
        assert response.status == 200
        page = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def sends(page: Page, platform: str) -> dict[str, float]:
    """The page's ``preboard_sends_total`` for ``platform``, by result (zeros left out),
    with its 429s and retries."""
    found = {
        dict(labels)["result"]: value
        for (name, labels), value in page.items()
        if name == "preboard_sends_total" and dict(labels).get("platform") == platform and value
    }
    for key, counter in (
        ("429s", "preboard_rate_limited_total"),
        ("retries", "preboard_send_retries_total"),
    ):
        value = page.get((counter, (("platform", platform),)), 0.0)
        if value:
            found[key] = value
    return found


def attempts_per_chat(api: FakeTelegram) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in api.calls_to("sendMessage", ok=False):
        counts[call.chat_id or ""] = counts.get(call.chat_id or "", 0) + 1
    return counts


async def test_telegram_500s_are_backed_off_and_nothing_is_lost(
    app: App,
    clock: FixedClock,
    fake: FakeTelegram,  # noqa: F811
    webhook: tuple[TelegramAdapter, WebServer],  # noqa: F811
) -> None:
    fake.outage(500, "Internal Server Error")
    await ask_everyone(app, fake)
    assert fake.texts() == []
    first = await rows(app)
    assert len(first) == len(USERS)
    assert {(r.status, r.attempts) for r in first} == {("pending", 1)}
    assert all("Internal Server Error" in (r.last_error or "") for r in first)

    # Not before the backoff (30 s after the first failure), then again (1 min).
    clock.advance(backoff(1) - SECOND)
    assert await app.courier.drain() == 0
    clock.advance(2 * SECOND)
    assert await app.courier.drain() == len(USERS)  # tried, and refused again
    assert {(r.status, r.attempts) for r in await rows(app)} == {("pending", 2)}
    fake.recover()  # the platform is back, but the rows wait for their backoff
    clock.advance(backoff(2) - 2 * SECOND)
    assert await app.courier.drain() == 0
    assert fake.texts() == []
    clock.advance(3 * SECOND)
    assert await app.courier.drain() == len(USERS)

    # Every reply arrived exactly once, after two refused tries each (no hammering).
    for user in USERS:
        texts = fake.texts(user)
        assert len(texts) == 1 and "你可以使用这些命令" in texts[0]
    assert attempts_per_chat(fake) == {str(user): 3 for user in USERS}
    # Two refused tries and the one that went.
    assert {(r.status, r.attempts) for r in await rows(app)} == {("sent", 3)}
    clock.advance(timedelta(hours=2))
    assert await app.courier.drain() == 0  # nothing left to send twice
    # The backoff as /metrics shows it: two retries a row, then one send each.
    n = len(USERS)
    assert sends(await scrape(webhook[1]), "telegram") == {
        "ok": n,
        "retry": 2 * n,
        "retries": 2 * n,
    }


async def test_telegram_429s_wait_for_retry_after(
    app: App,
    clock: FixedClock,
    fake: FakeTelegram,  # noqa: F811
    webhook: tuple[TelegramAdapter, WebServer],  # noqa: F811
) -> None:
    """A 429 longer than the adapter waits in line goes back to the courier, which waits
    the platform's retry_after (here longer than its own 30 s backoff), every time."""
    fake.outage(429, "Too Many Requests: retry after 90", retry_after=90)
    await ask_everyone(app, fake)
    assert {(r.status, r.attempts) for r in await rows(app)} == {("pending", 1)}
    clock.advance(timedelta(seconds=89))
    assert await app.courier.drain() == 0
    clock.advance(2 * SECOND)
    assert await app.courier.drain() == len(USERS)  # still 429: wait 90 s again
    fake.recover()
    clock.advance(timedelta(seconds=89))
    assert await app.courier.drain() == 0
    assert fake.texts() == []
    clock.advance(2 * SECOND)
    assert await app.courier.drain() == len(USERS)
    assert all(len(fake.texts(user)) == 1 for user in USERS)
    assert attempts_per_chat(fake) == {str(user): 3 for user in USERS}
    # Two refused tries and the one that went.
    assert {(r.status, r.attempts) for r in await rows(app)} == {("sent", 3)}
    # The platform's waits as /metrics shows them: two 429s a row, then one send each.
    n = len(USERS)
    assert sends(await scrape(webhook[1]), "telegram") == {
        "ok": n,
        "rate_limited": 2 * n,
        "429s": 2 * n,
        "retries": 2 * n,
    }
