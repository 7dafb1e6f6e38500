"""Three ``run_bot.py run`` processes on one PostgreSQL database (issue 13).

200 bound candidates (half on WeCom, half on Telegram) go through the offer dialog
(accept; more time until a date; decline, confirm, reason, note), one step at a
time as a person would, each event delivered to two different processes (a retry
landing behind another upstream of the proxy). Before they start, their HR confirms
a ``/broadcast`` to all of them; the leader's tick drains it, and the leader is
killed with SIGKILL while it does. Checked:

- every event had exactly one effect: one stored delivery, one interaction, one reply
  row, and one reply at the platform, except sends that were in flight at the kill;
- every dialog ended in the right state (the candidate's offer status, date, reason);
- another process took over as leader within ``LEADER_LEASE_SECONDS`` of the kill;
- every candidate got the broadcast, and the only duplicates are sends in flight at
  the kill, at most the killed process's sender concurrency plus its inbox workers.

It waits for the killed leader's send leases (60 s) to run out, so it takes about two
minutes: it runs only when ``CI=true`` (and needs PostgreSQL).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func
from sqlmodel import col, select

from storage import outbox
from storage.db import Database
from storage.models import (
    Candidate,
    InboundEvent,
    Interaction,
    Outbox,
    OutboxStatus,
    Staff,
)
from storage.models import Identity as IdentityRow
from tests.adapters.fake_telegram import TOKEN, FakeTelegram
from tests.adapters.fake_wecom import FakeWeCom, WeComCallbacks
from tests.conftest import _create_pg_database, _drop_pg_database

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("CI") != "true", reason="about two minutes: runs when CI=true"
    ),
    pytest.mark.timeout(420),
]

ROOT = Path(__file__).resolve().parents[3]
CORP_ID = "wwmulti000000001"
SECRET = "multi-secret"
WECOM_TOKEN = "MultiToken"
AES_KEY = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")
AGENT_ID = 1000002
TG_SECRET = "multi-process-secret"
LEASE = 4  # LEADER_LEASE_SECONDS
SEND_CONCURRENCY = 4
INBOX_WORKERS = 4
PROCESSES = 3
CANDIDATES = 200
HR_CHAT = 5_000_001
MARK = "多进程群发 #13"
SEND_LEASE = outbox.SEND_LEASE.total_seconds()  # how long a claimed row stays 'sending'

# The offer dialog's three endings: the events a candidate sends, and where it ends.
ACCEPT = ("/offer", "1")
LATER = ("/offer", "2", "2027-01-15")
DECLINE = ("/offer", "3", "1", "3", "离家太远")
PATHS = (ACCEPT, LATER, DECLINE)
EXPECTED = {
    ACCEPT: ("accepted", None, None, None),
    LATER: ("delayed", date(2027, 1, 15), None, None),
    DECLINE: ("declined", None, "location", "离家太远"),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


class SlowWeCom(FakeWeCom):
    """WeCom taking each message/send at once but answering after a round trip: a sender
    killed in between has had its message delivered without learning so."""

    async def message_send(self, request: web.Request) -> web.Response:
        response = await super().message_send(request)
        await asyncio.sleep(0.1)
        return response


@dataclass
class BotProcess:
    """One ``run_bot.py run`` and its log file."""

    name: str
    port: int
    log: Path
    proc: asyncio.subprocess.Process | None = None
    killed_at: float | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and self.killed_at is None

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines() if self.log.exists() else []

    @property
    def leading(self) -> bool:
        """Whether its last leader transition was an election."""
        state = False
        for line in self.lines():
            if "is now the leader" in line:
                state = True
            elif "stepped down as leader" in line:
                state = False
        return state

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Person:
    """A candidate's chat account and the events still to send."""

    platform: str
    user: str  # WeCom user id, or the Telegram chat id as text
    steps: tuple[str, ...]
    candidate_id: int = 0
    sent: int = 0  # events delivered so far


@dataclass
class Cluster:
    url: str
    tmp: Path
    wecom: SlowWeCom
    telegram: FakeTelegram
    bots: list[BotProcess] = field(default_factory=list)
    callbacks: WeComCallbacks | None = None
    two_deliveries: int = 0  # events that two processes acknowledged
    http: aiohttp.ClientSession | None = None

    def env(self, bot: BotProcess) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "WECOM_", "FEISHU_"))
        }
        first = self.bots[0]
        env.update(
            DATABASE_URL=self.url,
            DATA_DIR=str(self.tmp / bot.name),
            HTTP_HOST="127.0.0.1",
            HTTP_PORT=str(bot.port),
            PUBLIC_BASE_URL=bot.webhook,
            LOG_LEVEL="INFO",
            LEADER_LEASE_SECONDS=str(LEASE),
            SCHEDULER_TICK_SECONDS="1",
            SEND_CONCURRENCY=str(SEND_CONCURRENCY),
            INBOX_WORKERS=str(INBOX_WORKERS),
            QUIET_HOURS_START="0",  # never quiet: the test runs at any hour
            QUIET_HOURS_END="0",
            PUSH_WEEKLY_CAP="0",
            DEFAULT_TIMEZONE="UTC",
            WECOM_CORP_ID=CORP_ID,
            WECOM_AGENT_ID=str(AGENT_ID),
            WECOM_SECRET=SECRET,
            WECOM_TOKEN=WECOM_TOKEN,
            WECOM_AES_KEY=AES_KEY,
            WECOM_API_BASE_URL=self.wecom.base_url,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=self.telegram.api_base,
            # Behind one proxy every process registers the same public URL.
            TELEGRAM_WEBHOOK_URL=f"{first.webhook}/telegram/webhook",
            TELEGRAM_WEBHOOK_SECRET=TG_SECRET,
        )
        return env

    async def start(self, bot: BotProcess) -> None:
        (self.tmp / bot.name).mkdir(exist_ok=True)
        out = bot.log.open("wb")
        bot.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "run_bot.py"),
            "run",
            cwd=self.tmp,  # no stray .env
            env=self.env(bot),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
        out.close()

    def live(self) -> list[BotProcess]:
        return [b for b in self.bots if b.alive]

    def leaders(self) -> list[BotProcess]:
        return [b for b in self.live() if b.leading]

    # ---- delivering events -------------------------------------------------------------

    def _request(
        self, person: Person, text: str
    ) -> Callable[[BotProcess], Awaitable[tuple[int, str]]]:
        """A function posting this one event (sealed once) to a process; its HTTP status."""
        assert self.http is not None
        http = self.http
        if person.platform == "wecom":
            assert self.callbacks is not None
            params, body = self.callbacks.seal(self.callbacks.text(person.user, text))

            async def post_wecom(bot: BotProcess) -> tuple[int, str]:
                url = f"{bot.webhook}/wecom/callback"
                async with http.post(url, params=params, data=body) as resp:
                    return resp.status, await resp.text()

            return post_wecom
        update = json.dumps(self.telegram.message(int(person.user), text)).encode()
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}

        async def post_telegram(bot: BotProcess) -> tuple[int, str]:
            url = f"{bot.webhook}/telegram/webhook"
            async with http.post(url, data=update, headers=headers) as resp:
                return resp.status, await resp.text()

        return post_telegram

    async def deliver(self, person: Person, text: str, turn: int) -> None:
        """Deliver one event to two different live processes at once, as a platform that
        retries behind a load balancer would; a process that is gone is replaced."""
        post = self._request(person, text)
        acked = 0
        tried: set[str] = set()
        start = (person.candidate_id + turn) % PROCESSES
        order = self.bots[start:] + self.bots[:start]
        while acked < 2:
            targets = [b for b in order if b.alive and b.name not in tried][: 2 - acked]
            if not targets:
                break
            tried.update(b.name for b in targets)
            results = await asyncio.gather(*(post(b) for b in targets), return_exceptions=True)
            for bot, result in zip(targets, results, strict=True):
                if isinstance(result, tuple):
                    assert result[0] == 200, f"{bot.name} answered {result} at {time.monotonic()}"
                    acked += 1
        assert acked >= 1, "no process acknowledged an event"
        self.two_deliveries += acked == 2

    # ---- what the platforms received ---------------------------------------------------

    def received(self, person: Person) -> list[tuple[str, float]]:
        """(text, arrival time) of every message the platform accepted for this person."""
        if person.platform == "wecom":
            calls = [
                r
                for r in self.wecom.calls("message/send")
                if r.body.get("_accepted") and r.body.get("touser") == person.user
            ]
            return [(_wecom_text(r.body), r.at) for r in calls]
        return [(c.params.get("text", ""), c.at) for c in self.telegram.sent(int(person.user))]

    def replies(self, person: Person) -> int:
        return len({t for t, _ in self.received(person) if MARK not in t})

    def broadcasts(self, person: Person) -> list[float]:
        return [at for t, at in self.received(person) if MARK in t]


def _wecom_text(body: dict[str, Any]) -> str:
    kind = body["msgtype"]
    if kind in ("text", "markdown"):
        return str(body[kind]["content"])
    card = body.get("template_card", {})
    return "\n".join(
        x
        for x in (card.get("main_title", {}).get("title", ""), card.get("sub_title_text", ""))
        if x
    )


# ---- the database ------------------------------------------------------------------------


async def _seed(db: Database, people: list[Person]) -> None:
    now = datetime.now(UTC)
    async with db.session() as session:
        hr = Staff(name="王芳", role="hr", created_at=now)
        session.add(hr)
        await session.flush()
        session.add(
            IdentityRow(
                platform="telegram",
                user_id=str(HR_CHAT),
                chat_id=str(HR_CHAT),
                display_name="王芳",
                staff_id=hr.id,
                created_at=now,
                last_seen_at=now,
            )
        )
        for n, person in enumerate(people):
            candidate = Candidate(
                name=f"候选人{n:03d}",
                phone=f"+8613800{n:06d}",
                hr_id=hr.id,
                language="zh",
                bound_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(candidate)
            await session.flush()
            assert candidate.id is not None
            person.candidate_id = candidate.id
            session.add(
                IdentityRow(
                    platform=person.platform,
                    user_id=person.user,
                    chat_id=person.user,
                    display_name=candidate.name,
                    candidate_id=candidate.id,
                    language="zh",
                    created_at=now,
                    last_seen_at=now,
                )
            )


async def _count_by_identity(db: Database, model: Any, *where: Any) -> Counter[int]:
    async with db.session() as session:
        stmt = select(model.identity_id, func.count()).where(*where).group_by(model.identity_id)
        return Counter({int(i): int(n) for i, n in (await session.exec(stmt)).all() if i})


async def _stranded(db: Database, killed: datetime) -> set[int]:
    """Candidates whose rows were being sent when the process died: still 'sending' with a
    lease taken before the kill."""
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Outbox).where(
                    col(Outbox.status) == OutboxStatus.SENDING.value,
                    col(Outbox.lease_until) <= killed + outbox.SEND_LEASE,
                )
            )
        ).all()
        identities = {r.id: r.candidate_id for r in (await session.exec(select(IdentityRow)))}
    return {
        int(c)
        for c in (r.candidate_id or identities.get(r.identity_id or 0) for r in rows)
        if c is not None
    }


async def _unfinished_rows(db: Database) -> int:
    async with db.session() as session:
        stmt = select(func.count()).select_from(Outbox)
        stmt = stmt.where(
            col(Outbox.status).in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value])
        )
        return int((await session.exec(stmt)).one())


# ---- the test ----------------------------------------------------------------------------


def _people() -> list[Person]:
    """Half on WeCom, half on Telegram; a third of each of the dialog's endings."""
    people = []
    for n in range(CANDIDATES):
        platform = "wecom" if n % 2 == 0 else "telegram"
        user = f"wx{n:04d}" if platform == "wecom" else str(7_000_000 + n)
        people.append(Person(platform, user, PATHS[n % 3]))
    return people


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    """A database of its own, created and migrated for this test and dropped after it
    (``postgres_url`` is shared by the session; it only decides skip or fail)."""
    url = asyncio.run(_create_pg_database())
    yield url
    asyncio.run(_drop_pg_database(url))


def test_three_processes_one_database_leader_killed_mid_broadcast(
    fresh_postgres: str, tmp_path: Path
) -> None:
    asyncio.run(_scenario(fresh_postgres, tmp_path))


async def _scenario(url: str, tmp_path: Path) -> None:
    db = Database(url)
    wecom = SlowWeCom(CORP_ID, SECRET, AGENT_ID)
    telegram = FakeTelegram()
    await wecom.start()
    await telegram.start()
    cluster = Cluster(url, tmp_path, wecom, telegram)
    cluster.bots = [
        BotProcess(f"p{n}", _free_port(), tmp_path / f"p{n}.log") for n in range(PROCESSES)
    ]
    cluster.http = aiohttp.ClientSession()
    try:
        people = _people()
        await _seed(db, people)
        await _run(cluster, db, people)
    except BaseException:
        for bot in cluster.bots:  # what each process said last, for the failure report
            print(f"---- {bot.name} (killed: {bot.killed_at})", *bot.lines()[-40:], sep="\n")
        raise
    finally:
        for bot in cluster.bots:
            if bot.proc is not None and bot.proc.returncode is None:
                bot.proc.kill()
                await bot.proc.wait()
        await cluster.http.close()
        await db.dispose()
        await wecom.stop()
        await telegram.close()


async def _run(cluster: Cluster, db: Database, people: list[Person]) -> None:
    telegram = cluster.telegram
    for bot in cluster.bots:
        await cluster.start(bot)
    cluster.callbacks = WeComCallbacks(
        "", token=WECOM_TOKEN, aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID
    )
    await until(
        lambda: all(any("HTTP server on" in x for x in b.lines()) for b in cluster.bots),
        60,
        "three processes serving",
    )
    await until(lambda: len(cluster.leaders()) == 1, 4 * LEASE, "a leader")
    leader = cluster.leaders()[0]

    # The HR prepares a broadcast to everyone and confirms it (each step to two processes).
    hr = Person("telegram", str(HR_CHAT), ())
    for turn, text in enumerate(("/broadcast", "1", MARK)):
        await cluster.deliver(hr, text, turn)
        await until(functools.partial(_has_replies, telegram, turn + 1), 30, f"HR reply {turn}")
    await cluster.deliver(hr, "1", 3)
    await until(
        lambda: any("已发送给 200 人" in t for t in telegram.texts(HR_CHAT)),
        30,
        "the broadcast's confirmation",
    )

    # The candidates' dialogs, one step at a time each, all of them at once; the leader
    # is killed once the broadcast is under way.
    async def converse(person: Person) -> None:
        for turn, text in enumerate(person.steps):
            await cluster.deliver(person, text, turn)
            person.sent += 1
            await until(
                lambda: cluster.replies(person) >= person.sent,
                SEND_LEASE + 90,  # an event stranded in the killed process waits for recovery
                f"{person.user}'s reply to {text!r}",
            )

    dialogs = asyncio.gather(*(converse(p) for p in people))

    def total() -> int:
        return sum(len(cluster.broadcasts(p)) for p in people)

    try:
        await until(lambda: total() >= CANDIDATES // 5, 60, "the broadcast under way")
        assert total() < CANDIDATES, "the broadcast was done before the kill; make it slower"
        assert leader.proc is not None
        leader.proc.send_signal(signal.SIGKILL)
        killed_at = leader.killed_at = time.monotonic()
        killed_wall = datetime.now(UTC)
        sent_at_kill = total()
        await until(lambda: bool(cluster.leaders()), 2 * LEASE, "a new leader")
        takeover = time.monotonic() - killed_at
        stranded = await _stranded(db, killed_wall)
        await dialogs
    except BaseException:
        dialogs.cancel()
        with contextlib.suppress(BaseException):
            await dialogs
        raise
    await leader.proc.wait()

    # Rows the killed leader had claimed wait for their lease (60 s), then go out.
    deadline = time.monotonic() + SEND_LEASE + 90
    while await _unfinished_rows(db) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert await _unfinished_rows(db) == 0, "outbox rows left pending or sending"

    # Survivors stop cleanly.
    for bot in cluster.live():
        assert bot.proc is not None
        bot.proc.send_signal(signal.SIGTERM)
    for bot in cluster.live():
        assert bot.proc is not None
        assert await asyncio.wait_for(bot.proc.wait(), 30) == 0, "\n".join(bot.lines()[-30:])

    # ---- checks ----------------------------------------------------------------------
    assert takeover < LEASE, f"new leader after {takeover:.2f}s (lease {LEASE}s)"
    assert cluster.two_deliveries > 0.9 * sum(len(p.steps) for p in people)
    identities = await _identities(db)
    events_sent = {identities[(p.platform, p.user)]: len(p.steps) for p in people}
    interactions = await _count_by_identity(db, Interaction)
    replies = await _count_by_identity(db, Outbox, col(Outbox.kind) == "reply")
    for identity_id, sent in events_sent.items():
        assert interactions[identity_id] == sent, f"identity {identity_id}: interactions"
        assert replies[identity_id] == sent, f"identity {identity_id}: reply rows"
    async with db.session() as session:
        stored = int((await session.exec(select(func.count()).select_from(InboundEvent))).one())
        unprocessed = (
            await session.exec(
                select(func.count())
                .select_from(InboundEvent)
                .where(col(InboundEvent.processed_at).is_(None))
            )
        ).one()
    assert stored == sum(events_sent.values()) + 4 and unprocessed == 0

    # Every dialog ended where its person steered it.
    async with db.session() as session:
        rows = {c.id: c for c in (await session.exec(select(Candidate))).all()}
    for person in people:
        c = rows[person.candidate_id]
        got = (c.offer_status, c.offer_delay_until, c.offer_decline_reason, c.offer_decline_note)
        assert got == EXPECTED[person.steps], f"{c.name} ended as {got}"

    # Messages at the platforms: each reply once, the broadcast to everyone once, except
    # sends in flight when the leader died (their first copy reached the platform before the
    # kill, the second after the lease ran out).
    duplicates: list[tuple[int, str, list[float]]] = []
    for person in people:
        arrivals: dict[str, list[float]] = {}
        for text, at in cluster.received(person):
            arrivals.setdefault(text, []).append(at)
        assert cluster.replies(person) == len(person.steps), person.user
        assert len(cluster.broadcasts(person)) >= 1, f"{person.user} missed the broadcast"
        duplicates += [
            (person.candidate_id, text, ats) for text, ats in arrivals.items() if len(ats) > 1
        ]
    for candidate_id, text, ats in duplicates:
        assert candidate_id in stranded, (candidate_id, text, "not in flight at the kill")
        # The first copy left before the kill (the platform may read it a moment later).
        assert len(ats) == 2 and ats[0] < killed_at + 0.5 < ats[1], (text, ats, killed_at)
    assert len(stranded) <= SEND_CONCURRENCY + INBOX_WORKERS, stranded
    print(
        json.dumps(
            {
                "takeover_s": round(takeover, 2),
                "broadcast_sent_at_kill": sent_at_kill,
                "in_flight_at_kill": len(stranded),
                "duplicates": len(duplicates),
                "events": sum(events_sent.values()),
                "delivered_twice": cluster.two_deliveries,
            }
        )
    )


def _has_replies(telegram: FakeTelegram, count: int) -> bool:
    return len(telegram.sent(HR_CHAT)) >= count


async def _identities(db: Database) -> dict[tuple[str, str], int]:
    async with db.session() as session:
        rows = (await session.exec(select(IdentityRow))).all()
    return {(r.platform, r.user_id): int(r.id or 0) for r in rows}
