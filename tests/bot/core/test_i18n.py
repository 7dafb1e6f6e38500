"""Every text exists in both languages, and every key the code uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from bot.core.i18n import I18n
from bot.people.binding import BindStatus
from storage.models import OfferStatus

ROOT = Path(__file__).resolve().parents[3]
KEY_IN_CODE = re.compile(r"""\bt\(\s*(?:[\w.]+,\s*)?["']([a-z_]+(?:\.[a-z_0-9]+)+)["']""")
KEY_ARG = re.compile(r"""["']((?:import|bind|common|status|help|progress|next)\.[a-z_.]+)["']""")


def _keys_in_code() -> set[str]:
    keys: set[str] = set()
    for package in ("bot", "flows", "content", "adapters"):
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            keys.update(KEY_IN_CODE.findall(source))
            keys.update(KEY_ARG.findall(source))
    return keys


def test_catalogs_have_the_same_keys() -> None:
    i18n = I18n()
    assert i18n.keys("zh") == i18n.keys("en")
    assert len(i18n.keys("zh")) > 50


def test_every_key_used_in_code_exists() -> None:
    i18n = I18n()
    used = _keys_in_code()
    assert "bind.welcome" in used  # the scan itself works
    missing = sorted(k for k in used if k not in i18n.keys("zh"))
    assert missing == []


def test_dynamic_key_families_exist() -> None:
    keys = I18n().keys("zh")
    for status in BindStatus:
        if status not in (BindStatus.BOUND, BindStatus.LOCKED):
            assert f"bind.{status.value}" in keys
    for offer in OfferStatus:
        assert f"offer_status.{offer.value}" in keys
    for platform in ("telegram", "wecom", "feishu", "console"):
        assert f"platform.{platform}" in keys


def test_formatting_and_fallback() -> None:
    i18n = I18n()
    assert i18n.t("en", "bind.welcome", name="Li", department="R&D", rank=3).startswith(
        "Welcome, Li!"
    )
    assert "李" in i18n.t("zh", "bind.welcome", name="李", department="研发", rank=3)
    assert i18n.t("fr", "help.title") == i18n.t("zh", "help.title")
