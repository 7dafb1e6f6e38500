"""Dates as candidates type them."""

from __future__ import annotations

import re
from datetime import date

_FULL = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_SHORT = re.compile(r"^\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


def parse_user_date(text: str, today: date) -> date | None:
    """``2026-07-01``, ``2026/7/1``, ``2026年7月1日``, or ``7月1日``/``7-1`` (next such date)."""
    match = _FULL.match(text)
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
        match = _SHORT.match(text)
        if match:
            when = date(today.year, int(match[1]), int(match[2]))
            return when if when >= today else date(today.year + 1, int(match[1]), int(match[2]))
    except ValueError:
        return None
    return None
