"""``GET /metrics``: what a real webhook delivery, the outbox, a tick and the leader show."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from adapters.ratelimit import RateLimiter
from adapters.telegram import TelegramAdapter
from bot.core import metrics
from bot.core.metrics import Metrics
from bot.core.settings import Settings
from bot.core.web import WebServer
from bot.runtime.app import App
from bot.runtime.leader import Leader
from storage import outbox
from storage.db import Database
from storage.models import OutboxCategory
from tests.adapters.fake_telegram import TOKEN, FakeTelegram
from tests.adapters.test_telegram import (  # noqa: F401  (fake: a fixture)
    CANDIDATE,
    ROOT,
    adapter_for,
    fake,
    free_port,
    tg_settings,
    until,
)
from tests.bot.helpers import add_candidate

SECRET = "s3cret-Token_1"


@pytest.fixture
async def served(
    app: App,
    fake: FakeTelegram,  # noqa: F811
    settings: Settings,
) -> AsyncIterator[tuple[TelegramAdapter, WebServer]]:
    """The Telegram webhook mounted the way App.run_platforms mounts it."""
    configured = tg_settings(settings, fake, telegram_webhook_secret=SECRET)
    adapter = adapter_for(app, configured, limiter=RateLimiter())
    web = WebServer(app.db, "127.0.0.1", 0, clock=app.clock)
    web.metrics.watch_queue(lambda: app.dispatcher.workers.queued)
    web.add_routes(adapter.routes(), platform=adapter.platform)
    await web.start()
    url = f"http://127.0.0.1:{web.bound_port}/telegram/webhook"
    adapter.settings = configured.model_copy(update={"telegram_webhook_url": url})
    await adapter.start()
    yield adapter, web
    await adapter.stop()
    await web.stop()
    await app.dispatcher.drain_background()


async def scrape(web: WebServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``, by name and labels."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{web.bound_port}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_webhook_delivery_moves_the_inbound_and_processing_metrics(
    app: App,
    fake: FakeTelegram,  # noqa: F811
    served: tuple[TelegramAdapter, WebServer],
) -> None:
    _, web = served
    before = await scrape(web)
    assert value(before, "preboard_inbound_events_total", platform="telegram", result="stored") == 0

    update = fake.message(4100, "/help")
    assert await fake.post_webhook(update) == 200
    await app.dispatcher.drain_background()
    assert len(fake.texts(4100)) == 1  # it was processed and answered
    assert await fake.post_webhook(update) == 200  # Telegram delivers it again
    assert await fake.post_webhook(fake.message(4101, "/help"), secret="forged") in (401, 403)
    await app.dispatcher.drain_background()

    after = await scrape(web)
    inbound = "preboard_inbound_events_total"
    assert value(after, inbound, platform="telegram", result="stored") == 1
    assert value(after, inbound, platform="telegram", result="duplicate") == 1
    assert value(after, inbound, platform="telegram", result="refused") == 1
    assert value(after, "preboard_processing_seconds_count", platform="telegram") == 1
    assert value(after, "preboard_webhook_seconds_count", platform="telegram") == 3
    assert value(after, "preboard_inbox_queue_length") == 0
    assert value(after, "preboard_inbox_unprocessed_rows") == 0
    assert value(after, "preboard_database_up") == 1


async def test_outbox_depth_is_read_from_the_database(
    app: App, served: tuple[TelegramAdapter, WebServer]
) -> None:
    _, web = served
    candidate, _ = await add_candidate(app, "张三")
    now = app.clock.now()
    async with app.db.session() as session:
        for n in range(3):
            await outbox.enqueue(
                session=session,
                kind="push",
                payload={"text": f"push {n}"},
                due_at=now,
                now=now,
                candidate_id=candidate.id,
                category=OutboxCategory.PUSH.value,
            )
        await outbox.enqueue(
            session=session,
            kind="notice",
            payload={"text": "a notice"},
            due_at=now,
            now=now,
            candidate_id=candidate.id,
        )
        dead = await outbox.enqueue(
            session=session,
            kind="broadcast",
            payload={"text": "broadcast"},
            due_at=now,
            now=now,
            candidate_id=candidate.id,
            category=OutboxCategory.BROADCAST.value,
        )
        assert dead is not None
        await outbox.mark_failed(session=session, row_id=dead, error="gone", retry_at=None)

    samples = await scrape(web)
    rows = "preboard_outbox_rows"
    assert value(samples, rows, status="pending", category="push") == 3
    assert value(samples, rows, status="pending", category="notice") == 1
    assert value(samples, rows, status="failed", category="broadcast") == 1
    assert value(samples, rows, status="pending", category="broadcast") == 0

    async with app.db.session() as session:  # the pushes are sent: their gauge goes
        for row_id in await outbox.due_ids(session=session, now=now):
            await outbox.mark_sent(session=session, row_id=row_id, now=now)
    samples = await scrape(web)
    assert (rows, (("category", "push"), ("status", "pending"))) not in samples
    assert value(samples, rows, status="failed", category="broadcast") == 1


async def test_tick_durations_appear_after_a_tick(
    app: App, served: tuple[TelegramAdapter, WebServer]
) -> None:
    _, web = served
    assert value(await scrape(web), "preboard_tick_job_seconds_count", job="plan_pushes") == 0
    await app.tick()
    samples = await scrape(web)
    for job in ("plan_pushes", "escalation_job", "send_digests", "courier_drain"):
        assert value(samples, "preboard_tick_job_seconds_count", job=job) == 1, job
    assert value(samples, "preboard_tick_job_failures_total", job="plan_pushes") == 0


async def test_a_failing_tick_job_is_counted(
    app: App, served: tuple[TelegramAdapter, WebServer]
) -> None:
    _, web = served

    async def broken(*_: object) -> None:
        raise RuntimeError("boom")

    app.tick_jobs = [broken]
    await app.tick()
    samples = await scrape(web)
    assert value(samples, "preboard_tick_job_seconds_count", job="broken") == 1
    assert value(samples, "preboard_tick_job_failures_total", job="broken") == 1


async def test_the_leader_gauge_follows_the_election(
    database_url: str, served: tuple[TelegramAdapter, WebServer]
) -> None:
    _, web = served
    assert value(await scrape(web), "preboard_leader") == 0
    leader = Leader(database_url, lease_seconds=4)
    await leader.start()
    try:
        if make_url(database_url).get_backend_name() == "postgresql":
            for _ in range(100):  # a follower waits out the grace before it leads
                if leader.is_leader:
                    break
                await leader._sleep(0.05)
        assert leader.is_leader
        assert value(await scrape(web), "preboard_leader") == 1
    finally:
        await leader.stop()
    assert value(await scrape(web), "preboard_leader") == 0


async def test_metrics_answer_without_the_database(tmp_path: object) -> None:
    db = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    web = WebServer(db, "127.0.0.1", 0)
    await web.start()
    try:
        metrics.sent("telegram", "ok")
        samples = await scrape(web)
        assert value(samples, "preboard_database_up") == 0
        assert value(samples, "preboard_sends_total", platform="telegram", result="ok") == 1
    finally:
        await web.stop()
        await db.dispose()


def test_recording_without_metrics_installed_does_nothing() -> None:
    previous = metrics.install(None)
    try:
        metrics.sent("telegram", "ok")  # the console: no registry, no error
        metrics.tick_job("plan_pushes", 0.1, failed=True)
        own = Metrics()
        metrics.install(own)
        metrics.sent("telegram", "rate_limited")
        metrics.rate_limited("telegram")
        metrics.retried("telegram")
        text = own.render().decode()
        assert 'preboard_sends_total{platform="telegram",result="rate_limited"} 1.0' in text
        assert 'preboard_rate_limited_total{platform="telegram"} 1.0' in text
        assert 'preboard_send_retries_total{platform="telegram"} 1.0' in text
        assert "plan_pushes" not in text  # recorded before it was installed: not counted
    finally:
        metrics.install(previous)


def test_each_metrics_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.sends.labels(platform="wecom", result="ok").inc()
    assert "wecom" not in second.render().decode()


async def test_run_bot_serves_metrics_and_probes(
    fake: FakeTelegram,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The wiring of ``App.run_platforms``: a real process counts its webhook per
    platform, reports its queue, leads (SQLite: the only process) and has ticked."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECOM_", "FEISHU_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=fake.api_base,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET="run-bot-secret",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        DATA_DIR=str(tmp_path / "data"),
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_bot.py"),
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await until(lambda: fake.webhook_url is not None, timeout=20)
        assert await fake.post_webhook(fake.message(CANDIDATE, "/help"), secret="no") == 403
        assert await fake.post_webhook(fake.message(CANDIDATE, "/help")) == 200
        await until(lambda: len(fake.texts(CANDIDATE)) >= 1, timeout=10)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/livez") as response:
                assert response.status == 200
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 200, await response.text()
            samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
            for _ in range(100):  # the first tick runs once the process leads
                async with http.get(f"{base}/metrics") as response:
                    text = await response.text()
                samples = {
                    (s.name, tuple(sorted(s.labels.items()))): s.value
                    for family in text_string_to_metric_families(text)
                    for s in family.samples
                }
                if value(samples, "preboard_tick_job_seconds_count", job="courier_drain"):
                    break
                await asyncio.sleep(0.1)
        inbound = "preboard_inbound_events_total"
        assert value(samples, inbound, platform="telegram", result="stored") == 1
        assert value(samples, inbound, platform="telegram", result="refused") == 1
        assert value(samples, "preboard_webhook_seconds_count", platform="telegram") == 2
        assert value(samples, "preboard_processing_seconds_count", platform="telegram") == 1
        assert ("preboard_inbox_queue_length", ()) in samples
        assert value(samples, "preboard_leader") == 1
        assert value(samples, "preboard_tick_job_seconds_count", job="plan_pushes") >= 1
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 15)
        assert process.returncode == 0, stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
