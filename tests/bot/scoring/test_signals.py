"""Signals from raw facts (pure): windows, reply delays, tags, documents, the survey."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.scoring.signals import aggregate, median_reply_hours
from storage.models import DocumentStatus, OfferStatus
from storage.signals import CourseFact, Facts, SurveyFact

NOW = datetime(2026, 6, 20, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_median_reply_hours() -> None:
    sent = [NOW - 100 * H, NOW - 80 * H, NOW - 10 * H]
    replies = [NOW - 98 * H]  # 2 h after the first; the second never answered (48 h)
    # the third was sent 10 h ago and is not answered yet: left out
    assert median_reply_hours(sent, replies, NOW) == 25.0
    assert median_reply_hours([], [], NOW) is None
    assert median_reply_hours([NOW - H], [], NOW) is None


def test_interactions_count_inside_the_window_only() -> None:
    facts = Facts(
        start=NOW - timedelta(days=30),
        interactions=[
            (NOW - timedelta(days=1), "text"),
            (NOW - timedelta(days=2), "button"),
            (NOW - timedelta(days=3), "click"),
            (NOW - timedelta(days=20), "text"),  # outside the 14-day window
        ],
        last_interaction_at=NOW - timedelta(days=1),
        sent_at=[NOW - timedelta(days=2), NOW - timedelta(days=40)],
    )
    s = aggregate(facts, NOW)
    assert (s.replies, s.taps, s.clicks, s.sent) == (1, 1, 1, 1)
    assert s.days_since_offer == 30 and s.days_since_interaction == 1 and s.ever_interacted


def test_never_interacted_counts_silence_from_the_start() -> None:
    s = aggregate(Facts(start=NOW - timedelta(days=5)), NOW)
    assert not s.ever_interacted and s.days_since_interaction == 5
    assert s.other_offer is None and not s.survey_answered


def test_courses_documents_and_tags() -> None:
    facts = Facts(
        start=NOW - timedelta(days=10),
        courses_assigned=3,
        courses=[
            CourseFact(True, 4, 5, NOW - 2 * H, NOW - H),  # 60 min, capped at 30
            CourseFact(False, 1, 5, NOW - H, NOW - H + timedelta(minutes=10)),
            CourseFact(False, 0, 0, None, None),  # not attempted
        ],
        documents_required=frozenset({"id_card", "diploma", "bank_card"}),
        documents={
            "id_card": DocumentStatus.APPROVED.value,
            "diploma": DocumentStatus.REJECTED.value,
            "photo": DocumentStatus.APPROVED.value,  # not required: ignored
        },
        tags=(" 有其他Offer ", "担心团队"),
        offer_status=OfferStatus.DELAYED.value,
        recent_scores=[70, 82, 64],
    )
    s = aggregate(facts, NOW)
    assert (s.courses_assigned, s.courses_attempted, s.courses_passed) == (3, 2, 1)
    assert s.quiz_ratio == 0.5 and s.training_minutes == 40.0
    # Still deciding on the offer: no document is asked for yet, so none is missing.
    assert (s.documents_required, s.documents_submitted, s.documents_approved) == (0, 0, 0)
    assert s.other_offer_tag and s.worried_team and s.offer_delayed
    assert s.best_recent_score == 82
    accepted = aggregate(replace(facts, offer_status=OfferStatus.ACCEPTED.value), NOW)
    assert (accepted.documents_required, accepted.documents_submitted) == (3, 1)
    assert accepted.documents_approved == 1


def test_survey_answers() -> None:
    worried = SurveyFact({"confidence": 2}, None, "不太了解团队的氛围")
    s = aggregate(Facts(start=NOW, survey=worried), NOW)
    assert s.survey_answered and s.worried_team and s.other_offer == "private"
    calm = SurveyFact({"confidence": 2}, "yes", "期待入职")
    s = aggregate(Facts(start=NOW, survey=calm), NOW)
    assert not s.worried_team and s.other_offer == "yes" and s.ratings == {"confidence": 2}


def test_unanswered_messages_count_from_the_first_after_their_last_word() -> None:
    last = NOW - timedelta(days=6)
    one = Facts(start=NOW - timedelta(days=20), last_interaction_at=last)
    one.sent_at = [last - timedelta(days=1), NOW - timedelta(days=4)]
    assert aggregate(one, NOW).days_unanswered == 0  # one unanswered message is not silence
    two = Facts(start=NOW - timedelta(days=20), last_interaction_at=last)
    two.sent_at = [NOW - timedelta(days=4), NOW - timedelta(days=1)]
    s = aggregate(two, NOW)
    assert (s.days_unanswered, s.days_since_interaction) == (4, 6)
    # Only messages that asked something count: news and greetings expect no answer.
    two.asked_at = [NOW - timedelta(days=1)]
    assert aggregate(two, NOW).days_unanswered == 0
