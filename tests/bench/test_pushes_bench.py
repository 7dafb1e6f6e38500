"""The push benchmark runs end to end at a tiny size (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import pushes as bench
from storage.db import Database

REPO = Path(__file__).resolve().parents[2]
PHASES = {
    "migrate",
    "seed",
    "plan_due",
    "plan_again",
    "plan_steady",
    "drain_planned",
    "drain",
    "dispatch",
    "plan_catch_up",
    "plan_weekly",
}


async def test_every_phase_runs_on_both_databases(database: Database) -> None:
    result = await bench.run(candidates=60, rows=15, messages=3, url=database.url)
    assert result["db"] == ("postgres" if database.dialect == "postgresql" else "sqlite")
    assert result["candidates"] == 60 and result["rows"] == 15
    phases = result["phases"]
    assert set(phases) == PHASES
    assert all(phase["seconds"] >= 0 for phase in phases.values())
    # A fresh database with offers over 60 days: candidates have slots open (last week's
    # check-in is open until Monday's end for all of them) and get rows.
    assert 0 < phases["plan_due"]["candidates_open"] <= 60
    assert phases["plan_due"]["rows"] > 0
    assert phases["plan_again"]["rows"] == 0  # the same tick again writes nothing
    assert phases["plan_steady"]["rows"] == 0  # an hour later nothing new is due
    assert phases["drain_planned"]["sent"] > 0
    assert phases["drain"]["sent"] == phases["drain"]["rows"] == 15
    assert phases["dispatch"]["messages"] == 3 and phases["dispatch"]["no_reply"] == 0
    # Friday's digest opens for everyone; after the catch-up tick wrote the week's pushes
    # that afternoon, one ordinary push a day holds it to Saturday: the phase measures the
    # planner's work with every candidate's slot open, not rows.
    assert phases["plan_weekly"]["candidates_open"] > 0


def test_command_prints_one_json_line() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.pushes",
            "--candidates",
            "30",
            "--rows",
            "10",
            "--messages",
            "0",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.strip().splitlines()
    data = json.loads(line)
    assert {"db", "candidates", "rows", "seconds", "rows_per_second", "phases"} <= set(data)
    assert data["db"] == "sqlite" and data["candidates"] == 30 and data["rows"] == 10
    assert set(data["phases"]) == PHASES - {"dispatch"}
    assert {"seconds", "rows", "sent", "rows_per_second"} <= set(data["phases"]["drain"])
