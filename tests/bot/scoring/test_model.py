"""The stability score on constructed candidates: formulas, bands, rules, weights, words."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.settings import Settings
from bot.scoring import model as scoring
from bot.scoring.model import Signals, Thresholds, compute

LATE = 30  # days after the offer: everything is expected (expected() == 1)

# A candidate doing everything right, a month after the offer.
GOOD = Signals(
    days_since_offer=LATE,
    sent=4,
    replies=3,
    taps=2,
    clicks=1,
    median_reply_hours=1.0,
    days_since_interaction=0,
    ever_interacted=True,
    courses_assigned=3,
    courses_attempted=3,
    courses_passed=3,
    quiz_ratio=1.0,
    training_minutes=30,
    questions=2,
    survey_answered=True,
    ratings={"hr_communication": 5, "next_steps": 5, "confidence": 5},
    documents_required=4,
    documents_submitted=4,
    documents_approved=4,
    has_phone=True,
    has_email=True,
    bound=True,
    other_offer="no",
)
# ... and one doing nothing at all (but still talking to the bot, so not silent).
IDLE = Signals(
    days_since_offer=LATE,
    sent=4,
    days_since_interaction=0,
    ever_interacted=True,
    courses_assigned=3,
    documents_required=4,
    bound=True,
)


def codes(score: scoring.Score) -> list[str]:
    return [r["code"] for r in score.reasons]


# ---- expected share of the work ---------------------------------------------------------------


def test_expected_ramps_from_day_2_to_day_16() -> None:
    assert scoring.expected(0) == scoring.expected(2) == 0
    assert scoring.expected(9) == pytest.approx(0.5)
    assert scoring.expected(16) == scoring.expected(60) == 1


def test_expected_ramps_towards_the_candidates_own_due_date() -> None:
    # Training in 62 days: at day 32 half the courses are expected, not all of them.
    assert scoring.expected(32, 62) == pytest.approx(0.5)
    assert scoring.expected(62, 62) == scoring.expected(70, 62) == 1
    assert scoring.expected(1, 62) == 0
    # A due date at or before the end of the grace days: due once they are over.
    assert scoring.expected(2, 1) == scoring.expected(3, -5) == 1
    assert scoring.expected(1, -5) == 0
    # Six weeks in with the training still seven weeks away: not "behind on training".
    waiting = replace(IDLE, days_since_offer=42, training_due_days=90, documents_due_days=60)
    assert scoring.training(replace(IDLE, days_since_offer=42)) < 50
    assert scoring.training(waiting) >= 50
    assert scoring.completeness(waiting) > scoring.completeness(replace(IDLE, days_since_offer=42))
    assert "training_behind" not in codes(compute(waiting, scoring.DEFAULT_WEIGHTS))


# ---- interaction ------------------------------------------------------------------------------


def test_interaction_edges_and_middle() -> None:
    assert scoring.interaction(GOOD) == 100
    # Four messages, no answer, a week of silence, every message left 48 h: 0.
    none = replace(IDLE, median_reply_hours=48.0, days_since_interaction=7)
    assert scoring.interaction(none) == 0
    # Half answered (rate 0.5), median 24.5 h (speed 0.5), last seen 3.5 -> 3 days ago.
    middle = replace(IDLE, replies=2, median_reply_hours=24.5, days_since_interaction=3)
    expected = 100 * (0.5 * 0.5 + 0.25 * 0.5 + 0.25 * (1 - 3 / 7))
    assert scoring.interaction(middle) == round(expected) == 52
    # Nothing sent and nothing done: neutral rate 0.5, speed follows the rate.
    quiet = replace(IDLE, sent=0, days_since_interaction=0)
    assert scoring.interaction(quiet) == round(100 * (0.5 * 0.5 + 0.25 * 0.5 + 0.25))
    # Taps and clicks count like replies; more responses than messages is capped.
    assert scoring.interaction(replace(IDLE, taps=10, days_since_interaction=0)) == 100


# ---- training ---------------------------------------------------------------------------------


def test_training_edges_and_middle() -> None:
    assert scoring.training(GOOD) == 100
    assert scoring.training(IDLE) == 0
    # No course, or too early to expect anything: 100.
    assert scoring.training(replace(IDLE, courses_assigned=0)) == 100
    assert scoring.training(replace(IDLE, days_since_offer=1)) == 100
    # One of three passed, 80 % right, 5 minutes on the one course attempted.
    middle = replace(
        IDLE, courses_attempted=1, courses_passed=1, quiz_ratio=0.8, training_minutes=5
    )
    assert scoring.training(middle) == round(100 * (0.6 * (1 / 3) + 0.25 * 0.8 + 0.15 * 1))
    # Half-way through the ramp (day 9), nothing done: only half the shortfall counts.
    early = replace(IDLE, days_since_offer=9)
    assert scoring.training(early) == round(100 * (0.6 * 0.5 + 0.25 * 0.5 + 0.15 * 0.5))


# ---- feedback ---------------------------------------------------------------------------------


def test_feedback_edges_and_middle() -> None:
    assert scoring.feedback(GOOD) == 100
    # Late, no survey, no questions: only the neutral half of "questions" is left.
    assert scoring.feedback(IDLE) == round(100 * 0.2 * 0.5) == 10
    # All ratings 1: the survey counts, the ratings do not.
    ones = replace(IDLE, survey_answered=True, ratings={"a": 1, "b": 1, "c": 1})
    assert scoring.feedback(ones) == round(100 * (0.35 + 0 + 0.1))
    middle = replace(IDLE, survey_answered=True, ratings={"a": 3, "b": 3}, questions=1)
    assert scoring.feedback(middle) == round(100 * (0.35 + 0.45 * 0.5 + 0.2 * 0.75))
    # Day 0: not answering yet is fine.
    assert scoring.feedback(replace(IDLE, days_since_offer=0)) == round(100 * (0.35 + 0.45 + 0.1))


# ---- completeness -----------------------------------------------------------------------------


def test_completeness_edges_and_middle() -> None:
    assert scoring.completeness(GOOD) == 100
    nothing = replace(IDLE, bound=False)
    assert scoring.completeness(nothing) == 0
    # 2 of 4 submitted, 1 approved: (2 + 1) / 8 done; phone, no email, bound.
    middle = replace(IDLE, documents_submitted=2, documents_approved=1, has_phone=True)
    assert scoring.completeness(middle) == round(100 * (0.8 * 3 / 8 + 0.2 * 2 / 3))
    assert scoring.completeness(replace(IDLE, documents_required=0)) == round(100 * (0.8 + 0.2 / 3))


# ---- external ---------------------------------------------------------------------------------


def test_external_values() -> None:
    assert scoring.external(GOOD) == 100
    assert scoring.external(replace(GOOD, other_offer=None)) == 80  # not asked
    assert scoring.external(replace(GOOD, other_offer="private")) == 50
    assert scoring.external(replace(GOOD, other_offer="yes")) == 0
    assert scoring.external(replace(GOOD, other_offer_tag=True)) == 0  # HR tag beats "no"
    assert scoring.external(replace(GOOD, offer_delayed=True)) == 60


# ---- score, bands, rules ---------------------------------------------------------------------


def test_score_is_the_weighted_sum_of_the_indicators() -> None:
    weights = Settings(_env_file=None).score_weights  # type: ignore[call-arg]
    assert compute(GOOD, weights).score == 100
    result = compute(IDLE, weights)
    ind = result.indicators
    manual = sum(weights[name] * ind[name] for name in scoring.INDICATORS)
    assert result.score == round(manual)
    assert result.band == "high"


@pytest.mark.parametrize(
    ("score", "band"), [(25, "high"), (54, "high"), (55, "medium"), (80, "medium"), (81, "low")]
)
def test_bands_at_the_thresholds(score: int, band: str) -> None:
    assert scoring.band_of(score, Thresholds()) == band
    # All the weight on interaction, 75 messages sent, R answered, seen today:
    # interaction = 100 * (0.5 * R/75 + 0.25 * R/75 + 0.25) = R + 25.
    signals = replace(IDLE, sent=75, replies=score - 25, days_since_interaction=0)
    result = compute(signals, {"interaction": 1})
    assert (result.score, result.band) == (score, band)


def test_thresholds_come_from_settings() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, score_high_risk_below=50, score_low_risk_above=70, silence_days=3
    )
    thresholds = Thresholds.from_settings(settings)
    assert [scoring.band_of(s, thresholds) for s in (49, 50, 70, 71)] == [
        "high",
        "medium",
        "medium",
        "low",
    ]
    assert (
        compute(replace(GOOD, days_since_interaction=2, days_unanswered=2), {}, thresholds).band
        == "low"
    )
    assert (
        compute(replace(GOOD, days_since_interaction=3, days_unanswered=3), {}, thresholds).band
        == "high"
    )


def test_silence_rule_puts_a_good_score_in_the_high_band() -> None:
    silent = replace(GOOD, days_since_interaction=6, days_unanswered=5)
    result = compute(silent, scoring.DEFAULT_WEIGHTS)
    assert result.score > 80 and result.band == "high"
    assert result.reasons[0] == {"code": "silent", "days": 6}
    four_days = compute(
        replace(GOOD, days_since_interaction=4, days_unanswered=4), scoring.DEFAULT_WEIGHTS
    )
    assert four_days.band == "low" and "silent" not in codes(four_days)
    exactly = compute(
        replace(GOOD, days_since_interaction=5, days_unanswered=5), scoring.DEFAULT_WEIGHTS
    )
    assert exactly.band == "high" and exactly.reasons[0] == {"code": "silent", "days": 5}


def test_drop_rule_compares_with_the_best_of_the_last_week() -> None:
    weights = scoring.DEFAULT_WEIGHTS
    now = compute(replace(GOOD, other_offer="private"), weights).score  # 95
    assert now == 95
    dropped = compute(replace(GOOD, other_offer="private", best_recent_score=now + 15), weights)
    assert {"code": "drop", "points": 15} in dropped.reasons
    small = compute(replace(GOOD, other_offer="private", best_recent_score=now + 14), weights)
    assert "drop" not in codes(small)
    assert "drop" not in codes(compute(GOOD, weights))  # no history


def test_weights_from_settings_change_the_score() -> None:
    signals = replace(GOOD, courses_passed=0, courses_attempted=0, quiz_ratio=None)  # training 0
    default = Settings(_env_file=None).score_weights  # type: ignore[call-arg]
    assert compute(signals, default).score == 75
    heavy = Settings(  # type: ignore[call-arg]
        _env_file=None,
        score_weight_training=75,
        score_weight_interaction=25,
        score_weight_feedback=0,
        score_weight_completeness=0,
        score_weight_external=0,
    ).score_weights
    assert compute(signals, heavy).score == 25  # 0.75 * 0 + 0.25 * 100
    none = Settings(  # type: ignore[call-arg]
        _env_file=None, score_weight_training=0
    ).score_weights
    assert compute(signals, none).score == 100  # training no longer counts


def test_reasons_most_important_first() -> None:
    signals = replace(
        IDLE,
        days_since_interaction=5,
        days_unanswered=5,
        other_offer="yes",
        survey_answered=True,
        ratings={"hr_communication": 4, "next_steps": 2, "confidence": 1},
        worried_team=True,
        documents_submitted=1,
        best_recent_score=90,
    )
    result = compute(signals, scoring.DEFAULT_WEIGHTS)
    assert codes(result)[:7] == [
        "silent",
        "other_offer",
        "drop",
        "worried_team",
        "low_rating",
        "low_rating",
        "training_behind",
    ]
    assert result.reasons[4] == {"code": "low_rating", "topic": "confidence", "rating": 1}
    assert {"code": "docs_missing", "count": 3} in result.reasons
    assert "low_interaction" not in codes(result)  # silence says it already


def test_no_reasons_for_a_good_candidate() -> None:
    assert compute(GOOD, scoring.DEFAULT_WEIGHTS).reasons == []


# ---- words ------------------------------------------------------------------------------------


def test_the_weekly_check_in_moves_feedback() -> None:
    before = replace(IDLE, days_since_offer=10)
    fine = scoring.feedback(replace(before, checkin="fine"))
    worried = scoring.feedback(replace(before, checkin="worried"))
    assert worried < scoring.feedback(before) < fine
    # After the survey the check-in is 40 % of ratings: a worried week lowers a good survey.
    surveyed = replace(before, survey_answered=True, ratings={"hr_communication": 5})
    assert scoring.feedback(replace(surveyed, checkin="worried")) < scoring.feedback(surveyed)
    reasons = compute(replace(before, checkin="worried"), scoring.DEFAULT_WEIGHTS).reasons
    assert {"code": "checkin_worried"} in reasons


def test_silence_counts_from_the_first_unanswered_message() -> None:
    # Answered the last check-in a week ago, nothing sent since: not silent.
    answered = replace(GOOD, days_since_interaction=7, days_unanswered=0)
    assert not any(r["code"] == "silent" for r in compute(answered, {}).reasons)
    # A weekend without a word after answering, with Friday's digest unanswered: not silent.
    weekend = replace(GOOD, days_since_interaction=3, days_unanswered=0)
    assert compute(weekend, {}).band != "high"
    # Two messages left unanswered for five days: silent, with the days since their last word.
    ignored = replace(GOOD, days_since_interaction=6, days_unanswered=5)
    result = compute(ignored, scoring.DEFAULT_WEIGHTS)
    assert result.band == "high" and result.reasons[0] == {"code": "silent", "days": 6}
    # Nothing from either side for two weeks is silence too; unbound people are not silent.
    assert compute(replace(GOOD, days_since_interaction=14), {}).band == "high"
    unbound = replace(GOOD, bound=False, days_since_interaction=20, days_unanswered=20)
    assert not any(r["code"] == "silent" for r in compute(unbound, {}).reasons)


# ---- band and reasons agree ------------------------------------------------------------------


@pytest.mark.parametrize(
    "concern",
    [
        {"other_offer": "yes"},
        {"other_offer_tag": True},
        {"ratings": {"hr_communication": 2, "next_steps": 5, "confidence": 5}},
        {"offer_delayed": True},
        {"worried_team": True},
        {"checkin": "worried"},
        {"other_offer": "private"},
    ],
)
def test_a_stated_concern_keeps_a_candidate_out_of_the_low_band(concern: dict) -> None:
    signals = replace(GOOD, **concern)
    result = compute(signals, scoring.DEFAULT_WEIGHTS)
    assert result.score > Thresholds().low_risk_above  # the sum alone would say "low"
    assert result.band == "medium"
    assert result.reasons  # and the reason is there to read
    assert compute(GOOD, scoring.DEFAULT_WEIGHTS).band == "low"


def test_the_quoted_contradiction_is_gone() -> None:
    # "84 分（低风险）… 主要原因：手上有其他 offer；问卷里「与 HR 的沟通」只打了 2 分"
    signals = replace(
        GOOD,
        other_offer="yes",
        ratings={"hr_communication": 2, "next_steps": 5, "confidence": 5},
    )
    result = compute(signals, scoring.DEFAULT_WEIGHTS)
    assert result.band == "medium"
    assert codes(result)[:2] == ["other_offer", "low_rating"]


def test_a_high_band_always_has_a_reason() -> None:
    # A low sum with no single weak spot (every indicator just above its reason line).
    middling = replace(
        GOOD,
        sent=10,
        replies=3,
        taps=0,
        clicks=0,
        median_reply_hours=30,
        days_since_interaction=3,
        courses_passed=2,
        quiz_ratio=0.5,
        training_minutes=5,
        ratings={"hr_communication": 3, "next_steps": 3, "confidence": 3},
        documents_submitted=3,
        documents_approved=1,
        has_email=False,
        other_offer=None,
    )
    strict = Thresholds(high_risk_below=75)
    result = compute(middling, scoring.DEFAULT_WEIGHTS, strict)
    assert result.band == "high"
    assert result.reasons[0]["code"] in {"low_score", "low_interaction", "training_behind"}
    bare = compute(middling, scoring.DEFAULT_WEIGHTS, Thresholds(high_risk_below=100))
    assert bare.band == "high" and bare.reasons
