"""Fixtures shared by the scoring tests."""

from __future__ import annotations

import pytest

from bot.core.i18n import I18n


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return I18n()
