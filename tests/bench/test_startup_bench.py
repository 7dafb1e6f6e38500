"""bench.startup runs the interactive console to its first prompt and reports one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_one_run_reports_the_prompt_time_and_its_anchors() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.startup", "--runs", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["bench"] == "startup" and report["runs"] == 1 and report["db"] == "sqlite"
    assert 0 < report["min_s"] <= report["median_s"] <= report["max_s"]
    assert 0 < report["python_bare_s"] < report["python_sqlalchemy_s"]
    assert report["ratio_to_sqlalchemy"] > 1  # the console does more than import sqlalchemy
