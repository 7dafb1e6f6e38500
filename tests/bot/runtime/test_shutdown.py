"""SIGTERM on ``run_bot.py run``: no new work, the work in flight finished, the outbox
consistent, exit code 0 (a real process, WeCom callbacks against a fake WeCom)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select

from storage import migrate
from storage.db import Database
from storage.models import Candidate, Identity, InboundEvent, Outbox, OutboxStatus
from tests.adapters.fake_wecom import FakeWeCom, WeComCallbacks

ROOT = Path(__file__).resolve().parents[3]
CORP_ID = "wwshutdown000001"
SECRET = "shutdown-secret"
TOKEN = "ShutdownToken"
AES_KEY = base64.b64encode(bytes(range(2, 34))).decode().rstrip("=")
AGENT_ID = 1000002
USERS = [f"u{n:02d}" for n in range(12)]


class PacedWeCom(FakeWeCom):
    """Takes each message/send at once and answers after the next of ``delays`` (then
    ``delay``): a slow platform keeps sends in flight."""

    def __init__(self, *, delays: list[float], delay: float) -> None:
        super().__init__(CORP_ID, SECRET, AGENT_ID)
        self.delays = delays
        self.delay = delay

    async def message_send(self, request: web.Request) -> web.Response:
        response = await super().message_send(request)
        await asyncio.sleep(self.delays.pop(0) if self.delays else self.delay)
        return response


@dataclass
class Bot:
    proc: asyncio.subprocess.Process
    port: int
    log: Path
    db: Database

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _seed(url: str) -> None:
    engine = create_async_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    db = Database(url)
    now = datetime.now(UTC)
    async with db.session() as session:
        for n, user in enumerate(USERS):
            candidate = Candidate(
                name=f"候选人{n}",
                phone=f"+86139000000{n:02d}",
                bound_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(candidate)
            await session.flush()
            session.add(
                Identity(
                    platform="wecom",
                    user_id=user,
                    chat_id=user,
                    candidate_id=candidate.id,
                    created_at=now,
                    last_seen_at=now,
                )
            )
    await db.dispose()


Start = Callable[..., Awaitable[Bot]]


@pytest.fixture
async def bot_factory(tmp_path: Path) -> AsyncIterator[Start]:
    started: list[Bot] = []

    async def start(fake: FakeWeCom, **env: str) -> Bot:
        url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        await _seed(url)
        port = _free_port()
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "WECOM_", "FEISHU_"))
        }
        environ.update(
            DATABASE_URL=url,
            DATA_DIR=str(tmp_path / "data"),
            HTTP_HOST="127.0.0.1",
            HTTP_PORT=str(port),
            WECOM_CORP_ID=CORP_ID,
            WECOM_AGENT_ID=str(AGENT_ID),
            WECOM_SECRET=SECRET,
            WECOM_TOKEN=TOKEN,
            WECOM_AES_KEY=AES_KEY,
            WECOM_API_BASE_URL=fake.base_url,
            INBOX_WORKERS="1",
            **env,
        )
        log = tmp_path / "bot.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "run_bot.py"),
                "run",
                cwd=tmp_path,
                env=environ,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        bot = Bot(proc, port, log, Database(url))
        started.append(bot)
        deadline = time.monotonic() + 30
        while "HTTP server on" not in bot.text() or "scheduler started" not in bot.text():
            assert proc.returncode is None and time.monotonic() < deadline, bot.text()
            await asyncio.sleep(0.05)
        return bot

    yield start
    for bot in started:
        if bot.proc.returncode is None:
            bot.proc.kill()
            await bot.proc.wait()
        await bot.db.dispose()


async def _post(
    http: aiohttp.ClientSession, callbacks: WeComCallbacks, user: str
) -> tuple[int, str, str | None]:
    """One "进度" from ``user``: (status, its MsgId, Retry-After)."""
    msg_id = callbacks.next_msg_id()
    params, body = callbacks.seal(callbacks.text(user, "进度", msg_id=msg_id))
    try:
        async with http.post(callbacks.url, params=params, data=body) as resp:
            await resp.read()
            return resp.status, msg_id, resp.headers.get("Retry-After")
    except aiohttp.ClientConnectionError:
        return 0, msg_id, None  # the listener is gone: not acknowledged either


async def _rows(db: Database) -> tuple[dict[str, InboundEvent], list[Outbox]]:
    async with db.session() as session:
        events = {e.event_id: e for e in (await session.exec(select(InboundEvent))).all()}
        rows = list((await session.exec(select(Outbox))).all())
    return events, rows


async def test_sigterm_finishes_deliveries_in_flight_and_refuses_new_ones(
    bot_factory: Start,
) -> None:
    fake = PacedWeCom(delays=[], delay=0.3)
    await fake.start()
    try:
        bot: Bot = await bot_factory(fake)
        callbacks = WeComCallbacks(
            f"http://127.0.0.1:{bot.port}/wecom/callback",
            token=TOKEN,
            aes_key=AES_KEY,
            corp_id=CORP_ID,
            agent_id=AGENT_ID,
        )
        async with aiohttp.ClientSession() as http:
            before = [await _post(http, callbacks, user) for user in USERS[:6]]
            assert [s for s, _, _ in before] == [200] * 6
            # One worker, 0.3 s a reply: most of them are still queued at the signal.
            assert len(fake.sent()) < 6
            bot.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)  # the signal is handled at once
            after = [await _post(http, callbacks, user) for user in USERS[6:9]]
        rc = await asyncio.wait_for(bot.proc.wait(), 30)
        assert rc == 0, bot.text()[-3000:]
        # Every acknowledged delivery was processed and its reply sent before the exit.
        events, rows = await _rows(bot.db)
        for _, msg_id, _ in before:
            assert events[msg_id].processed_at is not None
        assert sorted(b["touser"] for b in fake.sent()) == USERS[:6]
        assert {r.status for r in rows} == {OutboxStatus.SENT.value}
        # After the signal nothing is acknowledged: 503 with Retry-After, and not stored.
        for status, msg_id, retry_after in after:
            assert status in (503, 0) and msg_id not in events
            assert status == 0 or retry_after is not None
        assert any(status == 503 for status, _, _ in after)
        assert "shutting down" in bot.text()
    finally:
        await fake.stop()


async def test_sigterm_cuts_off_what_outlasts_the_grace_period(bot_factory: Start) -> None:
    """The first reply is answered at once, the second takes 3 s against a 1 s grace: it
    is cut off and keeps its lease; the sent one is marked sent; the rest wait in the
    inbox for another process; the exit is prompt and clean."""
    fake = PacedWeCom(delays=[0.05], delay=3.0)
    await fake.start()
    try:
        bot: Bot = await bot_factory(fake, SHUTDOWN_GRACE_SECONDS="1")
        callbacks = WeComCallbacks(
            f"http://127.0.0.1:{bot.port}/wecom/callback",
            token=TOKEN,
            aes_key=AES_KEY,
            corp_id=CORP_ID,
            agent_id=AGENT_ID,
        )
        async with aiohttp.ClientSession() as http:
            acked = [await _post(http, callbacks, user) for user in USERS[:4]]
        assert [s for s, _, _ in acked] == [200] * 4
        deadline = time.monotonic() + 10
        while len(fake.calls("message/send")) < 2:  # the second reply is on its way
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        signalled = time.monotonic()
        bot.proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(bot.proc.wait(), 30)
        took = time.monotonic() - signalled
        assert rc == 0, bot.text()[-3000:]
        # The grace period, then the cut-off send's thread finishing its HTTP call.
        assert took < 1 + 3 + 2, took
        assert "cut off" in bot.text()
        events, rows = await _rows(bot.db)
        by_user = {}
        async with bot.db.session() as session:
            identities = {i.id: i.user_id for i in (await session.exec(select(Identity))).all()}
        for row in rows:
            by_user[identities[row.identity_id]] = row
        assert by_user[USERS[0]].status == OutboxStatus.SENT.value
        assert by_user[USERS[1]].status == OutboxStatus.SENDING.value
        assert by_user[USERS[1]].lease_until is not None
        assert set(by_user) == set(USERS[:2])  # no other reply was written
        processed = [
            u for u, (_, m, _) in zip(USERS, acked, strict=False) if events[m].processed_at
        ]
        assert processed == USERS[:2]
        for _, msg_id, _ in acked[2:]:  # stored, unprocessed, still carrying the delivery
            assert events[msg_id].processed_at is None and events[msg_id].payload is not None
    finally:
        await fake.stop()


# ---- the gate and the deadline, in-process --------------------------------------------


async def test_gate_refuses_once_closed_and_waits_for_requests_inside() -> None:
    from bot.core.channel import Route
    from bot.runtime.shutdown import Deadline, Gate

    release = asyncio.Event()
    stored: list[str] = []

    async def handler(request: str) -> web.Response:
        await release.wait()
        stored.append(request)
        return web.Response(text="ok")

    gate = Gate(retry_after=5)
    (route,) = gate.guard([Route("POST", "/hook", handler)])
    inside: asyncio.Future[web.Response] = asyncio.ensure_future(route.handler("first"))
    await asyncio.sleep(0)
    gate.close()
    refused = await route.handler("second")
    assert refused.status == 503 and refused.headers["Retry-After"] == "5"
    assert not await gate.drained(0.05)  # the first is still storing
    release.set()
    assert await gate.drained(1) and (await inside).status == 200
    assert stored == ["first"] and gate.refused == 1

    deadline = Deadline(0.2)
    assert await deadline.within(asyncio.sleep(0))
    started = time.monotonic()
    never = asyncio.Event()
    assert not await deadline.within(never.wait())  # cut off at the deadline
    assert time.monotonic() - started < 1 and deadline.left() == 0
