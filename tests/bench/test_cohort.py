"""The cohort simulation: the score predicts reneging; calibration finds better weights."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import cohort
from bot.scoring.model import DEFAULT_WEIGHTS

REPO = Path(__file__).resolve().parents[2]
SKEWED = "training=60,external=30,feedback=10"


def test_default_simulation_auc_above_075() -> None:
    result = cohort.run(n=1000, days=60, seed=7)
    assert result.n == 1000 and result.days == 60
    assert 100 < result.reneged < 500
    assert result.auc > 0.75
    assert result.auc < result.auc_oracle  # the hidden truth is better, as it must be
    assert result.scored == 1000 * (cohort.HISTORY_DAYS + 1)


def test_calibration_recovers_a_better_auc_when_true_weights_differ() -> None:
    true_weights = cohort.parse_weights(SKEWED)
    result = cohort.run(n=1000, days=60, seed=7, true_weights=true_weights)
    assert result.auc_fitted is not None and result.fitted_weights is not None
    # Cross-validated, so the gain is not just the fit memorising the sample.
    assert result.auc_fitted > result.auc + 0.02
    fitted = result.fitted_weights
    assert fitted["training"] > DEFAULT_WEIGHTS["training"]
    assert fitted["external"] > DEFAULT_WEIGHTS["external"]
    assert fitted["interaction"] < DEFAULT_WEIGHTS["interaction"]


def test_command_prints_one_json_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cohort", "--n", "200", "--days", "30", "--seed", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.strip().splitlines()
    data = json.loads(line)
    assert data["n"] == 200 and data["days"] == 30
    assert {"reneged", "auc", "auc_fitted", "seconds", "scores_per_second"} <= set(data)
    assert 0.5 < data["auc"] <= 1
