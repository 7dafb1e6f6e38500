"""The stability score's inputs: from the rows about a candidate to :class:`Signals`.

Two steps, so the cohort simulation (``bench/cohort.py``) can share the second:

1. :func:`storage.signals.gather_facts` reads the raw rows for a batch of candidates
   with one query per table into :class:`storage.signals.Facts`;
2. :func:`aggregate` turns one candidate's facts into :class:`Signals` (pure).

:func:`gather` does both. Only messages the bot sent on its own to the candidate
count as "sent" (outbox rows addressed to the candidate, status sent: notices,
pushes, reminders, broadcasts); replies to their own messages do not, since
those answer something they did.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.scoring.model import DROP_WINDOW_DAYS, REPLY_SLOW_HOURS, WINDOW_DAYS, Signals
from storage.models import Candidate, DocumentStatus, OfferStatus
from storage.signals import Facts, gather_facts

COURSE_MINUTES_CAP = 30.0
REPLY_KINDS = frozenset({"text", "file"})
TAP_KINDS = frozenset({"button"})
CLICK_KINDS = frozenset({"click"})
# HR tags meaning "has another offer" / "worried about the team" (compared case-insensitively).
OTHER_OFFER_TAGS = frozenset(
    {"other_offer", "other offer", "有其他offer", "有其他 offer", "其他offer"}
)
WORRIED_TEAM_TAGS = frozenset({"worried_team", "worried about team", "担心团队", "顾虑团队"})
TEAM_WORDS = ("团队", "领导", "经理", "同事", "氛围", "team", "manager", "colleague")


def _days(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 86400))


def median_reply_hours(
    sent_at: Sequence[datetime], responses_at: Sequence[datetime], now: datetime
) -> float | None:
    """Median hours from each message sent to the candidate's next interaction.

    A message with no interaction within 48 hours counts as 48; one sent less than
    48 hours ago and not yet answered is left out. None without any measurement.
    """
    responses = sorted(responses_at)
    cap = timedelta(hours=REPLY_SLOW_HOURS)
    delays: list[float] = []
    j = 0
    for sent in sorted(sent_at):
        while j < len(responses) and responses[j] < sent:
            j += 1
        if j < len(responses) and responses[j] - sent <= cap:
            delays.append((responses[j] - sent).total_seconds() / 3600)
        elif now - sent >= cap:
            delays.append(REPLY_SLOW_HOURS)
    return statistics.median(delays) if delays else None


UNANSWERED_IN_A_ROW = 2  # one message left unanswered is not silence yet


def _days_unanswered(sent: Sequence[datetime], last: datetime | None, now: datetime) -> int:
    """Days since the first of the messages that asked something (had buttons) sent
    after their last interaction, when they left at least UNANSWERED_IN_A_ROW of them
    unanswered (else 0). A news item or a greeting expects no answer."""
    waiting = [at for at in sent if last is None or at > last]
    return _days(now - min(waiting)) if len(waiting) >= UNANSWERED_IN_A_ROW else 0


def _due_days(due: datetime | None, start: datetime) -> int | None:
    """Whole days from the start to a due date (negative when it was before the start)."""
    return None if due is None else int((due - start).total_seconds() // 86400)


def _mentions_team(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in TEAM_WORDS)


def aggregate(facts: Facts, now: datetime) -> Signals:
    """One candidate's :class:`Signals` from their :class:`Facts` (pure)."""
    window_start = now - timedelta(days=WINDOW_DAYS)
    in_window = [(at, kind) for at, kind in facts.interactions if window_start <= at <= now]
    sent = [at for at in facts.sent_at if window_start <= at <= now]
    last = facts.last_interaction_at
    silent_since = last if last is not None else facts.start
    attempted = [c for c in facts.courses if c.total > 0]
    total = sum(c.total for c in attempted)
    minutes = 0.0
    for c in facts.courses:
        if c.started_at is not None and c.completed_at is not None:
            spent = (c.completed_at - c.started_at).total_seconds() / 60
            minutes += min(COURSE_MINUTES_CAP, max(0.0, spent))
    # Documents are asked for once the offer is accepted: before that none is missing.
    accepted = facts.offer_status == OfferStatus.ACCEPTED.value
    required = facts.documents_required if accepted else frozenset()
    docs = {item: status for item, status in facts.documents.items() if item in required}
    tags = {t.strip().lower() for t in facts.tags}
    survey = facts.survey
    ratings = dict(survey.ratings) if survey else {}
    worried = bool(tags & WORRIED_TEAM_TAGS) or (
        survey is not None and ratings.get("confidence", 5) <= 2 and _mentions_team(survey.text)
    )
    return Signals(
        days_since_offer=_days(now - facts.start),
        training_due_days=_due_days(facts.training_due, facts.start),
        documents_due_days=_due_days(facts.documents_due, facts.start),
        sent=len(sent),
        replies=sum(1 for _, kind in in_window if kind in REPLY_KINDS),
        taps=sum(1 for _, kind in in_window if kind in TAP_KINDS),
        clicks=sum(1 for _, kind in in_window if kind in CLICK_KINDS),
        median_reply_hours=median_reply_hours(sent, [at for at, _ in in_window], now),
        days_since_interaction=_days(now - silent_since),
        days_unanswered=_days_unanswered(
            sent if facts.asked_at is None else [at for at in facts.asked_at if at >= window_start],
            last,
            now,
        ),
        ever_interacted=last is not None,
        courses_assigned=facts.courses_assigned,
        courses_attempted=len(attempted),
        courses_passed=sum(1 for c in facts.courses if c.passed),
        quiz_ratio=(sum(c.score for c in attempted) / total) if total else None,
        training_minutes=minutes,
        questions=sum(1 for at in facts.questions_at if window_start <= at <= now),
        survey_answered=survey is not None,
        ratings=ratings,
        worried_team=worried,
        checkin=next(
            (answer for at, answer in reversed(facts.checkins) if window_start <= at <= now), None
        ),
        documents_required=len(required),
        documents_submitted=sum(1 for s in docs.values() if s != DocumentStatus.REJECTED.value),
        documents_approved=sum(1 for s in docs.values() if s == DocumentStatus.APPROVED.value),
        has_phone=facts.has_phone,
        has_email=facts.has_email,
        bound=facts.bound,
        other_offer=(None if survey is None else (survey.other_offers or "private")),
        other_offer_tag=bool(tags & {t.lower() for t in OTHER_OFFER_TAGS}),
        offer_delayed=facts.offer_status == OfferStatus.DELAYED.value,
        best_recent_score=max(facts.recent_scores) if facts.recent_scores else None,
    )


# ---- queries ------------------------------------------------------------------------------


async def gather(
    *,
    session: AsyncSession,
    candidates: Sequence[Candidate],
    now: datetime,
    required_items: dict[int, frozenset[str]],
    courses_assigned: int,
    tz: Any,
) -> dict[int, Signals]:
    """Each candidate's :class:`Signals` at ``now``."""
    window_start = now - timedelta(days=WINDOW_DAYS)
    facts = await gather_facts(
        session=session,
        candidates=candidates,
        now=now,
        required_items=required_items,
        courses_assigned=courses_assigned,
        tz=tz,
        window_start=window_start,
        sent_start=window_start - timedelta(hours=REPLY_SLOW_HOURS),
        drop_start=now - timedelta(days=DROP_WINDOW_DAYS),
    )
    return {cid: aggregate(f, now) for cid, f in facts.items()}
