"""Benchmark of the daily full rescoring (issue #13's "Scoring" target).

``python -m bench.scoring [--candidates 100000] [--db sqlite|postgres] [--seed 7]
[--check 300]``

On a fresh database (SQLite in a temporary folder, or a PostgreSQL database created on
the server of BENCH_POSTGRES_URL or TEST_POSTGRES_URL and dropped after the run) it
inserts in bulk (multi-row INSERTs, no ORM objects) ``--candidates`` bound candidates
with 30 days of history: interactions (a fifth silent, the others 1-30 messages, taps
and clicks), 2-10 messages sent to each (some with buttons), course results,
check-ins, survey answers and yesterday's score. Then, in a child process (so its peak
resident memory is its own: ``resource.getrusage(RUSAGE_CHILDREN)``), the app's daily
job ``bot.scoring.jobs.daily_recompute`` scores everyone at Wednesday 2026-06-03 10:00
Shanghai, timed. Afterwards ``--check`` candidates chosen at random are scored again one
by one (``signals.gather`` and ``model.compute`` for that candidate alone) and compared
with the snapshot the job saved (score, band, indicators, reasons).

Yesterday's scores are made up (see ``NEW_HIGH_SHARE``): about 1 candidate in 400
enters the high band today and their HR is alerted (``alerts``).

One JSON line: ``seconds`` (the rescoring), ``peak_rss_mb`` (the child's), ``scored``,
``rows`` (what was inserted), ``populate_seconds``, ``checked`` and ``mismatches``,
with ``cpus`` and the one-minute ``load_average`` at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.engine import make_url
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bench.pushes import fresh_database
from bot.core.clock import FixedClock
from bot.core.settings import Settings
from bot.runtime.app import App
from bot.scoring import signals
from bot.scoring.jobs import daily_recompute
from bot.scoring.model import Thresholds, compute
from run_bot import build_app
from storage import signals as signal_rows
from storage._upsert import table_of
from storage.models import (
    Candidate,
    CheckIn,
    CourseResult,
    Identity,
    Interaction,
    OfferStatus,
    Outbox,
    OutboxCategory,
    OutboxStatus,
    Role,
    ScoreSnapshot,
    Staff,
    SurveyResponse,
)

log = logging.getLogger(__name__)

# Wednesday 10:00 in Shanghai: a working day, after midnight's first tick.
NOW = datetime(2026, 6, 3, 2, 0, tzinfo=UTC)
DAYS = 30
HR_STAFF = 20
CHUNK = 5000  # rows per executemany
DEPARTMENTS = ("研发中心", "制造中心", "市场部", "财务部", "人力资源部")
KINDS = ("text", "text", "button", "click", "file")
# Yesterday's snapshots are not yesterday's real scores (computing those would be a second
# full run), so which band they say decides how many candidates "enter the high band" today
# and alert their HR. Yesterday's band is random for this share of the candidates and
# "high" for the rest: about a quarter of that share enters the high band (an assumption
# of a quiet day, ~1 in 400; with every band random it is a quarter of the cohort).
NEW_HIGH_SHARE = 0.01


def _at(rng: random.Random, days: int = DAYS) -> datetime:
    return NOW - timedelta(seconds=rng.randint(60, days * 86400))


def _candidate_rows(rng: random.Random, n: int, hr_ids: Sequence[int]) -> Iterator[dict[str, Any]]:
    today = NOW.date()
    for i in range(n):
        offer = today - timedelta(days=rng.randint(0, 60))
        training = today + timedelta(days=rng.randint(-5, 40))
        status = rng.choices(
            (OfferStatus.ACCEPTED, OfferStatus.OFFERED, OfferStatus.DELAYED), weights=(70, 25, 5)
        )[0]
        yield {
            "id": i + 1,
            "name": f"候选人{i:06d}",
            "phone": f"13{i:09d}",
            "email": f"c{i}@example.com" if rng.random() < 0.5 else None,
            "department": rng.choice(DEPARTMENTS),
            "position": "工程师",
            "hr_id": hr_ids[i % len(hr_ids)],
            "offer_date": offer,
            "training_date": training,
            "onboarding_date": training + timedelta(days=rng.randint(3, 30)),
            "doc_deadline": today + timedelta(days=rng.randint(-10, 30)),
            "tags": rng.choice((["校招"], ["校招", "有其他offer"], ["社招"], [])),
            "offer_status": status.value,
            "bound_at": datetime.combine(offer, datetime.min.time(), tzinfo=UTC),
            "created_at": NOW - timedelta(days=61),
            "updated_at": NOW - timedelta(days=1),
        }


def _history_rows(
    rng: random.Random, n: int, courses: Sequence[str]
) -> Iterator[tuple[Table, dict[str, Any]]]:
    """Each candidate's identity, interactions, sent messages, results, check-ins,
    survey answers and yesterday's score."""
    for cid in range(1, n + 1):
        yield (
            table_of(Identity),
            {
                "platform": "memory",
                "user_id": f"c{cid}",
                "chat_id": f"c{cid}",
                "candidate_id": cid,
                "unreachable": False,
                "created_at": NOW - timedelta(days=60),
            },
        )
        active = rng.random() >= 0.2
        for _ in range(rng.randint(1, 30) if active else 0):
            yield (
                table_of(Interaction),
                {"candidate_id": cid, "kind": rng.choice(KINDS), "detail": "", "at": _at(rng)},
            )
        for _ in range(rng.randint(2, 10)):
            sent = _at(rng)
            payload: dict[str, Any] = {"text": "本周新闻"}
            if rng.random() < 0.3:
                payload["buttons"] = [{"label": "好", "payload": "ci:fine"}]
            yield (
                table_of(Outbox),
                {
                    "kind": "push",
                    "candidate_id": cid,
                    "payload": payload,
                    "status": OutboxStatus.SENT.value,
                    "attempts": 1,
                    "due_at": sent,
                    "created_at": sent,
                    "sent_at": sent,
                    "category": OutboxCategory.PUSH.value,
                },
            )
        for course in courses:
            if rng.random() < 0.4:
                started = _at(rng)
                total = 5
                score = rng.randint(0, total)
                yield (
                    table_of(CourseResult),
                    {
                        "candidate_id": cid,
                        "course_id": course,
                        "score": score,
                        "total": total,
                        "passed": score >= 3,
                        "points_awarded": 10 * score,
                        "attempts": 1,
                        "started_at": started,
                        "completed_at": started + timedelta(minutes=rng.randint(2, 40)),
                    },
                )
        if rng.random() < 0.4:
            at = _at(rng, 7)
            yield (
                table_of(CheckIn),
                {
                    "candidate_id": cid,
                    "week": at.date() - timedelta(days=at.weekday()),
                    "answer": rng.choice(("fine", "fine", "worried", "question")),
                    "at": at,
                },
            )
        if rng.random() < 0.2:
            yield (
                table_of(SurveyResponse),
                {
                    "candidate_id": cid,
                    "ratings": {"confidence": rng.randint(1, 5), "welcome": rng.randint(1, 5)},
                    "looking_forward": "团队氛围",
                    "other_offers": rng.choice(("yes", "no", None)),
                    "created_at": _at(rng),
                },
            )
        score = rng.randint(20, 95)
        band = "high" if score < 55 else "low" if score > 80 else "medium"
        if rng.random() >= NEW_HIGH_SHARE:
            band = "high"  # see NEW_HIGH_SHARE: whoever is high today was high yesterday
        yield (
            table_of(ScoreSnapshot),
            {
                "candidate_id": cid,
                "at": NOW - timedelta(days=1),
                "score": score,
                "band": band,
                "interaction": score,
                "training": score,
                "feedback": score,
                "completeness": score,
                "external": score,
                "reasons": [],
            },
        )


async def populate(app: App, n: int, rng: random.Random) -> dict[str, int]:
    """Staff and ``n`` candidates with their history, in bulk; rows inserted by table."""
    counts: dict[str, int] = {}
    async with app.db.session() as session:
        staff = [
            {"id": i + 1, "name": f"HR{i:02d}", "role": Role.HR.value, "created_at": NOW}
            for i in range(HR_STAFF)
        ]
        await session.exec(table_of(Staff).insert(), params=staff)
        hr_ids = list(range(1, HR_STAFF + 1))
        pending: dict[str, tuple[Table, list[dict[str, Any]]]] = {}

        async def flush(table: Table, rows: list[dict[str, Any]]) -> None:
            await session.exec(table.insert(), params=rows)
            counts[table.name] = counts.get(table.name, 0) + len(rows)
            rows.clear()

        candidates: list[dict[str, Any]] = []
        for row in _candidate_rows(rng, n, hr_ids):
            candidates.append(row)
            if len(candidates) >= CHUNK:
                await flush(table_of(Candidate), candidates)
        if candidates:
            await flush(table_of(Candidate), candidates)
        courses = [c.id for c in app.content.courses]
        for table, row in _history_rows(rng, n, courses):
            _, rows = pending.setdefault(table.name, (table, []))
            rows.append(row)
            if len(rows) >= CHUNK:
                await flush(table, rows)
        for table, rows in pending.values():
            if rows:
                await flush(table, rows)
    return counts


async def _snapshot_now(session: AsyncSession, candidate_id: int) -> ScoreSnapshot | None:
    stmt = select(ScoreSnapshot).where(
        col(ScoreSnapshot.candidate_id) == candidate_id, col(ScoreSnapshot.at) == NOW
    )
    return (await session.exec(stmt)).first()


async def check(app: App, sample: int, rng: random.Random) -> tuple[int, int]:
    """Score ``sample`` random candidates one at a time and compare with the job's
    snapshots (those not scored must have none); returns (checked, mismatches)."""
    settings = app.settings
    content = app.content
    async with app.db.session() as session:
        ids = [i for i in (await session.exec(select(col(Candidate.id)))).all() if i is not None]
        chosen = sorted(rng.sample(ids, min(sample, len(ids))))
        today = NOW.astimezone(settings.timezone).date()
        active = await signal_rows.active_among(session=session, candidate_ids=chosen, today=today)
        scored = {c.id for c in active}
        mismatches = 0
        for cid in chosen:
            candidate = await session.get(Candidate, cid)
            assert candidate is not None and candidate.id is not None
            if cid not in scored:  # past their first day (or otherwise not scored): no snapshot
                mismatches += await _snapshot_now(session, cid) is not None
                continue
            required = {
                candidate.id: frozenset(
                    i.id
                    for i in content.checklists.items_for(candidate.department, candidate.position)
                )
            }
            gathered = await signals.gather(
                session=session,
                candidates=[candidate],
                now=NOW,
                required_items=required,
                courses_assigned=len(content.courses),
                tz=settings.timezone,
            )
            score = compute(
                gathered[candidate.id], settings.score_weights, Thresholds.from_settings(settings)
            )
            saved = await _snapshot_now(session, cid)
            same = (
                saved is not None
                and saved.score == score.score
                and saved.band == score.band
                and saved.reasons == score.reasons
                and all(getattr(saved, k) == v for k, v in score.indicators.items())
            )
            mismatches += not same
    return len(chosen), mismatches


def _settings(url: str, data_dir: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        data_dir=Path(data_dir),
        admin_ids=[],
    )


async def score_all(url: str) -> dict[str, Any]:
    """The daily job over every candidate (what the child process runs)."""
    with tempfile.TemporaryDirectory(prefix="preboard_bench_data_") as data_dir:
        app = build_app(_settings(url, data_dir), clock=FixedClock(NOW))
        try:
            started = time.perf_counter()
            await daily_recompute(app.db, app.services, NOW)
            seconds = time.perf_counter() - started
            async with app.db.session() as session:
                stmt = select(func.count()).select_from(ScoreSnapshot)
                scored = int((await session.exec(stmt.where(col(ScoreSnapshot.at) == NOW))).one())
                alerts = select(func.count()).select_from(Outbox)
                alerted = int(
                    (
                        await session.exec(
                            alerts.where(col(Outbox.category) == OutboxCategory.ALERT.value)
                        )
                    ).one()
                )
        finally:
            await app.close()
    return {"seconds": round(seconds, 3), "scored": scored, "alerts": alerted}


def _score_in_child(url: str) -> tuple[dict[str, Any], float]:
    """Run :func:`score_all` in a fresh interpreter; its result and peak RSS in MB."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.scoring", "--score-only", url],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the scoring process failed:\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return json.loads(proc.stdout.strip().splitlines()[-1]), peak


async def run(
    candidates: int = 100_000,
    db_kind: str = "sqlite",
    seed_value: int = 7,
    sample: int = 300,
    url: str | None = None,
) -> dict[str, Any]:
    """Populate, score in a child process, check; ``url``: an existing empty database."""
    if url is not None:
        return await _run_on(url, candidates, seed_value, sample)
    async with fresh_database(db_kind) as fresh:
        return await _run_on(fresh, candidates, seed_value, sample)


async def _run_on(url: str, n: int, seed_value: int, sample: int) -> dict[str, Any]:
    rng = random.Random(seed_value)
    with tempfile.TemporaryDirectory(prefix="preboard_bench_data_") as data_dir:
        app = build_app(_settings(url, data_dir), clock=FixedClock(NOW))
        try:
            await app.prepare()
            started = time.perf_counter()
            rows = await populate(app, n, rng)
            populate_seconds = time.perf_counter() - started
        finally:
            await app.close()
        result, peak = await asyncio.to_thread(_score_in_child, url)
        app = build_app(_settings(url, data_dir), clock=FixedClock(NOW))
        try:
            checked, mismatches = await check(app, sample, rng)
        finally:
            await app.close()
    return {
        "db": "postgres" if make_url(url).get_backend_name() == "postgresql" else "sqlite",
        "candidates": n,
        "seconds": result["seconds"],
        "peak_rss_mb": round(peak, 1),
        "scored": result["scored"],
        "alerts": result["alerts"],
        "rows": rows,
        "populate_seconds": round(populate_seconds, 3),
        "checked": checked,
        "mismatches": mismatches,
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scoring", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check", type=int, default=300, help="candidates re-scored one by one")
    parser.add_argument("--score-only", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.score_only:
        print(json.dumps(asyncio.run(score_all(args.score_only))))
        return 0
    if args.candidates < 1 or args.check < 0:
        parser.error("--candidates must be positive and --check not negative")
    result = asyncio.run(run(args.candidates, args.db, args.seed, args.check))
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
