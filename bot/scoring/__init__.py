"""Risk scoring: the pure stability model, its words, the signals it reads and its jobs.

Calibration (numpy, scikit-learn) loads only when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from bot.scoring.jobs import after_interaction, daily_recompute
from bot.scoring.model import DEFAULT_WEIGHTS, INDICATORS, Score, Signals, Thresholds, compute
from bot.scoring.signals import aggregate
from bot.scoring.wording import action_text, band_label, reason_text, reasons_text


def __getattr__(name: str) -> Any:
    if name == "calibrate":
        return importlib.import_module("bot.scoring.calibrate")
    raise AttributeError(name)


__all__ = [
    "DEFAULT_WEIGHTS",
    "INDICATORS",
    "Score",
    "Signals",
    "Thresholds",
    "action_text",
    "after_interaction",
    "aggregate",
    "band_label",
    "compute",
    "daily_recompute",
    "reason_text",
    "reasons_text",
]
