"""Benchmark of inbound processing, end to end: from the platform's callback to the reply.

``python -m bench.inbound [--rate 100] [--seconds 20] [--burst 3000] [--candidates 300]
[--processes 1] [--db sqlite|postgres]``

The product is started as in production (``run_bot.py run``, ``--processes`` of them on
one database, WeCom configured against a fake WeCom API served by this process), with
``--candidates`` bound WeCom candidates. Two phases, each "进度" from the candidates in
turn, encrypted and signed as WeCom does (sealed before the clock starts), spread over
the processes:

- ``paced``: ``--rate`` messages a second for ``--seconds``; for each message the time
  from posting it to its reply reaching the fake API (``e2e`` p50 / p99 / max, ms);
- ``burst``: ``--burst`` messages posted 50 at a time; messages per second from the
  first post until every reply arrived (the process's processing capacity).

The anchor is the rate asked for (``paced.achieved`` should match it). One JSON line;
figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from bench.pushes import fresh_database
from bench.webhook import (
    AES_KEY,
    AGENT_ID,
    CORP_ID,
    ROOT,
    SECRET,
    TOKEN,
    _burst,
    _free_port,
    _prepare,
    _wait_healthy,
)
from tests.adapters.fake_wecom import FakeWeCom, WeComCallbacks

TIMEOUT = 600.0


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def _callbacks() -> WeComCallbacks:
    """One sealer for the whole run: its message ids never repeat (a repeated id is a
    redelivery, answered once)."""
    return WeComCallbacks("", token=TOKEN, aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID)


def _replies(fake: FakeWeCom, since: int) -> dict[str, list[float]]:
    """Arrival times of the replies to each user, from request ``since`` on."""
    out: dict[str, list[float]] = defaultdict(list)
    for rec in fake.requests[since:]:
        if rec.path.endswith("/message/send") and isinstance(rec.body, dict):
            out[str(rec.body.get("touser"))].append(rec.at)
    return out


async def _wait_replies(fake: FakeWeCom, since: int, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if sum(len(v) for v in _replies(fake, since).values()) >= count:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"not every reply arrived within {TIMEOUT:.0f} s")


async def _paced(
    fake: FakeWeCom,
    callbacks: WeComCallbacks,
    ports: list[int],
    users: list[str],
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    total = int(rate * seconds)
    senders = [users[i % len(users)] for i in range(total)]
    sealed = []
    for i, user in enumerate(senders):
        target = f"http://127.0.0.1:{ports[i % len(ports)]}/wecom/callback"
        sealed.append((target, *callbacks.seal(callbacks.text(user, "进度"))))
    posted: dict[str, list[float]] = defaultdict(list)
    acks: list[float] = []
    errors = 0
    since = len(fake.requests)
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def post(user: str, target: str, params: dict[str, str], body: str) -> None:
            nonlocal errors
            t = time.monotonic()
            posted[user].append(t)
            try:
                async with http.post(target, params=params, data=body) as resp:
                    await resp.read()
                    errors += resp.status != 200
            except aiohttp.ClientError:
                errors += 1
            acks.append(time.monotonic() - t)

        start = time.monotonic()
        tasks = []
        for i, (user, (target, params, body)) in enumerate(zip(senders, sealed, strict=True)):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(user, target, params, body)))
        await asyncio.gather(*tasks)
        sent_seconds = time.monotonic() - start
    await _wait_replies(fake, since, total)
    replies = _replies(fake, since)
    e2e = [
        reply - post_at
        for user, times in posted.items()
        for post_at, reply in zip(sorted(times), sorted(replies[user]), strict=False)
    ]
    return {
        "rate": rate,
        "messages": total,
        "achieved": round(total / sent_seconds, 1),
        "errors": errors,
        "ack": _percentiles(acks),
        "e2e": _percentiles(e2e),
    }


async def _burst_phase(
    fake: FakeWeCom,
    callbacks: WeComCallbacks,
    ports: list[int],
    users: list[str],
    count: int,
    rng: random.Random,
) -> dict[str, Any]:
    since = len(fake.requests)
    per_port: dict[int, list[tuple[dict[str, str], str]]] = defaultdict(list)
    for i in range(count):
        port = ports[i % len(ports)]
        per_port[port].append(callbacks.seal(callbacks.text(rng.choice(users), "进度")))
    started = time.monotonic()
    acks = await asyncio.gather(
        *(
            _burst(f"http://127.0.0.1:{port}/wecom/callback", sealed, 50 // len(ports) or 1)
            for port, sealed in per_port.items()
        )
    )
    await _wait_replies(fake, since, count)
    seconds = time.monotonic() - started
    return {
        "messages": count,
        "seconds": round(seconds, 2),
        "per_second": round(count / seconds, 1),
        "ack_errors": sum(a["errors"] for a in acks),
    }


async def _product(
    url: str, data_dir: Path, users: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    fake = FakeWeCom(CORP_ID, SECRET, AGENT_ID)
    await fake.start()
    procs: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    logs = []
    try:
        for n in range(args.processes):
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
            log = (data_dir / f"server{n}.log").open("wb")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(ROOT / "run_bot.py"), "run"],
                    env=env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            ports.append(port)
        for port, proc in zip(ports, procs, strict=True):
            await _wait_healthy(port, proc)
        rng = random.Random(args.seed)
        callbacks = _callbacks()
        paced = await _paced(fake, callbacks, ports, users, args.rate, args.seconds)
        burst = await _burst_phase(fake, callbacks, ports, users, args.burst, rng)
        return {"paced": paced, "burst": burst}
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
        await fake.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="preboard_inbound_") as tmp:
        data_dir = Path(tmp)
        async with fresh_database(args.db) as url:
            users = await _prepare(url, data_dir, args.candidates, rng)
            product = await _product(url, data_dir, users, args)
    return {
        "db": args.db,
        "processes": args.processes,
        "candidates": args.candidates,
        **product,
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args)), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
