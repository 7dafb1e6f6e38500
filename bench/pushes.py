"""Benchmark of the push planner and the outbox sender.

``python -m bench.pushes [--candidates 2000] [--db sqlite|postgres] [--rows 2000]
[--messages 200] [--seed 7]``

On a fresh database (a SQLite file in a temporary folder, or a PostgreSQL
database created for the run and dropped after it, on the server of
BENCH_POSTGRES_URL or TEST_POSTGRES_URL, default the local one the tests use)
it seeds ``--candidates`` bound candidates in bulk (no chat round-trips): varied
majors, departments, hometowns and languages, offers spread over the last 60 days,
training, onboarding and document deadlines ahead, a few in another time zone,
a few not plannable. The shipped content (content/journey.yaml, content/library/)
is used. Then, with a FixedClock at Monday 2026-06-01 11:00 Asia/Shanghai:

- ``plan_due``: ``plan_pushes`` when about a third of the candidates have a
  journey slot open (most of them on a fresh database, so they get their rows);
- ``plan_again``: the same tick repeated, which must write nothing;
- ``plan_steady``: a tick an hour later, when nothing new has come due: the
  steady state the leader pays every SCHEDULER_TICK_SECONDS;
- ``drain_planned``: ``Courier.drain`` sending the rows just planned through a
  no-op transport;
- ``drain``: ``--rows`` broadcast rows (as HR's /broadcast writes them) enqueued at
  once, then drained (rows per second);
- ``dispatch``: ``--messages`` ``/progress`` commands from random candidates
  through the real dispatcher and the MemoryAdapter, latency p50/p95 (0: skip);
- ``plan_catch_up``: Friday 16:59, what came due since Monday in one tick (as
  after a four-day outage);
- ``plan_weekly``: Friday 17:00, when the weekly digest slot opens for everyone:
  the largest burst the shipped journey makes, limited by the weekly cap and one
  ordinary push a day (after the catch-up tick, most digests wait for Saturday).

It prints one JSON line: ``db``, ``candidates``, ``rows``, ``seconds`` (the whole
run, seeding included), ``rows_per_second`` (the ``drain`` phase) and ``phases``
(each with its ``seconds`` and what it did), with ``cpus`` and the one-minute
``load_average`` at the end (other work on the machine skews the figures).
docs/benchmarks.md has figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.messages import Attachment, ChatAddress, Outgoing
from bot.core.settings import Settings
from bot.core.zones import person_zone
from bot.pushes.planner import plan_pushes
from bot.pushes.slots import occurrences
from bot.runtime.app import App
from run_bot import build_app
from storage.db import Database
from storage.models import (
    Candidate,
    Identity,
    OfferStatus,
    Outbox,
    OutboxCategory,
    OutboxStatus,
    Role,
    Staff,
    WelcomeMessage,
)

log = logging.getLogger(__name__)

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
# Monday 11:00 in Shanghai: after the 10:00 and 10:30 slots, before team_intro's 12:30.
START = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
STEADY_AFTER = timedelta(hours=1)
# Friday 17:00 in Shanghai: the weekly digest slot opens for every candidate at once.
WEEKLY = datetime(2026, 6, 5, 9, 0, tzinfo=UTC)
PLATFORM = "memory"
OFFER_SPREAD_DAYS = 60
MAX_DRAINS = 100

HR_STAFF = 12
# (department, positions, majors, manager's welcome message?)
DEPARTMENTS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], bool], ...] = (
    (
        "研发中心",
        ("后端开发工程师", "算法工程师", "嵌入式工程师", "测试开发工程师"),
        ("计算机科学与技术", "软件工程", "人工智能", "电子信息工程", "通信工程", "数据科学"),
        True,
    ),
    (
        "制造中心",
        ("工艺工程师", "质量工程师", "设备工程师"),
        ("机械工程", "自动化", "工业设计"),
        False,
    ),
    ("市场部", ("市场专员", "品牌运营", "销售管培生"), ("市场营销", "新闻传播", "工商管理"), True),
    ("财务部", ("财务管培生", "会计"), ("会计学", "财务管理", "金融学"), False),
    ("人力资源部", ("HRBP", "招聘专员"), ("人力资源管理", "心理学"), False),
)
SCHOOLS = ("浙江大学", "华中科技大学", "西安电子科技大学", "上海财经大学", "南京大学", "四川大学")
HOMETOWNS = ("杭州", "杭州", "宁波", "上海", "武汉", "西安", "成都", "长沙", "合肥", "南京")
DEGREES = ("本科", "本科", "硕士", "博士")
TAGS = (("校招",), ("校招", "异地"), ("社招",), ("校招", "AI"), ())
# Most candidates use the default zone; a few are abroad (quiet hours at 11:00 Shanghai).
TIMEZONES = (None,) * 18 + ("Asia/Hong_Kong", "Europe/London")


# ---- the database ------------------------------------------------------------------------------


def _pg_admin_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG)


@asynccontextmanager
async def fresh_database(kind: str) -> AsyncIterator[str]:
    """The URL of a new, migrated database of ``kind``; removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="preboard_bench_") as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            yield url
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"preboard_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
        try:
            yield url
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


# ---- seeding -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seeded:
    candidate_ids: list[int]
    # Candidates in the default zone, bound: the drain's and the dispatcher's recipients.
    local_ids: list[int]


def _candidate(
    rng: random.Random,
    i: int,
    today: date,
    now: datetime,
    hr: int,
    manager: int,
    department: tuple[str, tuple[str, ...], tuple[str, ...], bool],
) -> Candidate:
    name, positions, majors, _ = department
    training = today + timedelta(days=rng.randint(3, 40))
    status = rng.choices(
        (OfferStatus.ACCEPTED, OfferStatus.OFFERED, OfferStatus.PENDING_APPROVAL),
        weights=(60, 37, 3),
    )[0]
    return Candidate(
        name=f"候选人{i:05d}",
        phone=f"139{i:08d}",
        school=rng.choice(SCHOOLS),
        major=rng.choice(majors),
        degree=rng.choice(DEGREES),
        position=rng.choice(positions),
        department=name,
        hr_id=hr,
        manager_id=manager,
        offer_date=today - timedelta(days=rng.randint(0, OFFER_SPREAD_DAYS)),
        training_date=training,
        onboarding_date=training + timedelta(days=rng.randint(3, 14)),
        doc_deadline=today + timedelta(days=rng.randint(1, 30)),
        hometown=rng.choice(HOMETOWNS),
        work_city="杭州",
        birthday=date(rng.randint(1996, 2003), rng.randint(1, 12), rng.randint(1, 28)),
        motivation="想在新能源和智能硬件方向长期发展",
        tags=list(rng.choice(TAGS)),
        language="en" if rng.random() < 0.1 else "zh",
        timezone=rng.choice(TIMEZONES),
        offer_status=status.value,
        bound_at=now - timedelta(days=1),  # bound earlier: pushes are not held for MIN_GAP
        created_at=now,
        updated_at=now,
    )


async def seed(db: Database, n: int, now: datetime, today: date, rng: random.Random) -> Seeded:
    """Staff, ``n`` candidates each bound to one memory chat user, and two managers' welcomes."""
    async with db.session() as session:
        hrs = [
            Staff(name=f"HR{i:02d}", role=Role.HR.value, created_at=now) for i in range(HR_STAFF)
        ]
        managers = [
            Staff(name=f"经理{d[0]}", role=Role.MANAGER.value, department=d[0], created_at=now)
            for d in DEPARTMENTS
        ]
        session.add_all(hrs + managers)
        await session.flush()
        for boss, department in zip(managers, DEPARTMENTS, strict=True):
            assert boss.id is not None
            if department[3]:
                session.add(
                    WelcomeMessage(
                        department=department[0],
                        staff_id=boss.id,
                        kind="text",
                        text="欢迎加入！报到那天我会在门口等你。",
                        created_at=now,
                        updated_at=now,
                    )
                )
        candidates: list[Candidate] = []
        for i in range(n):
            d = rng.randrange(len(DEPARTMENTS))
            hr, manager = hrs[i % HR_STAFF].id, managers[d].id
            assert hr is not None and manager is not None
            candidates.append(_candidate(rng, i, today, now, hr, manager, DEPARTMENTS[d]))
        session.add_all(candidates)
        await session.flush()
        identities = [
            Identity(
                platform=PLATFORM,
                user_id=f"c{c.id}",
                chat_id=f"c{c.id}",
                display_name=c.name,
                candidate_id=c.id,
                language=c.language,
                created_at=now,
                last_seen_at=now,
            )
            for c in candidates
        ]
        session.add_all(identities)
    ids = [c.id for c in candidates if c.id is not None]
    local = [
        c.id
        for c in candidates
        if c.id is not None and c.timezone is None and c.offer_status != "pending_approval"
    ]
    return Seeded(ids, local)


# ---- measuring ---------------------------------------------------------------------------------


class NullTransport:
    """A transport that accepts every message and sends nothing."""

    platform = PLATFORM

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, to: ChatAddress, message: Outgoing) -> None:
        self.sent += 1

    async def download(self, attachment: Attachment) -> bytes:
        return b""


async def _count(db: Database, *where: Any) -> int:
    async with db.session() as session:
        stmt = select(func.count()).select_from(Outbox).where(*where)
        return int((await session.exec(stmt)).one())


async def _open_candidates(app: App, now: datetime) -> int:
    """Candidates with at least one journey slot open at ``now`` (written or not)."""
    default = app.settings.default_timezone
    journey = app.content.journey
    async with app.db.session() as session:
        candidates = (await session.exec(select(Candidate))).all()
    return sum(1 for c in candidates if occurrences(c, journey, now, person_zone(c, default)))


async def _plan(app: App, clock: FixedClock, when: datetime) -> dict[str, Any]:
    clock.set(when)
    before = await _count(app.db)
    started = time.perf_counter()
    await plan_pushes(app.db, app.services, clock.now())
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "rows": await _count(app.db) - before}


async def _drain(app: App, transport: NullTransport) -> dict[str, Any]:
    sent_before = transport.sent
    started = time.perf_counter()
    tried = 0
    for _ in range(MAX_DRAINS):  # one drain sends a bounded number of rows
        batch = await app.courier.drain()
        tried += batch
        if not batch:
            break
    seconds = time.perf_counter() - started
    sent = transport.sent - sent_before
    return {
        "seconds": round(seconds, 3),
        "rows": tried,
        "sent": sent,
        "rows_per_second": round(tried / seconds, 1) if seconds > 0 else None,
    }


async def _enqueue(db: Database, recipients: Sequence[int], rows: int, now: datetime) -> float:
    """``rows`` due broadcast rows, round the recipients; returns the seconds it took.

    Like HR's /broadcast: quiet hours apply, the weekly cap does not (so the rows
    do not hold back Friday's digest).
    """
    started = time.perf_counter()
    async with db.session() as session:
        session.add_all(
            Outbox(
                kind="push",
                candidate_id=recipients[i % len(recipients)],
                payload=Outgoing(f"**通知 {i}**\n\n报到当天请带好身份证和毕业证原件。").to_json(),
                dedupe_key=f"bench:{i}",
                status=OutboxStatus.PENDING.value,
                due_at=now,
                created_at=now,
                category=OutboxCategory.BROADCAST.value,
            )
            for i in range(rows)
        )
    return time.perf_counter() - started


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _dispatch(
    app: App, clock: FixedClock, recipients: Sequence[int], messages: int, rng: random.Random
) -> dict[str, Any]:
    chat = MemoryAdapter(clock)
    app.add_adapter(chat)  # replaces the null transport for the memory platform
    latencies: list[float] = []
    empty = 0
    for _ in range(messages):
        user = f"c{rng.choice(recipients)}"
        started = time.perf_counter()
        replies = await chat.say(user, "/progress")
        latencies.append(time.perf_counter() - started)
        empty += not replies
    return {
        "messages": messages,
        "no_reply": empty,
        "seconds": round(sum(latencies), 3),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * _percentile(latencies, 0.95), 1),
        "max_ms": round(1000 * max(latencies), 1),
    }


async def run(
    candidates: int = 2000,
    db_kind: str = "sqlite",
    rows: int = 2000,
    messages: int = 200,
    seed_value: int = 7,
    url: str | None = None,
) -> dict[str, Any]:
    """Run every phase; ``url`` uses an existing (migrated or empty) database instead of a
    fresh one, and is left in place."""
    if url is not None:
        return await _run_on(url, candidates, rows, messages, seed_value)
    async with fresh_database(db_kind) as fresh:
        return await _run_on(fresh, candidates, rows, messages, seed_value)


async def _run_on(url: str, n: int, rows: int, messages: int, seed_value: int) -> dict[str, Any]:
    started = time.perf_counter()
    rng = random.Random(seed_value)
    phases: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="preboard_bench_data_") as data_dir:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            data_dir=Path(data_dir),
            admin_ids=[],
        )
        clock = FixedClock(START)
        app = build_app(settings, clock=clock)
        try:
            t = time.perf_counter()
            await app.prepare()
            phases["migrate"] = {"seconds": round(time.perf_counter() - t, 3)}

            t = time.perf_counter()
            now = clock.now()
            seeded = await seed(app.db, n, now, now.astimezone(settings.timezone).date(), rng)
            phases["seed"] = {"seconds": round(time.perf_counter() - t, 3), "candidates": n}

            open_now = await _open_candidates(app, START)
            phases["plan_due"] = {**await _plan(app, clock, START), "candidates_open": open_now}
            phases["plan_again"] = await _plan(app, clock, START)
            steady_at = START + STEADY_AFTER
            phases["plan_steady"] = {
                **await _plan(app, clock, steady_at),
                "candidates_open": await _open_candidates(app, steady_at),
            }

            transport = NullTransport()
            app.courier.register(transport)
            phases["drain_planned"] = await _drain(app, transport)
            enqueue_seconds = await _enqueue(app.db, seeded.local_ids, rows, clock.now())
            phases["drain"] = {
                **await _drain(app, transport),
                "enqueue_seconds": round(enqueue_seconds, 3),
            }
            if messages > 0:
                phases["dispatch"] = await _dispatch(app, clock, seeded.local_ids, messages, rng)
            # Friday: first what came due since Monday (as after a long outage), then the
            # 17:00 tick, when the weekly digest opens for everyone under the weekly cap.
            phases["plan_catch_up"] = await _plan(app, clock, WEEKLY - timedelta(minutes=1))
            phases["plan_weekly"] = {
                **await _plan(app, clock, WEEKLY),
                "candidates_open": await _open_candidates(app, WEEKLY),
            }
        finally:
            await app.close()
    return {
        "db": "postgres" if make_url(url).get_backend_name() == "postgresql" else "sqlite",
        "candidates": n,
        "rows": phases["drain"]["rows"],
        "seconds": round(time.perf_counter() - started, 3),
        "rows_per_second": phases["drain"]["rows_per_second"],
        "phases": phases,
        # Other work on the machine skews the figures: compare with the number of cores.
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pushes", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rows", type=int, default=2000, help="rows to enqueue and drain")
    parser.add_argument("--messages", type=int, default=200, help="/progress messages (0: skip)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.candidates < 1 or args.rows < 1 or args.messages < 0:
        parser.error("--candidates and --rows must be positive, --messages not negative")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = asyncio.run(run(args.candidates, args.db, args.rows, args.messages, args.seed))
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
