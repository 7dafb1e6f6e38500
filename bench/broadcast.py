"""Benchmark of a confirmed broadcast through Telegram's limits (or WeCom's).

``python -m bench.broadcast [--candidates 10000] [--rtt-ms 150] [--db sqlite|postgres]
[--concurrency 16] [--platform telegram|wecom]``

With ``--platform wecom`` the candidates are WeCom members and a fake WeCom API refuses
(errcode 45009) a send beyond 30 a minute or 1,000 an hour to one member, answering each
call after the round trip; the HR stays on Telegram. WeCom has no overall limit for a
message to each of many members, so the anchor is the round trips with
``--concurrency`` of them at once.

The product is started as in production (``run_bot.py run``, its own process, Telegram
polling a fake Bot API served by this process on 127.0.0.1) on a fresh database with
``--candidates`` bound Telegram candidates, all of one HR. The fake enforces Telegram's
limits as Telegram does, by refusing (429 with ``retry_after``) a send beyond 30 in any
second or beyond 1 a second to one chat, and answers each call after ``--rtt-ms``
(a real round trip). The HR then broadcasts to everyone through the real dialog
(群发 → 全部候选人 → the text → 确认发送). Measured:

- ``planning_s``: from posting the confirmation to the bot's "已发送给 N 人" reaching the
  fake API (the turn that writes N outbox rows, committed before its reply);
- ``seconds``: from the confirmation until the last candidate's message arrived;
- ``ratio``: ``seconds`` over the anchor, the platform's limit (N / 30 s): 1.0 is as
  fast as Telegram allows;
- ``lost`` (candidates without the message), ``duplicated`` (extra copies), ``refused_429``
  (sends the fake refused: the product went over a limit).

One JSON line; figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import update

from bench.pushes import START, fresh_database, seed
from bench.webhook import AES_KEY, AGENT_ID, CORP_ID, ROOT, SECRET, _free_port, _wait_healthy
from bench.webhook import TOKEN as TOKEN_WECOM
from bot.core.settings import Settings
from run_bot import build_app
from storage.models import Candidate, Identity, Role, Staff
from tests.adapters.fake_telegram import SEND_METHODS, TOKEN, Call, FakeTelegram
from tests.adapters.fake_wecom import FakeWeCom

HR_CHAT = 1  # the HR's Telegram user and chat id
FIRST_CHAT = 100_000  # candidates' chat ids start here
OVERALL = 30  # messages in any second, all chats
PER_CHAT_SECONDS = 1.0  # at most one message a second to one chat
TEXT = "周五下午三点线上答疑会，欢迎参加"
TIMEOUT = 3600.0


class LimitedTelegram(FakeTelegram):
    """The fake Bot API with Telegram's limits and a round trip per call."""

    def __init__(self, rtt: float) -> None:
        super().__init__()
        self.rtt = rtt
        self._recent: deque[float] = deque()
        self._last_to: dict[str, float] = {}
        self.refused = 0
        self.arrivals: dict[str, list[float]] = {}
        self.sent_event = asyncio.Event()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        chat = ""
        if method in SEND_METHODS:
            form = await request.post()
            chat = str(form.get("chat_id"))
            now = time.monotonic()
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            last = self._last_to.get(chat)
            if len(self._recent) >= OVERALL or (last is not None and now - last < PER_CHAT_SECONDS):
                self.refused += 1
                await asyncio.sleep(self.rtt)
                return web.json_response(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": "Too Many Requests: retry after 1",
                        "parameters": {"retry_after": 1},
                    },
                    status=429,
                )
            self._recent.append(now)
            self._last_to[chat] = now
        if method != "getUpdates":
            await asyncio.sleep(self.rtt)
        response = await super()._api(request)
        if method in SEND_METHODS and response.status == 200:
            self.arrivals.setdefault(chat, []).append(time.monotonic())
            self.sent_event.set()
        return response


class LimitedWeCom(FakeWeCom):
    """The fake WeCom API with WeCom's limits for one member (30 a minute, 1,000 an hour:
    beyond them errcode 45009) and a round trip per call."""

    def __init__(self, rtt: float) -> None:
        super().__init__(CORP_ID, SECRET, AGENT_ID)
        self.rtt = rtt
        self.limiter_windows = ((30, 60.0), (1000, 3600.0))
        self._sends: dict[str, deque[float]] = {}
        self.refused = 0
        self.arrivals: dict[str, list[float]] = {}
        self.sent_event = asyncio.Event()

    async def message_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        user = str(body.get("touser"))
        now = time.monotonic()
        log = self._sends.setdefault(user, deque())
        while log and log[0] <= now - 3600.0:
            log.popleft()
        recent = sum(1 for t in log if t > now - 60.0)
        await asyncio.sleep(self.rtt)
        if recent >= 30 or len(log) >= 1000:
            self.refused += 1
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        log.append(now)
        response = await super().message_send(request)
        self.arrivals.setdefault(user, []).append(time.monotonic())
        self.sent_event.set()
        return response


async def _prepare(url: str, data_dir: Path, candidates: int, platform: str) -> int:
    """Migrate and seed: every candidate bound on ``platform`` and of one HR (who is on
    Telegram); their number."""
    settings = Settings(_env_file=None, database_url=url, data_dir=data_dir)  # type: ignore[call-arg]
    app = build_app(settings)
    try:
        await app.prepare()
        now = START
        rng = random.Random(7)
        seeded = await seed(app.db, candidates, now, now.astimezone(settings.timezone).date(), rng)
        async with app.db.session() as session:
            hr = Staff(name="王芳", role=Role.HR.value, created_at=now)
            session.add(hr)
            await session.flush()
            await session.exec(update(Candidate).values(hr_id=hr.id))
            for candidate_id in seeded.candidate_ids:
                chat = str(FIRST_CHAT + candidate_id)
                await session.exec(
                    update(Identity)
                    .where(Identity.candidate_id == candidate_id)  # type: ignore[arg-type]
                    .values(platform=platform, user_id=chat, chat_id=chat)
                )
            session.add(
                Identity(
                    platform="telegram",
                    user_id=str(HR_CHAT),
                    chat_id=str(HR_CHAT),
                    display_name="王芳",
                    staff_id=hr.id,
                    language="zh",
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return len(seeded.candidate_ids)
    finally:
        await app.db.dispose()


async def _reply(
    fake: LimitedTelegram, after: int, needle: str, timeout: float = 120, button: str = ""
) -> Call:
    """The first message to the HR, from call ``after`` on, containing ``needle`` (and
    the ``button``); the HR may get other messages meanwhile (digests, alerts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in fake.calls[after:]:
            if (
                call.method in SEND_METHODS
                and call.status == 200
                and call.chat_id == str(HR_CHAT)
                and needle in call.params.get("text", "")
                and (not button or any(label == button for label, _ in call.buttons))
            ):
                return call
        await asyncio.sleep(0.02)
    raise TimeoutError(f"the bot never said {needle!r} to the HR")


def _button(call: Call, label: str) -> str:
    for text, data in call.buttons:
        if text == label:
            return data
    raise LookupError(f"no button {label!r} in {call.buttons}")


async def _dialog(fake: LimitedTelegram) -> tuple[float, float, str]:
    """Drive the HR's broadcast; (time of the confirmation, of the reply, the reply)."""
    mark = len(fake.calls)
    fake.push(fake.message(HR_CHAT, "群发"))
    ask = await _reply(fake, mark, "", button="全部候选人")
    mark = len(fake.calls)
    fake.push(fake.tap(HR_CHAT, ask, _button(ask, "全部候选人")))
    await _reply(fake, mark, "能收到")
    mark = len(fake.calls)
    fake.push(fake.message(HR_CHAT, TEXT))
    preview = await _reply(fake, mark, "即将发给", button="确认发送")
    mark = len(fake.calls)
    confirmed = time.monotonic()
    fake.push(fake.tap(HR_CHAT, preview, _button(preview, "确认发送")))
    done = await _reply(fake, mark, "已发送给", timeout=600)
    return confirmed, done.at, done.params.get("text", "")


async def _product(url: str, data_dir: Path, n: int, args: argparse.Namespace) -> dict[str, Any]:
    rtt = args.rtt_ms / 1000
    fake = LimitedTelegram(rtt if args.platform == "telegram" else 0.0)
    await fake.start()
    wecom = LimitedWeCom(rtt)
    await wecom.start()
    target: LimitedTelegram | LimitedWeCom = fake if args.platform == "telegram" else wecom
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATA_DIR": str(data_dir),
        "HTTP_PORT": str(port),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake.api_base,
        "QUIET_HOURS_START": "0",
        "QUIET_HOURS_END": "0",  # the same hour: no quiet hours, whenever this runs
        "SEND_CONCURRENCY": str(args.concurrency),
    }
    if args.platform == "wecom":
        env |= {
            "WECOM_CORP_ID": CORP_ID,
            "WECOM_AGENT_ID": str(AGENT_ID),
            "WECOM_SECRET": SECRET,
            "WECOM_TOKEN": TOKEN_WECOM,
            "WECOM_AES_KEY": AES_KEY,
            "WECOM_API_BASE_URL": wecom.base_url,
        }
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run_bot.py"), "run"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        await _wait_healthy(port, proc)
        confirmed, replied, reply = await _dialog(fake)
        match = re.search(r"已发送给 (\d+) 人", reply)
        if match is None or int(match.group(1)) != n:
            raise RuntimeError(f"expected a broadcast to all {n}, the bot said {reply!r}")
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            got = sum(1 for chat in target.arrivals if int(chat) >= FIRST_CHAT)
            if got >= n:
                break
            target.sent_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(target.sent_event.wait(), 1.0)
        await asyncio.sleep(2 * rtt + 0.5)  # late duplicates, if any
        arrivals = {c: t for c, t in target.arrivals.items() if int(c) >= FIRST_CHAT}
        copies = Counter({c: len(t) for c, t in arrivals.items()})
        last = max((max(t) for t in arrivals.values()), default=0)
        seconds = last - confirmed
        # Telegram: its overall limit. WeCom limits only each member (one message each
        # here), so the bound is the sends in flight: n round trips, concurrency at once.
        anchor = n / OVERALL if args.platform == "telegram" else n * rtt / args.concurrency
        return {
            "reply": reply.split("\n")[0],
            "planning_s": round(replied - confirmed, 3),
            "seconds": round(seconds, 2),
            "anchor_s": round(anchor, 2),
            "ratio": round(seconds / anchor, 3),
            "per_second": round(len(copies) / seconds, 1) if seconds > 0 else None,
            "lost": n - len(copies),
            "duplicated": sum(v - 1 for v in copies.values()),
            "refused": target.refused,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        await fake.close()
        await wecom.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="preboard_broadcast_") as tmp:
        data_dir = Path(tmp)
        async with fresh_database(args.db) as url:
            n = await _prepare(url, data_dir, args.candidates, args.platform)
            product = await _product(url, data_dir, n, args)
    return {
        "db": args.db,
        "candidates": n,
        "rtt_ms": args.rtt_ms,
        "concurrency": args.concurrency,
        "platform": args.platform,
        "limit": (
            f"{OVERALL}/s overall, 1/s per chat"
            if args.platform == "telegram"
            else "30/min and 1,000/h per member (anchor: round trips, concurrency at once)"
        ),
        **product,
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--rtt-ms", type=float, default=150.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--platform", choices=("telegram", "wecom"), default="telegram")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args)), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
