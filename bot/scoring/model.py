"""The stability score: five indicators, a weighted sum, a band and its reasons (as data).

The words for bands and reasons are in bot/scoring/wording.py.

Pure computation, no I/O: :func:`compute` turns one candidate's :class:`Signals`
(gathered by ``storage.signals``) into a :class:`Score`. Every formula is written
out below and in ``docs/scoring.md``; all indicators are 0-100 and look at a
rolling window of :data:`WINDOW_DAYS` days where they count events.

Expectations grow with time, towards the candidate's own dates: a candidate who
got the offer yesterday is not "behind" on documents or training, and one whose
training starts in three months is not behind after three weeks. :func:`expected`
is the share of the work expected by now: 0 for the first :data:`GRACE_DAYS` days
after the offer, then rising linearly to 1 on the due date (courses: the training
date, else the first day; documents: the document deadline, else the first day;
without a date, :data:`DEFAULT_DUE_DAYS` days after the offer).

Unbound candidates are not scored at all ("not reached yet", see
``storage.signals``), nor are those who declined, reneged, joined or are past their
first day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.core.settings import Settings

INDICATORS: tuple[str, ...] = ("interaction", "training", "feedback", "completeness", "external")
DEFAULT_WEIGHTS: dict[str, float] = {
    "interaction": 30,
    "training": 25,
    "feedback": 20,
    "completeness": 15,
    "external": 10,
}
WINDOW_DAYS = 14  # interactions, messages sent and questions are counted over this window
DROP_WINDOW_DAYS = 7  # the drop rule compares with the best score of this many days before
GRACE_DAYS = 2
RAMP_DAYS = 14
DEFAULT_DUE_DAYS = GRACE_DAYS + RAMP_DAYS  # no due date known: everything due by day 16
REPLY_FAST_HOURS = 1.0  # a median reply within this is perfect speed
REPLY_SLOW_HOURS = 48.0  # ... and this slow (or no reply within it) is zero speed
RECENCY_DAYS = 7  # last interaction this many days ago: recency 0
# Silent without unanswered messages (the bot wrote nothing): after this many days.
LONG_SILENCE_DAYS = 14
MINUTES_PER_COURSE = 5.0  # time on a course's quiz counted as "took it seriously"
LOW_RATING = 2  # a survey rating at or below this is a reason
CHECKIN_VALUES = {"fine": 1.0, "question": 0.6, "worried": 0.2}  # weekly check-in answers
# Other offers: a survey answer (or an HR tag) -> the external indicator.
OFFER_VALUES: dict[str | None, int] = {"yes": 0, "private": 50, "no": 100, None: 80}
OFFER_DELAYED_FACTOR = 0.6
# Below these indicator values the indicator becomes a reason.
LOW_INDICATOR = 50
# Stated facts that keep a candidate out of the low band whatever the sum says: a
# candidate with another offer or a poor word about HR is never "low risk".
CONCERNS = frozenset(
    {
        "other_offer",
        "other_offer_private",
        "drop",
        "worried_team",
        "low_rating",
        "offer_delayed",
        "checkin_worried",
    }
)


@dataclass(frozen=True, slots=True)
class Signals:
    """Everything the formula needs about one candidate at one moment.

    Counts marked "window" cover the last :data:`WINDOW_DAYS` days.
    """

    days_since_offer: int = 0  # since the offer date (or the import, when later or unknown)
    # From that start to the due dates (None: unknown, DEFAULT_DUE_DAYS is used).
    training_due_days: int | None = None  # the training date, else the first day
    documents_due_days: int | None = None  # the document deadline, else the first day
    # interaction
    sent: int = 0  # window: messages the bot delivered to them unprompted (notices, pushes)
    replies: int = 0  # window: their text messages and files
    taps: int = 0  # window: their button taps
    clicks: int = 0  # window: their clicks on tracked links
    median_reply_hours: float | None = None  # window: median delay from a message to a reply
    days_since_interaction: int = 0  # since their last interaction (never: since the import)
    # since the first message from the bot they have not answered (0: none unanswered)
    days_unanswered: int = 0
    ever_interacted: bool = False
    # training
    courses_assigned: int = 0
    courses_attempted: int = 0
    courses_passed: int = 0
    quiz_ratio: float | None = None  # best correct answers / questions, over attempted courses
    training_minutes: float = 0.0  # time on quizzes (each course capped at 30 minutes)
    # feedback
    questions: int = 0  # window: questions they asked
    survey_answered: bool = False
    ratings: Mapping[str, int] = field(default_factory=dict)  # topic -> 1..5
    worried_team: bool = False  # an HR tag, or a low confidence rating mentioning the team
    checkin: str | None = None  # window: the latest weekly check-in (fine, question, worried)
    # completeness
    documents_required: int = 0
    documents_submitted: int = 0  # submitted or approved (not rejected)
    documents_approved: int = 0
    has_phone: bool = False
    has_email: bool = False
    bound: bool = False  # a chat account is bound
    # external
    other_offer: str | None = None  # survey: "yes", "no", "private"; None: not asked
    other_offer_tag: bool = False  # HR recorded an other-offer tag
    offer_delayed: bool = False  # asked for more time to decide on the offer
    # history
    best_recent_score: int | None = None  # highest score of the previous 7 days


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Bands and rules (settings SCORE_HIGH_RISK_BELOW, SCORE_LOW_RISK_ABOVE, ...)."""

    high_risk_below: int = 55
    low_risk_above: int = 80
    drop_points: int = 15
    silence_days: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            high_risk_below=settings.score_high_risk_below,
            low_risk_above=settings.score_low_risk_above,
            drop_points=settings.score_drop_points,
            silence_days=settings.silence_days,
        )


@dataclass(frozen=True, slots=True)
class Score:
    """A computed score: 0-100, its band, the five indicators and the reasons."""

    score: int
    band: str  # "high", "medium", "low" (risk)
    indicators: dict[str, int]
    reasons: list[dict[str, Any]]


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def expected(days_since_offer: int, due_days: int | None = None) -> float:
    """Share of the work expected by now: clamp((d - 2) / (due - 2), 0, 1), with ``due``
    the days from the start to the due date (DEFAULT_DUE_DAYS, 16, when unknown); a due
    date within the grace days is due once they are over."""
    due = DEFAULT_DUE_DAYS if due_days is None else due_days
    if days_since_offer < GRACE_DAYS:
        return 0.0
    if due <= GRACE_DAYS:
        return 1.0
    return _clamp((days_since_offer - GRACE_DAYS) / (due - GRACE_DAYS))


# ---- indicators ----------------------------------------------------------------------------


def interaction(s: Signals) -> int:
    """How much and how fast they respond: 100 * (0.5 rate + 0.25 speed + 0.25 recency).

    - rate = min(1, (replies + taps + clicks) / sent); with nothing sent: 1 if they
      interacted at all in the window, else 0.5 (nothing to respond to).
    - speed = clamp((48 - h) / (48 - 1)) for the median reply delay h in hours (a message
      left unanswered for 48 hours counts as 48); unknown: speed = rate.
    - recency = clamp(1 - days_since_interaction / 7).
    """
    responses = s.replies + s.taps + s.clicks
    rate = min(1.0, responses / s.sent) if s.sent > 0 else (1.0 if responses > 0 else 0.5)
    if s.median_reply_hours is None:
        speed = rate
    else:
        speed = _clamp(
            (REPLY_SLOW_HOURS - s.median_reply_hours) / (REPLY_SLOW_HOURS - REPLY_FAST_HOURS)
        )
    recency = _clamp(1 - s.days_since_interaction / RECENCY_DAYS)
    return round(100 * (0.5 * rate + 0.25 * speed + 0.25 * recency))


def training(s: Signals) -> int:
    """Pre-training: 100 * (0.6 progress + 0.25 quiz + 0.15 time); 100 with no course or
    nothing expected yet (e = expected(days_since_offer, training_due_days) = 0).

    - progress = 1 - max(0, e - passed / assigned): only the shortfall against what is
      expected by now counts.
    - quiz = best correct answers / questions over the courses attempted; none
      attempted: 1 - e.
    - time = min(1, minutes on quizzes / (5 * courses attempted)); none attempted: 1 - e.
    """
    e = expected(s.days_since_offer, s.training_due_days)
    if s.courses_assigned <= 0 or e <= 0:
        return 100
    done = min(1.0, s.courses_passed / s.courses_assigned)
    progress = 1 - max(0.0, e - done)
    if s.courses_attempted > 0:
        quiz = _clamp(s.quiz_ratio if s.quiz_ratio is not None else 0.0)
        time = min(1.0, s.training_minutes / (MINUTES_PER_COURSE * s.courses_attempted))
    else:
        quiz = time = 1 - e
    return round(100 * (0.6 * progress + 0.25 * quiz + 0.15 * time))


def feedback(s: Signals) -> int:
    """What they tell us: 100 * (0.35 survey + 0.45 ratings + 0.2 questions).

    - survey = 1 if answered, else 1 - e (not answering matters more as time passes).
    - ratings = (mean rating - 1) / 4 when answered, else the same as survey.
    - questions = min(1, 0.5 + 0.25 * questions asked in the window): asking is a good
      sign, not asking is neutral.
    - the latest weekly check-in in the window (fine 1, a question 0.6, worried 0.2)
      is 40 % of ratings after the survey, and all of it before.
    """
    e = expected(s.days_since_offer)
    survey = 1.0 if s.survey_answered else 1 - e
    if s.survey_answered and s.ratings:
        values = list(s.ratings.values())
        ratings = _clamp((sum(values) / len(values) - 1) / 4)
    elif s.survey_answered:
        ratings = 0.5
    else:
        ratings = survey
    if s.checkin in CHECKIN_VALUES:  # the week's check-in tells how they feel now
        now_feeling = CHECKIN_VALUES[s.checkin]
        ratings = 0.6 * ratings + 0.4 * now_feeling if s.survey_answered else now_feeling
    asked = min(1.0, 0.5 + 0.25 * s.questions)
    return round(100 * (0.35 * survey + 0.45 * ratings + 0.2 * asked))


def completeness(s: Signals) -> int:
    """Documents and contact details: 100 * (0.8 documents + 0.2 contact).

    - documents = 1 - max(0, e - done), e = expected(days_since_offer, documents_due_days),
      done = (submitted + approved) / (2 * required): a
      submitted document counts half until approved; no document required: 1.
    - contact = (phone on file + email on file + chat account bound) / 3.
    """
    e = expected(s.days_since_offer, s.documents_due_days)
    if s.documents_required <= 0:
        documents = 1.0
    else:
        done = min(1.0, (s.documents_submitted + s.documents_approved) / (2 * s.documents_required))
        documents = 1 - max(0.0, e - done)
    contact = (int(s.has_phone) + int(s.has_email) + int(s.bound)) / 3
    return round(100 * (0.8 * documents + 0.2 * contact))


def external(s: Signals) -> int:
    """Other offers: "yes" in the survey or an HR tag 0, "private" 50, "no" 100, not asked 80;
    times 0.6 when they asked for more time to decide on the offer."""
    value = float(OFFER_VALUES["yes"] if s.other_offer_tag else OFFER_VALUES.get(s.other_offer, 80))
    if s.offer_delayed:
        value *= OFFER_DELAYED_FACTOR
    return round(value)


INDICATOR_FUNCTIONS = {
    "interaction": interaction,
    "training": training,
    "feedback": feedback,
    "completeness": completeness,
    "external": external,
}


# ---- the score ------------------------------------------------------------------------------


def normalise(weights: Mapping[str, float]) -> dict[str, float]:
    """The five weights scaled to sum 1 (missing ones are 0; all zero: equal weights)."""
    raw = {name: max(0.0, float(weights.get(name, 0.0))) for name in INDICATORS}
    total = sum(raw.values())
    if total <= 0:
        return {name: 1 / len(INDICATORS) for name in INDICATORS}
    return {name: value / total for name, value in raw.items()}


def weighted(indicators: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """The weighted sum of the indicators (weights are normalised first)."""
    w = normalise(weights)
    return sum(w[name] * float(indicators.get(name, 0)) for name in INDICATORS)


def band_of(score: int, thresholds: Thresholds) -> str:
    """ "high" below SCORE_HIGH_RISK_BELOW, "low" above SCORE_LOW_RISK_ABOVE, else "medium"."""
    if score < thresholds.high_risk_below:
        return "high"
    if score > thresholds.low_risk_above:
        return "low"
    return "medium"


def compute(
    signals: Signals, weights: Mapping[str, float], thresholds: Thresholds | None = None
) -> Score:
    """Score one candidate: indicators, weighted sum, band, rules and reasons."""
    thresholds = thresholds or Thresholds()
    indicators = {name: fn(signals) for name, fn in INDICATOR_FUNCTIONS.items()}
    score = round(weighted(indicators, weights))
    band = band_of(score, thresholds)
    # Silence counts from the first message they left unanswered, not from their last
    # word: someone who answered the last check-in is not silent however long ago it
    # was, and a quiet weekend after answering trips nobody.
    silent = signals.bound and (
        signals.days_unanswered >= thresholds.silence_days
        or signals.days_since_interaction >= LONG_SILENCE_DAYS
    )
    if silent:
        band = "high"
    reasons = _reasons(signals, indicators, score, normalise(weights), thresholds, silent)
    if band == "low" and any(r["code"] in CONCERNS for r in reasons):
        band = "medium"  # "low risk, main reason: another offer" would contradict itself
    if band == "high" and not reasons:
        reasons = [{"code": "low_score"}]
    return Score(score=score, band=band, indicators=indicators, reasons=reasons)


def _reasons(
    s: Signals,
    indicators: Mapping[str, int],
    score: int,
    weights: Mapping[str, float],
    thresholds: Thresholds,
    silent: bool,
) -> list[dict[str, Any]]:
    """Reasons, most important first: the rules and stated facts in a fixed order, then the
    weak indicators ordered by the points they cost (weight * (100 - value))."""
    first: list[dict[str, Any]] = []
    if silent:
        first.append({"code": "silent", "days": s.days_since_interaction})
    if s.other_offer_tag or s.other_offer == "yes":
        first.append({"code": "other_offer"})
    if s.best_recent_score is not None and s.best_recent_score - score >= thresholds.drop_points:
        first.append({"code": "drop", "points": s.best_recent_score - score})
    if s.worried_team:
        first.append({"code": "worried_team"})
    for topic, rating in sorted(s.ratings.items(), key=lambda kv: (kv[1], kv[0])):
        if rating <= LOW_RATING:
            first.append({"code": "low_rating", "topic": topic, "rating": rating})
    if s.offer_delayed:
        first.append({"code": "offer_delayed"})
    if s.checkin == "worried":
        first.append({"code": "checkin_worried"})
    if s.other_offer == "private" and not s.other_offer_tag:
        first.append({"code": "other_offer_private"})

    weak: list[tuple[float, dict[str, Any]]] = []

    def cost(name: str) -> float:
        return weights[name] * (100 - indicators[name])

    if s.bound and indicators["interaction"] < LOW_INDICATOR and not silent:
        weak.append((cost("interaction"), {"code": "low_interaction"}))
    if indicators["training"] < LOW_INDICATOR:
        weak.append((cost("training"), {"code": "training_behind"}))
    missing = s.documents_required - s.documents_submitted
    if indicators["completeness"] < LOW_INDICATOR + 10 and missing > 0:
        weak.append((cost("completeness"), {"code": "docs_missing", "count": missing}))
    if not s.survey_answered and indicators["feedback"] < LOW_INDICATOR + 10:
        weak.append((cost("feedback"), {"code": "no_survey"}))
    weak.sort(key=lambda pair: -pair[0])
    return first + [reason for _, reason in weak]
