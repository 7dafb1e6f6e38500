"""Quiet hours: scheduled messages wait until morning in the recipient's time zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.core.settings import Settings


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


def staff_hours(now: datetime, settings: Settings, *, weekends: bool = False) -> bool:
    """Whether a note to staff that is not urgent may be written at ``now``: from
    DIGEST_HOUR until quiet hours begin, local time, on working days (Saturday and
    Sunday too with ``weekends`` or DIGEST_WEEKENDS). Written outside them, it would
    wait in the outbox and reach HR on a Saturday morning; checked again next morning,
    it is written then."""
    local = now.astimezone(settings.timezone)
    if local.hour < settings.digest_hour:
        return False
    if is_quiet(now, settings.timezone, settings.quiet_hours_start, settings.quiet_hours_end):
        return False
    return weekends or not is_weekend(now, settings)


def is_weekend(now: datetime, settings: Settings) -> bool:
    """Saturday or Sunday locally, unless DIGEST_WEEKENDS makes them working days for HR."""
    return now.astimezone(settings.timezone).weekday() >= 5 and not settings.digest_weekends
