"""The one source of "now" for the whole bot.

Code never calls ``datetime.now()``: it asks a :class:`Clock`, so tests and the
console can move time (``:clock +3d``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current time, timezone-aware in UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """Real time, shifted by an offset the console may move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


class FixedClock:
    """A clock that only moves when told; for tests and simulations."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)


_DELTA = re.compile(r"^\+?(\d+)\s*([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_delta(text: str) -> timedelta:
    """Parse ``+3d``, ``12h`` or ``30m`` into a timedelta; raise ValueError otherwise."""
    match = _DELTA.match(text.strip().lower())
    if not match:
        raise ValueError(text)
    amount, unit = match.groups()
    return timedelta(**{_UNITS[unit]: int(amount)})
