"""Fuzzing every webhook of a running server with Hypothesis (issue #13, "Bad input").

``python -m bench.fuzz [--cases 10000] [--db sqlite|postgres]`` (also
``python -m bench.webhook --fuzz [--cases N]``)

The product is started as in production (``run_bot.py run``, its own process, JSON
logs) with Telegram (webhook mode), WeCom and Feishu configured against the fake
platforms of the test suite, served by this process on 127.0.0.1. The cases are split
evenly over the four endpoints (Telegram's webhook, WeCom's callback by GET and by
POST, Feishu's events) and drawn by the strategies of
``tests/adapters/test_webhook_fuzz.py``: malformed, truncated, nested and oversized
JSON and XML, entity expansion, wrong content types and encodings, unicode edge cases,
forged, replayed and near-miss signatures, and correctly signed or sealed payloads
whose fields are wrong. Each case is one raw HTTP/1.1 request on its own connection;
Hypothesis only generates (derandomized, no shrinking: nothing is asserted per case).

One JSON line: cases per endpoint, the statuses' histogram, 5xx answers, hangs (no
answer in 30 s), forged requests answered 200, latency p50 / p99 / max, what the
server logged at ERROR or above (count, and the first few), whether the process is
still running, the backlog the fuzz left (deliveries not yet processed, the outbox by
status), and how many seconds a genuine message on each platform, sent right after,
took to be answered (null: not within five minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import hypothesis
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import col, select

from bench.pushes import fresh_database
from bench.webhook import ROOT, _free_port, _wait_healthy
from bot.core.settings import Settings
from run_bot import build_app
from storage.db import Database
from storage.models import InboundEvent, Outbox
from tests.adapters import test_webhook_fuzz as fz
from tests.adapters.fake_feishu import FakeFeishu, FeishuEvents
from tests.adapters.fake_telegram import FakeTelegram
from tests.adapters.fake_wecom import FakeWeCom, WeComCallbacks

T = TypeVar("T")
CORP_ID = "wwfuzz00000000001"
WECOM_SECRET = "fuzz-secret"
WECOM_TOKEN = "FuzzToken"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
AGENT_ID = 1000002
TELEGRAM_SECRET = "fuzz-Secret_token-1"
FEISHU_ENCRYPT_KEY = "fuzz-encrypt-key"
FEISHU_TOKEN = "fuzz-verification-token"
ENDPOINTS = ("telegram", "wecom_get", "wecom_post", "feishu")
HANG_SECONDS = 30.0
ANSWER_TIMEOUT = 300.0  # seconds to wait for the reply to a genuine message after the fuzz


@dataclass
class Tally:
    """What the fuzzed server answered."""

    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    cases: collections.Counter[str] = field(default_factory=collections.Counter)
    latencies: list[float] = field(default_factory=list)
    hangs: int = 0
    forged_accepted: int = 0
    examples_5xx: list[str] = field(default_factory=list)

    async def probe(self, endpoint: str, port: int, request: fz.Request) -> None:
        self.cases[endpoint] += 1
        started = time.perf_counter()
        try:
            status = await asyncio.wait_for(fz.send(port, request), HANG_SECONDS + 5)
        except (TimeoutError, ValueError, IndexError, ConnectionError) as exc:
            self.hangs += 1  # no status line in time, or the connection dropped
            self.examples_5xx.append(f"{endpoint}: no answer ({type(exc).__name__})")
            return
        finally:
            self.latencies.append(time.perf_counter() - started)
        self.statuses[status] += 1
        if status >= 500 and len(self.examples_5xx) < 5:
            self.examples_5xx.append(f"{endpoint} {status}: {request!r}"[:600])
        if status == 200 and request.must_refuse:
            self.forged_accepted += 1


def _drive(
    strategy: st.SearchStrategy[T],
    check: Callable[[T], Awaitable[None]],
    cases: int,
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Hypothesis in this (worker) thread; each example checked on ``loop``."""

    @hypothesis.settings(
        max_examples=cases,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.generate],
    )
    @hypothesis.given(strategy)
    def run(example: T) -> None:
        asyncio.run_coroutine_threadsafe(check(example), loop).result(timeout=120)  # type: ignore[arg-type]

    run()


@dataclass
class Fakes:
    telegram: FakeTelegram
    wecom: FakeWeCom
    feishu: FakeFeishu

    @classmethod
    async def start(cls) -> Fakes:
        fakes = cls(FakeTelegram(), FakeWeCom(CORP_ID, WECOM_SECRET, AGENT_ID), FakeFeishu())
        await fakes.telegram.start()
        await fakes.wecom.start()
        await fakes.feishu.start()
        return fakes

    async def stop(self) -> None:
        await self.telegram.close()
        await self.wecom.stop()
        await self.feishu.stop()

    def env(self, port: int) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": self.telegram.token,
            "TELEGRAM_API_BASE_URL": self.telegram.api_base,
            "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "WECOM_CORP_ID": CORP_ID,
            "WECOM_AGENT_ID": str(AGENT_ID),
            "WECOM_SECRET": WECOM_SECRET,
            "WECOM_TOKEN": WECOM_TOKEN,
            "WECOM_AES_KEY": AES_KEY,
            "WECOM_API_BASE_URL": self.wecom.base_url,
            "FEISHU_APP_ID": self.feishu.app_id,
            "FEISHU_APP_SECRET": self.feishu.app_secret,
            "FEISHU_ENCRYPT_KEY": FEISHU_ENCRYPT_KEY,
            "FEISHU_VERIFICATION_TOKEN": FEISHU_TOKEN,
            "FEISHU_DOMAIN": self.feishu.url,
        }


def _split(cases: int) -> dict[str, int]:
    share, rest = divmod(cases, len(ENDPOINTS))
    return {name: share + (i < rest) for i, name in enumerate(ENDPOINTS)}


async def _fuzz(port: int, fakes: Fakes, cases: int, tally: Tally) -> None:
    loop = asyncio.get_running_loop()
    callbacks = _callbacks(port)
    events = _events(fakes)
    telegram = fz.telegram_requests(TELEGRAM_SECRET.encode(), fz.telegram_templates(fakes.telegram))
    feishu = fz.feishu_requests(events, fz.feishu_templates(events))
    plan: list[tuple[str, st.SearchStrategy[Any]]] = [
        ("telegram", telegram),
        ("wecom_get", fz.wecom_requests(fz.wecom_templates(callbacks), "GET")),
        ("wecom_post", fz.wecom_requests(fz.wecom_templates(callbacks), "POST")),
        ("feishu", feishu),
    ]
    counts = _split(cases)
    for endpoint, strategy in plan:

        async def check(case: Any, endpoint: str = endpoint) -> None:
            request = case.request(callbacks) if isinstance(case, fz.Sealed) else case
            await tally.probe(endpoint, port, request)

        if counts[endpoint]:
            await asyncio.to_thread(_drive, strategy, check, counts[endpoint], loop)


def _callbacks(port: int) -> WeComCallbacks:
    url = f"http://127.0.0.1:{port}/wecom/callback"
    return WeComCallbacks(
        url, token=WECOM_TOKEN, aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID
    )


def _events(fakes: Fakes) -> FeishuEvents:
    return FeishuEvents(
        encrypt_key=FEISHU_ENCRYPT_KEY, verification_token=FEISHU_TOKEN, app_id=fakes.feishu.app_id
    )


async def _answered(status: int, condition: Callable[[], bool], since: float) -> float | None:
    """Seconds from ``since`` until ``condition`` holds; None when the delivery was not
    acknowledged or no answer came within :data:`ANSWER_TIMEOUT`."""
    if status != 200:
        return None
    while time.monotonic() < since + ANSWER_TIMEOUT:
        if condition():
            return round(time.monotonic() - since, 2)
        await asyncio.sleep(0.1)
    return None


async def _still_serving(port: int, fakes: Fakes) -> dict[str, float | None]:
    """A genuine message on each platform, from someone new, all three at once: seconds
    until each was answered (None: not answered)."""
    telegram, wecom, feishu = fakes.telegram, fakes.wecom, fakes.feishu
    callbacks, events = _callbacks(port), _events(fakes)
    params, body = callbacks.seal(callbacks.text("fuzz-after", "/help"))
    sealed, headers = events.seal(events.text("ou_fuzz_after", "/help"))
    since = time.monotonic()
    async with aiohttp.ClientSession() as http:
        status = await telegram.post_webhook(telegram.message(777_001, "/help"))
        telegram_wait = _answered(status, lambda: bool(telegram.texts(777_001)), since)
        status, _ = await callbacks.post(http, params, body)
        wecom_wait = _answered(status, lambda: bool(wecom.texts("fuzz-after")), since)
        url = f"http://127.0.0.1:{port}/feishu/events"
        async with http.post(url, data=sealed, headers=headers) as response:
            status = response.status
        feishu_wait = _answered(status, lambda: bool(feishu.texts("ou_fuzz_after")), since)
        waits = await asyncio.gather(telegram_wait, wecom_wait, feishu_wait)
    return dict(zip(("telegram", "wecom", "feishu"), waits, strict=True))


async def _backlog(url: str) -> dict[str, Any]:
    """Deliveries stored but not processed yet, and the outbox by status."""
    db = Database(url)
    try:
        async with db.session() as session:
            unprocessed = (
                await session.exec(
                    select(func.count())
                    .select_from(InboundEvent)
                    .where(col(InboundEvent.processed_at).is_(None))
                )
            ).one()
            statuses = (
                await session.exec(select(Outbox.status, func.count()).group_by(Outbox.status))
            ).all()
    finally:
        await db.dispose()
    return {"inbox_unprocessed": int(unprocessed), "outbox": {s: int(n) for s, n in statuses}}


def _logged_errors(log_path: Path) -> list[dict[str, Any]]:
    """The server's log records at ERROR or above (JSON lines; other lines as text)."""
    errors = []
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            if "Traceback" in line or " ERROR " in line or "CRITICAL" in line:
                errors.append({"message": line[:300]})
            continue
        if isinstance(record, dict) and record.get("level") in ("error", "critical"):
            errors.append(record)
    return errors


async def _prepare(url: str, data_dir: Path) -> None:
    settings = Settings(_env_file=None, database_url=url, data_dir=data_dir)  # type: ignore[call-arg]
    app = build_app(settings)
    try:
        await app.prepare()
    finally:
        await app.close()


async def _serve_and_fuzz(url: str, data_dir: Path, cases: int) -> dict[str, Any]:
    fakes = await Fakes.start()
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECOM_"))},
        **{k: v for k, v in fakes.env(port).items()},
        "DATABASE_URL": url,
        "DATA_DIR": str(data_dir),
        "HTTP_PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_FORMAT": "json",
    }
    log_path = data_dir / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run_bot.py"), "run"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    tally = Tally()
    try:
        try:
            await _wait_healthy(port, proc)
        except RuntimeError as exc:
            log.flush()
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"{exc}; the server's log ends:\n{tail}") from None
        started = time.perf_counter()
        await _fuzz(port, fakes, cases, tally)
        seconds = time.perf_counter() - started
        backlog = await _backlog(url)
        serving = await _still_serving(port, fakes)
        alive = proc.poll() is None
        backlog_after = await _backlog(url)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        await fakes.stop()
    errors = _logged_errors(log_path)
    ordered = sorted(tally.latencies) or [0.0]
    return {
        "cases": sum(tally.cases.values()),
        "per_endpoint": dict(tally.cases),
        "seconds": round(seconds, 1),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "5xx": sum(v for k, v in tally.statuses.items() if k >= 500),
        "hangs": tally.hangs,
        "forged_accepted": tally.forged_accepted,
        "latency_ms": {
            "p50": round(1000 * statistics.median(ordered), 1),
            "p99": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 1),
            "max": round(1000 * ordered[-1], 1),
        },
        "errors_logged": len(errors),
        "first_errors": [
            f"{e.get('logger', '')}: {e.get('message', '')}"[:300] for e in errors[:5]
        ],
        "first_5xx": tally.examples_5xx[:5],
        "process_alive": alive,
        "backlog_after_fuzz": backlog,
        "answered_after_s": serving,
        "backlog_at_end": backlog_after,
    }


async def run(cases: int, db: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="preboard_fuzz_") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        async with fresh_database(db) as url:
            await _prepare(url, data_dir)
            result = await _serve_and_fuzz(url, data_dir, cases)
    return {
        "db": db,
        **result,
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.cases, args.db))
    print(json.dumps(result, ensure_ascii=False))
    clean = (
        result["5xx"] == 0
        and result["hangs"] == 0
        and result["forged_accepted"] == 0
        and result["errors_logged"] == 0
        and result["process_alive"]
        and all(v is not None for v in result["answered_after_s"].values())
    )
    return 0 if clean else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
