"""Calibration: samples from outcomes, fitted weights, percentages and the .env update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bot.scoring.calibrate import MIN_OUTCOMES, apply_env, percentages, report, samples
from bot.scoring.model import INDICATORS

FULL = dict.fromkeys(INDICATORS, 50)


def t(key: str, **values: Any) -> str:
    return key + "".join(f" {k}={v}" for k, v in sorted(values.items()))


def test_samples_skip_incomplete_rows_and_other_outcomes() -> None:
    rows = [
        ("joined", 80, FULL),
        ("reneged", 30, {**FULL, "training": 10}),
        ("reneged", 30, {"interaction": 5}),  # missing indicators
        ("pending", 50, FULL),
    ]
    x, y = samples(rows)
    assert x.shape == (2, 5) and list(y) == [0.0, 1.0]
    assert x[1][INDICATORS.index("training")] == 10.0


def test_percentages_sum_to_100() -> None:
    assert sum(percentages({"interaction": 1, "training": 1, "feedback": 1}).values()) == 100
    assert percentages(dict.fromkeys(INDICATORS, 1.0)) == dict.fromkeys(INDICATORS, 20)


def test_report_needs_enough_outcomes_of_both_kinds() -> None:
    few = [("joined", 80, FULL)] * (MIN_OUTCOMES - 1)
    assert report(t, few, FULL)[0] is None
    one_class = [("joined", 80, FULL)] * MIN_OUTCOMES
    result, lines = report(t, one_class, FULL)
    assert result is None and lines[0].startswith("score.calibrate.one_class")


def test_fitted_weights_favour_the_indicator_that_predicts() -> None:
    rng = np.random.default_rng(1)
    rows = []
    for n in range(120):
        reneged = n % 3 == 0
        features = {name: float(rng.integers(0, 100)) for name in INDICATORS}
        features["interaction"] = float(rng.integers(0, 40) if reneged else rng.integers(60, 100))
        rows.append(("reneged" if reneged else "joined", 50, features))
    result, lines = report(t, rows, dict.fromkeys(INDICATORS, 1.0))
    assert result is not None and sum(result.weights.values()) == 100
    assert max(result.weights, key=lambda k: result.weights[k]) == "interaction"
    assert result.auc_fitted > 0.9 and result.auc_fitted >= result.auc_current
    assert any(line.startswith("SCORE_WEIGHT_INTERACTION=") for line in lines)


def test_apply_env_replaces_and_appends_and_keeps_the_rest(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# mine\nexport SCORE_WEIGHT_TRAINING=1\nOTHER=x\nscore_weight_training=2\n")
    weights = {
        "interaction": 40,
        "training": 20,
        "feedback": 20,
        "completeness": 10,
        "external": 10,
    }
    apply_env(env, weights)
    lines = env.read_text().splitlines()
    assert lines[:3] == ["# mine", "SCORE_WEIGHT_TRAINING=20", "OTHER=x"]
    assert "SCORE_WEIGHT_INTERACTION=40" in lines and len(lines) == 7
