"""Benchmark of the WeCom webhook under a burst: acknowledgement and processing.

``python -m bench.webhook [--requests 5000] [--concurrency 50] [--candidates 300]
[--db sqlite|postgres] [--seed 7]``; with ``--fuzz [--cases 10000]``, the webhooks are
fuzzed instead (``bench.fuzz``).

The product is started as in production (``run_bot.py run``, its own process, WeCom
configured against a fake WeCom API served by this process on 127.0.0.1) on a fresh
database with ``--candidates`` bound WeCom candidates. ``--requests`` callbacks, each
"进度" from a random candidate, encrypted and signed with wechatpy exactly as WeCom
does (sealed before the clock starts), are posted by ``--concurrency`` concurrent
senders, all at once. Measured:

- ``ack``: requests acknowledged per second, latency p50 / p99 / max (ms), non-200s;
- ``processing``: seconds from the first request until every event is processed (the
  inbox's ``processed_at``), events per second, and the replies the fake API received.

The anchor, in the same run: the same client and the same sealed requests against
``bench._bare_webhook`` (verify, decrypt, insert into SQLite with its own commit,
answer), so ``ack_ratio`` (the product's acknowledgements per second over the
anchor's) means something on a noisy machine. One JSON line; figures in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, update
from sqlmodel import col, select

from bench.pushes import START, fresh_database, seed
from bot.core.settings import Settings
from run_bot import build_app
from storage.db import Database
from storage.models import Identity, InboundEvent
from tests.adapters.fake_wecom import FakeWeCom, WeComCallbacks

CORP_ID = "wwbench0000000001"
SECRET = "bench-secret"
TOKEN = "BenchToken"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
AGENT_ID = 1000002
PROCESS_TIMEOUT = 900.0  # seconds to wait for the backlog to be processed
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _prepare(url: str, data_dir: Path, candidates: int, rng: random.Random) -> list[str]:
    """Migrate, seed bound candidates and make them WeCom users; their user ids."""
    settings = Settings(_env_file=None, database_url=url, data_dir=data_dir)  # type: ignore[call-arg]
    app = build_app(settings)
    try:
        await app.prepare()
        now = START
        await seed(app.db, candidates, now, now.astimezone(settings.timezone).date(), rng)
        async with app.db.session() as session:
            await session.exec(update(Identity).values(platform="wecom"))
            users = (await session.exec(select(Identity.user_id))).all()
    finally:
        await app.close()
    return list(users)


async def _wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def _burst(
    url: str, sealed: Sequence[tuple[dict[str, str], str]], concurrency: int
) -> dict[str, Any]:
    """Post every request, ``concurrency`` at a time; acknowledgement figures."""
    latencies: list[float] = []
    errors = 0
    queue = iter(sealed)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def sender() -> None:
            nonlocal errors
            for params, body in queue:
                t = time.perf_counter()
                try:
                    async with http.post(url, params=params, data=body) as resp:
                        await resp.read()
                        ok = resp.status == 200
                except aiohttp.ClientError:
                    ok = False
                latencies.append(time.perf_counter() - t)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "seconds": round(seconds, 3),
        "per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 1),
        "max_ms": round(1000 * ordered[-1], 1),
        "errors": errors,
        "started": started,
    }


async def _post_all(port: int, senders: Sequence[str], concurrency: int) -> dict[str, Any]:
    """ "进度" from each of ``senders``, sealed as WeCom does before the clock starts, then
    posted to the callback on ``port``; acknowledgement figures (see :func:`_burst`)."""
    target = f"http://127.0.0.1:{port}/wecom/callback"
    callbacks = WeComCallbacks(
        target, token=TOKEN, aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID
    )
    sealed = [callbacks.seal(callbacks.text(user, "进度")) for user in senders]
    return await _burst(target, sealed, concurrency)


async def _processed(db: Database) -> int:
    async with db.session() as session:
        stmt = select(func.count()).select_from(InboundEvent)
        stmt = stmt.where(col(InboundEvent.processed_at).is_not(None))
        return int((await session.exec(stmt)).one())


async def _product(
    url: str, data_dir: Path, users: list[str], args: argparse.Namespace, rng: random.Random
) -> dict[str, Any]:
    fake = FakeWeCom(CORP_ID, SECRET, AGENT_ID)
    await fake.start()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATA_DIR": str(data_dir),
        "HTTP_PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "WECOM_CORP_ID": CORP_ID,
        "WECOM_AGENT_ID": str(AGENT_ID),
        "WECOM_SECRET": SECRET,
        "WECOM_TOKEN": TOKEN,
        "WECOM_AES_KEY": AES_KEY,
        "WECOM_API_BASE_URL": fake.base_url,
    }
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run_bot.py"), "run"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    db = Database(url)
    try:
        await _wait_healthy(port, proc)
        senders = [rng.choice(users) for _ in range(args.requests)]
        ack = await _post_all(port, senders, args.concurrency)
        started = ack.pop("started")
        deadline = time.monotonic() + PROCESS_TIMEOUT
        done = replies = 0
        # Done when every event is processed and its reply has reached the fake API (an
        # event is marked processed before its reply is sent).
        while time.monotonic() < deadline:
            done = await _processed(db)
            replies = sum(1 for r in fake.requests if r.path.endswith("/message/send"))
            if (done >= args.requests and replies >= done) or proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        return {
            "ack": ack,
            "processing": {
                "processed": done,
                "seconds": round(seconds, 3),
                "per_second": round(done / seconds, 1),
                "replies": replies,
            },
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        await db.dispose()
        await fake.stop()


async def _anchor(folder: Path, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench._bare_webhook",
            str(port),
            str(folder / "bare.db"),
            TOKEN,
            AES_KEY,
            CORP_ID,
        ],
        cwd=ROOT,
    )
    try:
        await _wait_healthy(port, proc)
        senders = [f"c{rng.randrange(10**6)}" for _ in range(args.requests)]
        ack = await _post_all(port, senders, args.concurrency)
        ack.pop("started")
        return ack
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="preboard_webhook_") as tmp:
        folder = Path(tmp)
        anchor = await _anchor(folder, args, rng)
        async with fresh_database(args.db) as url:
            data_dir = folder / "data"
            data_dir.mkdir()
            users = await _prepare(url, data_dir, args.candidates, rng)
            product = await _product(url, data_dir, users, args, rng)
    return {
        "db": args.db,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "candidates": args.candidates,
        **product,
        "anchor": anchor,
        "ack_ratio": round(product["ack"]["per_second"] / anchor["per_second"], 3),
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fuzz", action="store_true", help="fuzz every webhook (bench.fuzz)")
    parser.add_argument("--cases", type=int, default=10_000, help="with --fuzz: how many")
    args = parser.parse_args(argv)
    if args.fuzz:
        from bench.fuzz import main as fuzz

        return fuzz(["--cases", str(args.cases), "--db", args.db])
    print(json.dumps(asyncio.run(run(args)), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
