"""The scoring benchmark runs at a tiny size (no timing assertions): everyone active is
scored once by the daily job, and each checked score equals the candidate's own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import scoring as bench
from storage.db import Database

REPO = Path(__file__).resolve().parents[2]
KEYS = {
    "db",
    "candidates",
    "seconds",
    "peak_rss_mb",
    "scored",
    "rows",
    "populate_seconds",
    "checked",
    "mismatches",
    "cpus",
    "load_average",
}


async def test_scores_match_one_by_one_on_both_databases(database: Database) -> None:
    result = await bench.run(candidates=150, sample=150, url=database.url)
    assert set(result) >= KEYS
    assert result["db"] == ("postgres" if database.dialect == "postgresql" else "sqlite")
    rows = result["rows"]
    assert rows["candidates"] == rows["identities"] == rows["score_snapshots"] == 150
    assert rows["interactions"] > 150 and rows["outbox"] >= 300
    # Those whose first day has passed are no longer scored; everyone else once.
    assert 100 < result["scored"] <= 150
    assert result["checked"] == 150 and result["mismatches"] == 0
    assert result["peak_rss_mb"] > 0


def test_command_prints_one_json_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.scoring", "--candidates", "40", "--check", "10"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.strip().splitlines()
    data = json.loads(line)
    assert set(data) >= KEYS
    assert data["candidates"] == 40 and data["checked"] == 10 and data["mismatches"] == 0
