"""A person's time zone and quiet hours, each written once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.quiet import is_quiet, next_allowed
from bot.core.zones import person_zone, zone_named

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Person:
    timezone: str | None


def test_own_zone_else_the_default() -> None:
    assert person_zone(Person("Europe/London"), "Asia/Shanghai") == ZoneInfo("Europe/London")
    assert person_zone(Person(None), "Asia/Shanghai") == SHANGHAI
    assert person_zone(None, "Asia/Shanghai") == SHANGHAI


@pytest.mark.parametrize("bad", ["Mars/Olympus", "../../etc/passwd", "", "Asia/Shanghai\x00"])
def test_a_bad_zone_falls_back_with_a_warning(bad: str, caplog: pytest.LogCaptureFixture) -> None:
    zone_named.cache_clear()
    with caplog.at_level(logging.WARNING, logger="bot.core.zones"):
        assert person_zone(Person(bad), "Asia/Shanghai") == SHANGHAI
    assert bool(caplog.records) == bool(bad)


def test_quiet_hours_wrap_midnight() -> None:
    night = datetime(2026, 6, 1, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    morning = datetime(2026, 6, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert is_quiet(night, SHANGHAI, 21, 9)
    assert not is_quiet(morning, SHANGHAI, 21, 9)
    assert next_allowed(night, SHANGHAI, 21, 9) == morning
    early = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)  # 04:00 in Shanghai: same morning
    assert next_allowed(early, SHANGHAI, 21, 9) == morning
    assert next_allowed(morning, SHANGHAI, 21, 9) == morning


def test_quiet_hours_within_a_day_and_switched_off() -> None:
    lunch = datetime(2026, 6, 1, 4, 30, tzinfo=UTC)  # 12:30 in Shanghai
    assert is_quiet(lunch, SHANGHAI, 12, 14)
    assert next_allowed(lunch, SHANGHAI, 12, 14) == datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
    assert not is_quiet(lunch, SHANGHAI, 9, 9)  # start == end: never quiet
