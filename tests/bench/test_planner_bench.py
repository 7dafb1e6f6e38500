"""The planner benchmark runs at a tiny size (no timing assertions), and planning in
batches writes exactly what planning one candidate at a time writes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bench import planner as bench
from bot.pushes import planner
from storage.db import Database
from storage.models import ContentReceipt, Outbox

REPO = Path(__file__).resolve().parents[2]
PHASES = {"migrate", "seed", "history", "friday", "again", "steady"}
TICK_KEYS = {
    "tick_seconds",
    "first_sent_seconds",
    "all_sent_seconds",
    "rows",
    "rows_due_now",
    "sent",
    "candidates_with_rows",
    "digests",
    "most_digests_per_candidate",
    "most_pushes_per_candidate",
    "statements",
    "statements_by_kind",
}
TOKEN = re.compile(r"/r/[A-Za-z0-9_-]+")


async def test_every_phase_runs_on_both_databases(database: Database) -> None:
    result = await bench.run(candidates=80, url=database.url)
    assert result["db"] == ("postgres" if database.dialect == "postgresql" else "sqlite")
    assert result["candidates"] == 80 and result["weekly_cap"] == 2
    phases = result["phases"]
    assert set(phases) == PHASES
    friday = phases["friday"]
    assert set(friday) >= TICK_KEYS
    # The weekly digest reaches those not capped by the week's pushes, once each, and
    # nobody gets a second ordinary push that day.
    assert friday["digests"] > 0
    assert friday["most_digests_per_candidate"] == 1
    assert friday["most_pushes_per_candidate"] == 1
    # Every row due now left through the courier, during or right after the tick.
    assert 0 < friday["rows_due_now"] == friday["sent"] <= friday["rows"]
    assert friday["first_sent_seconds"] is not None
    assert friday["first_sent_seconds"] <= friday["all_sent_seconds"]
    assert phases["again"]["rows"] == 0 and phases["again"]["sent"] == 0
    assert result["steady_seconds"] == phases["steady"]["tick_seconds"]


async def _written(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every outbox row (link tokens blanked: they are random) and every receipt."""
    db = Database(url)
    try:
        async with db.session() as session:
            rows = (await session.exec(select(Outbox).order_by(col(Outbox.dedupe_key)))).all()
            receipts = (
                await session.exec(
                    select(ContentReceipt.candidate_id, ContentReceipt.item_id, ContentReceipt.slot)
                )
            ).all()
    finally:
        await db.dispose()
    outbox = [
        (
            r.dedupe_key,
            r.candidate_id,
            r.category,
            r.status,
            r.due_at,
            r.expires_at,
            TOKEN.sub("/r/T", json.dumps(r.payload, ensure_ascii=False, sort_keys=True)),
        )
        for r in rows
    ]
    return outbox, sorted(tuple(r) for r in receipts)


async def test_batches_write_what_one_candidate_at_a_time_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    batch_url = f"sqlite+aiosqlite:///{tmp_path / 'batch.db'}"
    monkeypatch.setattr(planner, "BATCH_SIZE", 1)
    await bench.run(candidates=90, url=one_url)
    monkeypatch.setattr(planner, "BATCH_SIZE", 40)  # three batches, the last one short
    await bench.run(candidates=90, url=batch_url)
    one, batched = await _written(one_url), await _written(batch_url)
    assert len(one[0]) > 90  # two weeks of pushes were planned
    assert batched == one


def test_command_prints_one_json_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.planner", "--candidates", "30", "--weekly-cap", "3"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.strip().splitlines()
    data = json.loads(line)
    assert {
        "db",
        "candidates",
        "weekly_cap",
        "tick_seconds",
        "first_sent_seconds",
        "all_sent_seconds",
        "steady_seconds",
        "rows",
        "unsent",
        "phases",
        "cpus",
        "load_average",
    } <= set(data)
    assert data["db"] == "sqlite" and data["candidates"] == 30 and data["weekly_cap"] == 3
    assert set(data["phases"]) == PHASES
