"""The score in words: band and indicator names, reasons and the action each suggests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.core.i18n import I18n


# The action suggested for each reason code (catalog key suffix); low ratings depend on the topic.
ACTIONS: dict[str, str] = {
    "silent": "silent",
    "other_offer": "other_offer",
    "other_offer_private": "other_offer",
    "drop": "drop",
    "worried_team": "worried_team",
    "offer_delayed": "offer_delayed",
    "checkin_worried": "checkin_worried",
    "low_interaction": "low_interaction",
    "training_behind": "training_behind",
    "docs_missing": "docs_missing",
    "no_survey": "no_survey",
    "low_score": "low_score",
}
RATING_ACTIONS: dict[str, str] = {
    "hr_communication": "low_rating_hr",
    "next_steps": "low_rating_steps",
    "confidence": "worried_team",
}


def band_label(i18n: I18n, lang: str | None, band: str) -> str:
    """ "高风险" / "high risk", ..."""
    return i18n.t(lang, f"score.band.{band}")


def indicator_label(i18n: I18n, lang: str | None, name: str) -> str:
    return i18n.t(lang, f"score.indicator.{name}")


def reason_text(i18n: I18n, lang: str | None, reason: Mapping[str, Any]) -> str:
    """One reason in words, e.g. "已 4 天没有任何互动" / "silent for 4 days"."""
    code = str(reason.get("code", ""))
    values = {k: v for k, v in reason.items() if k != "code"}
    if code == "low_rating":
        topic = str(reason.get("topic", ""))
        values["topic"] = i18n.t(lang, f"survey.topic.{topic}")
    key = f"score.reason.{code}"
    text = i18n.t(lang, key, **values)
    return code if text == key else text


def reasons_text(
    i18n: I18n, lang: str | None, reasons: Sequence[Mapping[str, Any]], limit: int = 3
) -> str:
    """The top reasons joined ("；" in Chinese, "; " in English); "-" when there are none."""
    texts = [reason_text(i18n, lang, r) for r in reasons[:limit]]
    return i18n.t(lang, "score.joiner").join(texts) if texts else "-"


def _action_key(reason: Mapping[str, Any]) -> str | None:
    code = str(reason.get("code", ""))
    if code == "low_rating":
        return RATING_ACTIONS.get(str(reason.get("topic", "")), "low_rating_hr")
    return ACTIONS.get(code)


def action_text(
    i18n: I18n,
    lang: str | None,
    reasons: Sequence[Mapping[str, Any]],
    *,
    name: str | None = None,
    limit: int = 2,
) -> str:
    """The suggested action for the most important reasons (up to ``limit`` distinct ones).

    ``name`` fills "/remind NAME" for missing documents (a placeholder otherwise).
    """
    keys: list[str] = []
    for reason in reasons:
        key = _action_key(reason)
        if key is not None and key not in keys:
            keys.append(key)
        if len(keys) >= limit:
            break
    if not keys:
        return i18n.t(lang, "score.action.none")
    who = name or i18n.t(lang, "score.name_placeholder")
    texts = [i18n.t(lang, f"score.action.{key}", name=who) for key in keys]
    return i18n.t(lang, "score.joiner").join(texts)
