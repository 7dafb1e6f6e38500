"""Gathering the stability score's inputs (:class:`bot.scoring.Signals`) from the tables.

Two steps, so the cohort simulation (``bench/cohort.py``) can share the second:

1. :func:`gather_facts` reads the raw rows for a batch of candidates with one query
   per table (interactions, outbox, course results, survey answers, questions,
   documents, identities, score history) into :class:`Facts`;
2. :func:`aggregate` turns one candidate's :class:`Facts` into :class:`Signals` (pure).

:func:`gather` does both. Only messages the bot sent on its own to the candidate
count as "sent" (outbox rows addressed to the candidate, status sent: notices,
pushes, reminders, broadcasts); replies to their own messages do not, since
those answer something they did.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.scoring import DROP_WINDOW_DAYS, REPLY_SLOW_HOURS, WINDOW_DAYS, Signals
from storage.models import (
    Candidate,
    CourseResult,
    Document,
    DocumentStatus,
    Identity,
    Interaction,
    OfferStatus,
    Outbox,
    OutboxStatus,
    Outcome,
    Question,
    ScoreSnapshot,
    SurveyResponse,
)

BATCH = 500  # ids per IN (...) clause
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


@dataclass(frozen=True, slots=True)
class CourseFact:
    passed: bool
    score: int
    total: int
    started_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class SurveyFact:
    ratings: dict[str, int]
    other_offers: str | None  # "yes", "no"; None: "private" (the survey always asks last)
    text: str  # looking forward + open questions, for the team-worry check


@dataclass(slots=True)
class Facts:
    """The raw rows behind one candidate's signals (times in UTC)."""

    start: datetime  # offer date (local midnight) or import time, whichever is later
    sent_at: list[datetime] = field(default_factory=list)  # window (+2 days for reply delays)
    interactions: list[tuple[datetime, str]] = field(default_factory=list)  # window, (at, kind)
    last_interaction_at: datetime | None = None
    courses_assigned: int = 0
    courses: list[CourseFact] = field(default_factory=list)
    survey: SurveyFact | None = None
    questions_at: list[datetime] = field(default_factory=list)  # window
    documents_required: frozenset[str] = frozenset()
    documents: dict[str, str] = field(default_factory=dict)  # item -> status
    has_phone: bool = False
    has_email: bool = False
    bound: bool = False
    tags: tuple[str, ...] = ()
    offer_status: str = OfferStatus.OFFERED.value
    recent_scores: list[int] = field(default_factory=list)  # previous 7 days


def start_of(candidate: Candidate, tz: Any) -> datetime:
    """When the candidate's journey started: the offer date or the import, whichever is later."""
    created = candidate.created_at
    if candidate.offer_date is None:
        return created
    offer = datetime.combine(candidate.offer_date, time(0), tzinfo=tz).astimezone(UTC)
    return max(offer, created)


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
    required = facts.documents_required
    docs = {item: status for item, status in facts.documents.items() if item in required}
    tags = {t.strip().lower() for t in facts.tags}
    survey = facts.survey
    ratings = dict(survey.ratings) if survey else {}
    worried = bool(tags & WORRIED_TEAM_TAGS) or (
        survey is not None and ratings.get("confidence", 5) <= 2 and _mentions_team(survey.text)
    )
    return Signals(
        days_since_offer=_days(now - facts.start),
        sent=len(sent),
        replies=sum(1 for _, kind in in_window if kind in REPLY_KINDS),
        taps=sum(1 for _, kind in in_window if kind in TAP_KINDS),
        clicks=sum(1 for _, kind in in_window if kind in CLICK_KINDS),
        median_reply_hours=median_reply_hours(sent, [at for at, _ in in_window], now),
        days_since_interaction=_days(now - silent_since),
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


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), BATCH):
        yield list(ids[i : i + BATCH])


async def gather_facts(
    *,
    session: AsyncSession,
    candidates: Sequence[Candidate],
    now: datetime,
    required_items: dict[int, frozenset[str]],
    courses_assigned: int,
    tz: Any,
) -> dict[int, Facts]:
    """The raw rows of every candidate in ``candidates``, one query per table and batch.

    ``required_items`` maps candidate id to their checklist's item ids (from the content
    pack); ``courses_assigned`` is the number of courses every candidate takes.
    """
    facts: dict[int, Facts] = {}
    for c in candidates:
        assert c.id is not None
        facts[c.id] = Facts(
            start=start_of(c, tz),
            courses_assigned=courses_assigned,
            documents_required=required_items.get(c.id, frozenset()),
            has_phone=bool(c.phone),
            has_email=bool(c.email),
            tags=tuple(str(t) for t in (c.tags or [])),
            offer_status=c.offer_status,
        )
    window_start = now - timedelta(days=WINDOW_DAYS)
    sent_start = window_start - timedelta(hours=REPLY_SLOW_HOURS)
    drop_start = now - timedelta(days=DROP_WINDOW_DAYS)
    for ids in _chunks(list(facts)):
        rows = await session.exec(
            select(Interaction.candidate_id, Interaction.at, Interaction.kind).where(
                col(Interaction.candidate_id).in_(ids),
                col(Interaction.at) >= window_start,
                col(Interaction.at) <= now,
            )
        )
        for cid, at, kind in rows.all():
            facts[int(cid or 0)].interactions.append((at, kind))
        last_rows = await session.exec(
            select(Interaction.candidate_id, func.max(Interaction.at))
            .where(col(Interaction.candidate_id).in_(ids), col(Interaction.at) <= now)
            .group_by(col(Interaction.candidate_id))
        )
        for cid, at in last_rows.all():
            facts[int(cid or 0)].last_interaction_at = at
        sent_rows = await session.exec(
            select(Outbox.candidate_id, Outbox.sent_at).where(
                col(Outbox.candidate_id).in_(ids),
                col(Outbox.status) == OutboxStatus.SENT.value,
                col(Outbox.sent_at) >= sent_start,
                col(Outbox.sent_at) <= now,
            )
        )
        for cid, sent_time in sent_rows.all():
            if sent_time is not None:
                facts[int(cid or 0)].sent_at.append(sent_time)
        for result in (
            await session.exec(select(CourseResult).where(col(CourseResult.candidate_id).in_(ids)))
        ).all():
            facts[result.candidate_id].courses.append(
                CourseFact(
                    passed=result.passed,
                    score=result.score,
                    total=result.total,
                    started_at=result.started_at,
                    completed_at=result.completed_at,
                )
            )
        surveys = await session.exec(
            select(SurveyResponse)
            .where(col(SurveyResponse.candidate_id).in_(ids))
            .order_by(col(SurveyResponse.created_at), col(SurveyResponse.id))
        )
        for response in surveys.all():  # the newest wins
            facts[response.candidate_id].survey = SurveyFact(
                ratings={str(k): int(v) for k, v in (response.ratings or {}).items()},
                other_offers=response.other_offers,
                text=" ".join(filter(None, (response.looking_forward, response.open_questions))),
            )
        questions = await session.exec(
            select(Question.candidate_id, Question.created_at).where(
                col(Question.candidate_id).in_(ids), col(Question.created_at) >= window_start
            )
        )
        for cid, at in questions.all():
            facts[int(cid)].questions_at.append(at)
        docs = await session.exec(
            select(Document.candidate_id, Document.item, Document.status).where(
                col(Document.candidate_id).in_(ids)
            )
        )
        for cid, item, status in docs.all():
            facts[int(cid)].documents[item] = status
        bound = await session.exec(
            select(Identity.candidate_id).where(col(Identity.candidate_id).in_(ids)).distinct()
        )
        for cid in bound.all():
            if cid is not None:
                facts[int(cid)].bound = True
        scores = await session.exec(
            select(ScoreSnapshot.candidate_id, ScoreSnapshot.score).where(
                col(ScoreSnapshot.candidate_id).in_(ids),
                col(ScoreSnapshot.at) >= drop_start,
                col(ScoreSnapshot.at) < now,
            )
        )
        for cid, value in scores.all():
            facts[int(cid)].recent_scores.append(int(value))
    return facts


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
    facts = await gather_facts(
        session=session,
        candidates=candidates,
        now=now,
        required_items=required_items,
        courses_assigned=courses_assigned,
        tz=tz,
    )
    return {cid: aggregate(f, now) for cid, f in facts.items()}


def _active() -> Any:
    """Candidates worth scoring: offer made and not declined, no outcome, not being forgotten."""
    return (
        col(Candidate.offer_status).not_in(
            [OfferStatus.DECLINED.value, OfferStatus.PENDING_APPROVAL.value]
        ),
        col(Candidate.forget_requested_at).is_(None),
        ~exists().where(col(Outcome.candidate_id) == col(Candidate.id)),
    )


async def is_active(*, session: AsyncSession, candidate_id: int) -> bool:
    stmt = select(Candidate.id).where(col(Candidate.id) == candidate_id, *_active())
    return (await session.exec(stmt)).first() is not None


async def unscored_active(
    *, session: AsyncSession, since: datetime, after_id: int, limit: int
) -> Sequence[Candidate]:
    """Active candidates with no snapshot at or after ``since``, by id after ``after_id``."""
    scored = exists().where(
        col(ScoreSnapshot.candidate_id) == col(Candidate.id), col(ScoreSnapshot.at) >= since
    )
    stmt = (
        select(Candidate)
        .where(col(Candidate.id) > after_id, *_active(), ~scored)
        .order_by(col(Candidate.id))
        .limit(limit)
    )
    return (await session.exec(stmt)).all()


def local_midnight(now: datetime, tz: Any) -> datetime:
    """The start of ``now``'s day in ``tz``, in UTC."""
    today: date = now.astimezone(tz).date()
    return datetime.combine(today, time(0), tzinfo=tz).astimezone(UTC)
