"""Quiet hours: scheduled messages wait until morning in the recipient's time zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def is_quiet(when: datetime, tz: ZoneInfo, start: int, end: int) -> bool:
    """True when ``when`` falls in quiet hours [start:00, end:00) local time (may wrap midnight)."""
    hour = when.astimezone(tz).hour
    if start == end:
        return False
    if start > end:
        return hour >= start or hour < end
    return start <= hour < end


def next_allowed(when: datetime, tz: ZoneInfo, start: int, end: int) -> datetime:
    """``when`` itself, or the end of the quiet period it falls in (e.g. 09:00 next morning)."""
    if not is_quiet(when, tz, start, end):
        return when
    local = when.astimezone(tz)
    morning = datetime.combine(local.date(), time(end), tzinfo=tz)
    if morning <= local:
        morning = datetime.combine(local.date() + timedelta(days=1), time(end), tzinfo=tz)
    return morning.astimezone(when.tzinfo)
