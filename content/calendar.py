"""China's public holidays, as journey slots name them: the one holiday calendar.

Slots name a holiday in English as the ``holidays`` library does
(``"Mid-Autumn Festival"``); greetings show the Chinese name the same library
gives that day. Two holidays on one day ("Mid-Autumn Festival; National Day")
are told apart by their position.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

import holidays

HOLIDAY_LANGUAGE = "en_US"  # the language slot names are written in
_YEARS = range(2020, 2041)  # the years a slot name is checked against


@dataclass(frozen=True, slots=True)
class Holiday:
    day: date  # its first day in that year
    name: str  # as the slot names it (English)
    name_zh: str


@functools.cache
def _calendar(year: int, language: str) -> dict[date, tuple[str, ...]]:
    days = holidays.country_holidays("CN", years=year, language=language)
    return {day: tuple(part.strip() for part in name.split(";")) for day, name in days.items()}


@functools.cache
def holiday_names() -> frozenset[str]:
    """Names a holiday slot may use: public holidays, without "observed" or swap days."""
    return frozenset(
        part
        for year in _YEARS
        for parts in _calendar(year, HOLIDAY_LANGUAGE).values()
        for part in parts
        if "(observed)" not in part and not part.startswith("Day off")
    )


@functools.cache
def is_holiday_name(name: str) -> bool:
    """``name in holiday_names()``, looking at one year at a time and stopping at the first
    that has it: a real name is found in the first year, without building all 21 (a fifth
    of a second at start-up, where every holiday slot is checked)."""
    return any(
        name in parts and "(observed)" not in name and not name.startswith("Day off")
        for year in _YEARS
        for parts in _calendar(year, HOLIDAY_LANGUAGE).values()
    )


@functools.cache
def china_holiday(name: str, year: int) -> Holiday | None:
    """The holiday called ``name`` in ``year`` (its first day, both names), or None."""
    english = _calendar(year, HOLIDAY_LANGUAGE)
    days = sorted(day for day, parts in english.items() if name in parts)
    if not days:
        return None
    first = days[0]
    chinese = _calendar(year, "zh_CN").get(first, ())
    index = english[first].index(name)
    return Holiday(first, name, chinese[index] if index < len(chinese) else name)
