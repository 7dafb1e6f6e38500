"""Benchmark of the Friday 17:00 planner tick (issue #13's "Planner" target).

``python -m bench.planner [--candidates 10000] [--db sqlite|postgres] [--seed 7]``

On a fresh database (SQLite in a temporary folder, or a PostgreSQL database created
on the server of BENCH_POSTGRES_URL or TEST_POSTGRES_URL and dropped after the run)
it seeds ``--candidates`` bound candidates as bench.pushes does (the shipped journey
and library), and registers a fake transport that records when each message leaves.
The courier is wired as the app wires it: the planner hands each batch's rows to it
as soon as the batch commits (``SEND_PLANNED``), and it drains in the background.

- ``history``: the ticks of the two weeks before Friday 17:00 (every evening at 20:00
  from Monday 2026-05-25, and Friday 16:59; candidates bound within two days of
  their offer, at the latest on 2026-05-24), each followed by marking the rows due by
  then sent (no courier): the state a leader ticking every minute leaves;
- ``friday``: ``plan_pushes`` at Friday 2026-06-05 17:00 Shanghai: the weekly digest
  opens for every candidate at once (those capped by the week's pushes wait; the
  largest burst the shipped journey makes, and it comes every week). Timed: the tick
  itself (``tick_seconds``), the first message out (``first_sent_seconds``) and the
  last one (``all_sent_seconds``), both from the start of the tick, with the fake
  transport answering at once;
- ``again``: the same tick repeated: must write nothing;
- ``steady``: a tick at 17:30, when nothing new is due: what the leader pays every
  ``SCHEDULER_TICK_SECONDS`` most of the time.

Every phase counts the SQL statements it ran. Correctness figures: rows written and
sent (every row due at once is sent; rows spaced after another of the candidate's
wait), candidates who got a row, digests, the most digests and the most ordinary
pushes (neither reminders nor date-bound) one candidate got (both at most 1). One
JSON line, with ``cpus`` and the one-minute ``load_average`` at the end (other work on
the machine skews the times).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import tempfile
import time as clock_time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bench.pushes import NullTransport, fresh_database, seed
from bot.core.clock import FixedClock
from bot.core.messages import ChatAddress, Outgoing
from bot.core.settings import Settings
from bot.pushes.planner import SEND_PLANNED, plan_pushes
from bot.runtime.app import App
from run_bot import build_app
from storage.models import Candidate, Outbox, OutboxStatus

log = logging.getLogger(__name__)

# Monday of the week, when the cohort's dates are set (offers in the 60 days before it).
SEEDED = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
# Friday 17:00 in Shanghai: the weekly digest slot opens for every candidate at once.
FRIDAY = datetime(2026, 6, 5, 9, 0, tzinfo=UTC)
STEADY_AFTER = timedelta(minutes=30)
DIGEST_SLOT = "weekly_news"
# Bound a week before the seeded Monday, so the ticks of the week before it see them.
BOUND = SEEDED - timedelta(days=8)
# The earlier ticks (every evening at 20:00 Shanghai from the Monday a week before, and
# Friday 16:59), their rows marked sent at once: the state the 17:00 tick meets after two
# weeks of a leader ticking every minute. The first week takes the once-only welcomes
# a fresh database owes everyone, which would otherwise cap the whole cohort this week.
HISTORY = (
    *(BOUND + timedelta(days=day, hours=9) for day in range(11)),
    FRIDAY - timedelta(minutes=1),
)


class StampingTransport(NullTransport):
    """Accepts every message at once and records when each was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[float] = []

    async def send(self, to: ChatAddress, message: Outgoing) -> None:
        self.stamps.append(clock_time.perf_counter())
        self.sent += 1


@contextmanager
def counting(app: App) -> Iterator[Counter[str]]:
    """Counts the statements run on the app's engine meanwhile, by their first word."""
    counts: Counter[str] = Counter()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counts[statement.lstrip().split(" ", 1)[0].upper()] += 1

    engine = app.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", before)


def wire_courier(app: App) -> None:
    """The planner's hand-over, as the app wires it: each batch's rows start a drain."""
    courier = app.courier

    async def send_planned(_ids: frozenset[int]) -> None:
        courier.kick()

    app.services.deferred.register(SEND_PLANNED, send_planned)


async def _sent_out(app: App) -> None:
    """Wait until the background sending has finished."""
    await app.services.deferred.flush()
    await app.courier.idle()


def _slot_of(key: str | None) -> str:
    """The slot id in a push's dedupe key ``push:<candidate>:<slot>[:<date>]``."""
    parts = (key or "").split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "push" else ""


def _ordinary_slots(app: App) -> set[str]:
    """Slots under the one-ordinary-push-a-day rule (neither reminders nor date-bound)."""
    return {s.id for s in app.content.journey if not (s.transactional or s.date_bound)}


_Row = tuple[int | None, int | None, str | None, datetime]


async def _rows(app: App, since_id: int) -> list[_Row]:
    """(id, candidate, dedupe key, due) of the outbox rows after ``since_id``."""
    async with app.db.session() as session:
        stmt = select(Outbox.id, Outbox.candidate_id, Outbox.dedupe_key, Outbox.due_at).where(
            col(Outbox.id) > since_id
        )
        return [(i, c, k, _aware(d)) for i, c, k, d in (await session.exec(stmt)).all()]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _last_id(app: App) -> int:
    async with app.db.session() as session:
        ids = (await session.exec(select(Outbox.id).order_by(col(Outbox.id).desc()))).first()
    return ids or 0


async def _unsent(app: App) -> int:
    async with app.db.session() as session:
        stmt = select(Outbox.id).where(col(Outbox.status) != OutboxStatus.SENT.value)
        return len((await session.exec(stmt)).all())


async def _spread_bindings(app: App, rng: random.Random) -> None:
    """Candidates bind within two days of their offer (at the latest on :data:`BOUND`), not
    all on one day: else the cohort would walk the first weeks' slots in step."""
    tz = app.settings.timezone
    async with app.db.session() as session:
        stmt = select(col(Candidate.id), col(Candidate.offer_date)).order_by(col(Candidate.id))
        offers = (await session.exec(stmt)).all()
        params = []
        for cid, offer in offers:
            assert offer is not None
            bound = datetime.combine(offer, time(10), tzinfo=tz) + timedelta(
                hours=rng.uniform(0, 48)
            )
            params.append({"id": cid, "bound_at": min(bound, BOUND)})
        await session.exec(update(Candidate), params=params)


async def _history(app: App, clock: FixedClock) -> dict[str, Any]:
    """Two weeks of ticks, their rows marked sent here (no courier: the app's hand-over
    is switched off until :func:`wire_courier`)."""

    async def keep(_ids: frozenset[int]) -> None:
        return None

    app.services.deferred.register(SEND_PLANNED, keep)
    started = clock_time.perf_counter()
    rows = 0
    for when in HISTORY:
        clock.set(when)
        await plan_pushes(app.db, app.services, when)
        async with app.db.session() as session:
            result = await session.exec(
                update(Outbox)
                .where(col(Outbox.status) == OutboxStatus.PENDING.value, col(Outbox.due_at) <= when)
                .values(status=OutboxStatus.SENT.value, sent_at=col(Outbox.due_at))
            )
            rows += result.rowcount or 0
    return {
        "seconds": round(clock_time.perf_counter() - started, 3),
        "ticks": len(HISTORY),
        "rows": rows,
    }


async def _tick(
    app: App, clock: FixedClock, transport: StampingTransport, when: datetime
) -> dict[str, Any]:
    clock.set(when)
    before_id = await _last_id(app)
    sent_before = len(transport.stamps)
    with counting(app) as counts:
        started = clock_time.perf_counter()
        await plan_pushes(app.db, app.services, clock.now())
        planned = clock_time.perf_counter()
        await _sent_out(app)
        finished = clock_time.perf_counter()
        planning_statements = sum(counts.values())
    stamps = transport.stamps[sent_before:]
    rows = await _rows(app, before_id)
    digests = Counter(cid for _, cid, key, _ in rows if f":{DIGEST_SLOT}:" in (key or ""))
    ordinary = Counter(cid for _, cid, key, _ in rows if _slot_of(key) in _ordinary_slots(app))
    due_now = sum(1 for _, _, _, due in rows if due <= clock.now())
    return {
        "tick_seconds": round(planned - started, 3),
        "first_sent_seconds": round(stamps[0] - started, 3) if stamps else None,
        "all_sent_seconds": round((stamps[-1] if stamps else finished) - started, 3),
        "rows": len(rows),
        "rows_due_now": due_now,  # the rest are spaced after a candidate's other row
        "sent": len(stamps),
        "candidates_with_rows": len({cid for _, cid, _, _ in rows}),
        "digests": sum(digests.values()),
        "most_digests_per_candidate": max(digests.values(), default=0),
        "most_pushes_per_candidate": max(ordinary.values(), default=0),
        "statements": planning_statements,
        "statements_by_kind": dict(counts.most_common()),
    }


async def run(
    candidates: int = 10_000,
    db_kind: str = "sqlite",
    seed_value: int = 7,
    url: str | None = None,
    weekly_cap: int | None = None,
) -> dict[str, Any]:
    """Every phase; ``url`` uses an existing (migrated or empty) database, left in place;
    ``weekly_cap`` overrides PUSH_WEEKLY_CAP."""
    if url is not None:
        return await _run_on(url, candidates, seed_value, weekly_cap)
    async with fresh_database(db_kind) as fresh:
        return await _run_on(fresh, candidates, seed_value, weekly_cap)


async def _run_on(url: str, n: int, seed_value: int, weekly_cap: int | None) -> dict[str, Any]:
    started = clock_time.perf_counter()
    rng = random.Random(seed_value)
    phases: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="preboard_bench_data_") as data_dir:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            data_dir=Path(data_dir),
            admin_ids=[],
        )
        if weekly_cap is not None:
            settings = settings.model_copy(update={"push_weekly_cap": weekly_cap})
        clock = FixedClock(SEEDED)
        app = build_app(settings, clock=clock)
        try:
            t = clock_time.perf_counter()
            await app.prepare()
            phases["migrate"] = {"seconds": round(clock_time.perf_counter() - t, 3)}
            t = clock_time.perf_counter()
            today = SEEDED.astimezone(settings.timezone).date()
            await seed(app.db, n, BOUND, today, rng)
            await _spread_bindings(app, rng)
            phases["seed"] = {"seconds": round(clock_time.perf_counter() - t, 3), "candidates": n}
            phases["history"] = await _history(app, clock)
            transport = StampingTransport()
            app.courier.register(transport)
            wire_courier(app)
            phases["friday"] = await _tick(app, clock, transport, FRIDAY)
            phases["again"] = await _tick(app, clock, transport, FRIDAY)
            phases["steady"] = await _tick(app, clock, transport, FRIDAY + STEADY_AFTER)
            unsent = await _unsent(app)
        finally:
            await app.close()
    friday = phases["friday"]
    return {
        "db": "postgres" if make_url(url).get_backend_name() == "postgresql" else "sqlite",
        "candidates": n,
        "weekly_cap": settings.push_weekly_cap,
        "tick_seconds": friday["tick_seconds"],
        "first_sent_seconds": friday["first_sent_seconds"],
        "all_sent_seconds": friday["all_sent_seconds"],
        "steady_seconds": phases["steady"]["tick_seconds"],
        "rows": friday["rows"],
        "unsent": unsent,
        "seconds": round(clock_time.perf_counter() - started, 3),
        "phases": phases,
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.planner", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--weekly-cap", type=int, default=None, help="PUSH_WEEKLY_CAP (default: the setting's)"
    )
    args = parser.parse_args(argv)
    if args.candidates < 1:
        parser.error("--candidates must be positive")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = asyncio.run(run(args.candidates, args.db, args.seed, weekly_cap=args.weekly_cap))
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
