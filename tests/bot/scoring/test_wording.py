"""The score in words: reasons, bands and the suggested actions, in both languages."""

from __future__ import annotations

from dataclasses import replace

from bot.core.i18n import I18n
from bot.scoring import model as scoring
from bot.scoring import wording
from bot.scoring.model import compute
from tests.bot.scoring.test_model import IDLE


def test_reason_and_action_texts(i18n: I18n) -> None:
    assert wording.reason_text(i18n, "zh", {"code": "silent", "days": 4}) == "已经 4 天没有任何互动"
    assert wording.reason_text(i18n, "en", {"code": "silent", "days": 4}) == "silent for 4 days"
    low = {"code": "low_rating", "topic": "hr_communication", "rating": 2}
    assert wording.reason_text(i18n, "zh", low) == "问卷里「与 HR 的沟通」只打了 2 分"
    assert wording.reason_text(i18n, "en", {"code": "docs_missing", "count": 2}) == (
        "2 documents still missing"
    )
    assert wording.band_label(i18n, "zh", "high") == "高风险"
    assert wording.band_label(i18n, "en", "medium") == "medium risk"
    offer: list[dict[str, object]] = [
        {"code": "other_offer"},
        {"code": "docs_missing", "count": 1},
    ]
    assert wording.action_text(i18n, "en", offer, name="Zhang San") == (
        "send the team's daily-life video and call them; remind them with /remind Zhang San"
    )
    assert "约经理" in wording.action_text(i18n, "zh", [{"code": "worried_team"}])
    assert "约经理" in wording.action_text(
        i18n, "zh", [{"code": "low_rating", "topic": "confidence", "rating": 1}]
    )
    assert "/remind not-trained" in wording.action_text(i18n, "en", [{"code": "training_behind"}])
    assert wording.action_text(i18n, "zh", []) == "暂时不需要特别跟进"
    # Every reason code has words in both languages and an action.
    every = [
        *compute(
            replace(
                IDLE,
                days_since_interaction=5,
                days_unanswered=5,
                other_offer="private",
                offer_delayed=True,
                bound=False,
                worried_team=True,
                survey_answered=False,
                checkin="worried",
                best_recent_score=100,
            ),
            scoring.DEFAULT_WEIGHTS,
        ).reasons,
        {"code": "low_interaction"},
        {"code": "other_offer"},
        {"code": "silent", "days": 5},
        {"code": "low_score"},  # the high band with no other reason
        low,
    ]
    assert {r["code"] for r in every} == set(wording.ACTIONS) | {"low_rating"}
    for reason in every:
        for lang in ("zh", "en"):
            assert f"score.reason.{reason['code']}" in i18n.keys(lang)
            assert "{" not in wording.reason_text(i18n, lang, reason)
            assert wording.action_text(i18n, lang, [reason]) != i18n.t(lang, "score.action.none")
