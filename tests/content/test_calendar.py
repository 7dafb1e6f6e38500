"""The holiday calendar: names as slots write them, first days, Chinese names."""

from __future__ import annotations

from datetime import date

from content.calendar import Holiday, china_holiday, holiday_names

SPRING = "Chinese New Year (Spring Festival)"


def test_first_day_and_both_names() -> None:
    assert china_holiday(SPRING, 2026) == Holiday(date(2026, 2, 17), SPRING, "春节")
    national = Holiday(date(2026, 10, 1), "National Day", "国庆节")
    assert china_holiday("National Day", 2026) == national


def test_two_holidays_on_one_day_keep_their_own_names() -> None:
    shared = china_holiday("Mid-Autumn Festival", 2020)  # on National Day that year
    assert shared == Holiday(date(2020, 10, 1), "Mid-Autumn Festival", "中秋节")
    national = Holiday(date(2020, 10, 1), "National Day", "国庆节")
    assert china_holiday("National Day", 2020) == national


def test_unknown_names_and_swap_days_are_not_holidays() -> None:
    assert china_holiday("Christmas", 2026) is None
    names = holiday_names()
    assert {SPRING, "Mid-Autumn Festival", "National Day"} <= names
    assert not any("observed" in n or n.startswith("Day off") for n in names)


def test_is_holiday_name_agrees_with_holiday_names() -> None:
    """The start-up check (one year at a time) says what membership of the full set says."""
    from content.calendar import _YEARS, HOLIDAY_LANGUAGE, _calendar, is_holiday_name

    names = holiday_names()
    assert all(is_holiday_name(name) for name in names)
    for other in ("Christmas Day", "national day", "", "National Day (observed)"):
        assert is_holiday_name(other) == (other in names)
    day_off = sorted(
        part
        for year in _YEARS
        for parts in _calendar(year, HOLIDAY_LANGUAGE).values()
        for part in parts
        if part.startswith("Day off") or "(observed)" in part
    )
    assert day_off and not any(is_holiday_name(part) for part in day_off)
