"""Calibration: fit the score's weights to recorded outcomes (``run_bot.py calibrate``).

Each :class:`~storage.models.Outcome` row (joined / reneged, from ``/outcome``) keeps
the five indicators at the time (``features``). With at least :data:`MIN_OUTCOMES`
of them we:

1. measure the AUC of the current weights: how well the weighted sum of the
   indicators ranks the reneged below the joined (``roc_auc_score(reneged, -score)``);
2. fit a logistic regression of reneging on the five indicators (standardised,
   L2-regularised, C=1) and turn it into weights: a stability weight is the negated
   coefficient on the raw 0-100 scale, clipped at 0 (an indicator whose rise predicts
   *more* reneging gets no weight), normalised to percentages summing to 100;
3. report the AUC of those fitted weights on the same data (optimistic) and a
   cross-validated AUC (stratified 5-fold: weights fitted without the fold they score),
   which is the honest figure to compare with the current weights.

Nothing changes unless ``--apply`` writes the suggested ``SCORE_WEIGHT_*`` lines to the
``.env`` file. ``bench/cohort.py`` uses the same :func:`fit_weights` and :func:`calibrate`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.scoring.model import INDICATORS, normalise

MIN_OUTCOMES = 30
FOLDS = 5
ENV_NAMES = {name: f"SCORE_WEIGHT_{name.upper()}" for name in INDICATORS}

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Calibration:
    n: int
    reneged: int
    auc_current: float
    auc_fitted: float
    auc_cv: float | None
    weights: dict[str, int]  # percentages summing to 100


def samples(
    rows: Sequence[tuple[str, int | None, Mapping[str, Any]]],
) -> tuple[FloatArray, FloatArray]:
    """Feature matrix (n x 5) and reneged labels from (outcome, score, features) rows.

    Rows without all five indicators or with another outcome are left out.
    """
    xs: list[list[float]] = []
    ys: list[float] = []
    for outcome, _score, features in rows:
        if outcome not in ("joined", "reneged"):
            continue
        try:
            xs.append([float(features[name]) for name in INDICATORS])
        except (KeyError, TypeError, ValueError):
            continue
        ys.append(1.0 if outcome == "reneged" else 0.0)
    return np.asarray(xs, dtype=float).reshape(-1, len(INDICATORS)), np.asarray(ys, dtype=float)


def scores_for(x: FloatArray, weights: Mapping[str, float]) -> FloatArray:
    """The weighted sum (0-100) of each row's indicators."""
    w = normalise(weights)
    return np.asarray(x @ np.array([w[name] for name in INDICATORS]), dtype=float)


def auc(y: FloatArray, weights: Mapping[str, float], x: FloatArray) -> float:
    """AUC of the score for predicting reneging (a low score predicts it)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, -scores_for(x, weights)))


def fit_weights(x: FloatArray, y: FloatArray) -> dict[str, float] | None:
    """Stability weights (summing to 100) from a logistic regression; None when no
    indicator predicts staying (every coefficient clipped to 0)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(x), y)
    raw = -model.coef_[0] / scale  # per indicator point; positive = protects against reneging
    clipped = np.clip(raw, 0, None)
    total = float(clipped.sum())
    if total <= 0:
        return None
    return {
        name: float(100 * value / total) for name, value in zip(INDICATORS, clipped, strict=True)
    }


def percentages(weights: Mapping[str, float]) -> dict[str, int]:
    """Whole percentages summing to 100 (largest remainders get the rounding)."""
    w = normalise(weights)
    exact = {name: 100 * w[name] for name in INDICATORS}
    floors = {name: int(value) for name, value in exact.items()}
    left = 100 - sum(floors.values())
    for name in sorted(INDICATORS, key=lambda n: floors[n] - exact[n])[:left]:
        floors[name] += 1
    return floors


def cross_validated_auc(x: FloatArray, y: FloatArray, seed: int = 0) -> float | None:
    """AUC of weights fitted without the fold they score (stratified k-fold, pooled)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    minority = int(min(y.sum(), len(y) - y.sum()))
    folds = min(FOLDS, minority)
    if folds < 2:
        return None
    predicted = np.zeros(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(x, y):
        fitted = fit_weights(x[train], y[train]) or {name: 1.0 for name in INDICATORS}
        predicted[test] = scores_for(x[test], fitted)
    return float(roc_auc_score(y, -predicted))


def calibrate(x: FloatArray, y: FloatArray, current: Mapping[str, float]) -> Calibration:
    """Current vs fitted weights on these outcomes (needs both outcomes present)."""
    fitted = fit_weights(x, y)
    weights = percentages(fitted) if fitted is not None else percentages(current)
    return Calibration(
        n=len(y),
        reneged=int(y.sum()),
        auc_current=auc(y, current, x),
        auc_fitted=auc(y, {k: float(v) for k, v in weights.items()}, x),
        auc_cv=cross_validated_auc(x, y),
        weights=weights,
    )


def env_lines(weights: Mapping[str, int]) -> list[str]:
    return [f"{ENV_NAMES[name]}={weights[name]}" for name in INDICATORS]


def apply_env(path: Path, weights: Mapping[str, int]) -> None:
    """Set the SCORE_WEIGHT_* lines in a .env file: replace them where they are, append the
    missing ones, leave every other line alone (created when missing)."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    wanted = dict(zip((ENV_NAMES[n] for n in INDICATORS), env_lines(weights), strict=True))
    done: set[str] = set()
    out: list[str] = []
    for line in lines:
        match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
        key = match.group(1).upper() if match else None
        if key in wanted:
            if key not in done:
                out.append(wanted[key])
                done.add(key)
            continue
        out.append(line)
    out += [line for key, line in wanted.items() if key not in done]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def report(
    t: Callable[..., str],
    rows: Sequence[tuple[str, int | None, Mapping[str, Any]]],
    current: Mapping[str, float],
) -> tuple[Calibration | None, list[str]]:
    """The calibration and the lines to print (``t`` renders catalog texts)."""
    x, y = samples(rows)
    if len(y) < MIN_OUTCOMES:
        return None, [t("score.calibrate.too_few", needed=MIN_OUTCOMES, count=len(y))]
    if y.sum() == 0 or y.sum() == len(y):
        return None, [t("score.calibrate.one_class", count=len(y))]
    result = calibrate(x, y, current)
    cv = "-" if result.auc_cv is None else f"{result.auc_cv:.3f}"
    lines = [
        t("score.calibrate.summary", count=result.n, reneged=result.reneged),
        t("score.calibrate.current", auc=f"{result.auc_current:.3f}"),
        t("score.calibrate.fitted", auc=f"{result.auc_fitted:.3f}", cv=cv),
        t("score.calibrate.weights"),
        *env_lines(result.weights),
    ]
    return result, lines
