"""The rows behind the stability score: :func:`gather_facts` reads them for a batch of
candidates with one query per table (interactions, outbox, course results, survey
answers, questions, documents, identities, score history) into :class:`Facts`.
``bot.scoring.signals`` turns them into the score's inputs; which active candidates to score
is decided here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import exists, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Candidate,
    CheckIn,
    CourseResult,
    Document,
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
    training_due: datetime | None = None  # training date, else first day (local midnight)
    documents_due: datetime | None = None  # document deadline, else first day
    sent_at: list[datetime] = field(default_factory=list)  # window (+2 days for reply delays)
    # The sent messages that asked something (had buttons); None: every one did.
    asked_at: list[datetime] | None = None
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
    checkins: list[tuple[datetime, str]] = field(default_factory=list)  # window, oldest first


def start_of(candidate: Candidate, tz: Any) -> datetime:
    """When the candidate's journey started: the offer date or the import, whichever is later."""
    created = candidate.created_at
    if candidate.offer_date is None:
        return created
    offer = datetime.combine(candidate.offer_date, time(0), tzinfo=tz).astimezone(UTC)
    return max(offer, created)


def _midnight(day: date | None, tz: Any) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


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
    window_start: datetime,
    sent_start: datetime,
    drop_start: datetime,
) -> dict[int, Facts]:
    """The raw rows of every candidate in ``candidates``, one query per table and batch.

    ``required_items`` maps candidate id to their checklist's item ids (from the content
    pack); ``courses_assigned`` is the number of courses every candidate takes. Events
    count from ``window_start`` (messages sent from ``sent_start``, for reply delays),
    earlier scores from ``drop_start``.
    """
    facts: dict[int, Facts] = {}
    for c in candidates:
        assert c.id is not None
        facts[c.id] = Facts(
            start=start_of(c, tz),
            training_due=_midnight(c.training_date or c.onboarding_date, tz),
            documents_due=_midnight(c.doc_deadline or c.onboarding_date, tz),
            courses_assigned=courses_assigned,
            documents_required=required_items.get(c.id, frozenset()),
            has_phone=bool(c.phone),
            has_email=bool(c.email),
            tags=tuple(str(t) for t in (c.tags or [])),
            offer_status=c.offer_status,
        )
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
            select(Outbox.candidate_id, Outbox.sent_at, Outbox.payload).where(
                col(Outbox.candidate_id).in_(ids),
                # Not a bare column: else SQLite reads every sent row through ix_outbox_due
                # (status, due_at) instead of these candidates' (0.2 s a batch at 20,000).
                func.coalesce(col(Outbox.status), "") == OutboxStatus.SENT.value,
                col(Outbox.sent_at) >= sent_start,
                col(Outbox.sent_at) <= now,
            )
        )
        for cid, sent_time, payload in sent_rows.all():
            if sent_time is not None:
                fact = facts[int(cid or 0)]
                fact.sent_at.append(sent_time)
                if fact.asked_at is None:
                    fact.asked_at = []
                if (payload or {}).get("buttons"):
                    fact.asked_at.append(sent_time)
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
        for checkin in (
            await session.exec(
                select(CheckIn)
                .where(
                    col(CheckIn.candidate_id).in_(ids),
                    col(CheckIn.at) >= window_start,
                    col(CheckIn.at) <= now,
                )
                .order_by(col(CheckIn.at), col(CheckIn.id))
            )
        ).all():
            facts[checkin.candidate_id].checkins.append((checkin.at, checkin.answer))
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


def _active(today: date | None) -> Any:
    """Candidates worth scoring: bound to a chat account (the unbound are "not reached
    yet", not scored), offer made and not declined, no outcome, not being forgotten,
    and (given ``today``) their first day not yet past."""
    rules = [
        exists().where(col(Identity.candidate_id) == col(Candidate.id)),
        col(Candidate.offer_status).not_in(
            [OfferStatus.DECLINED.value, OfferStatus.PENDING_APPROVAL.value]
        ),
        col(Candidate.forget_requested_at).is_(None),
        ~exists().where(col(Outcome.candidate_id) == col(Candidate.id)),
    ]
    if today is not None:
        rules.append(
            or_(col(Candidate.onboarding_date).is_(None), col(Candidate.onboarding_date) >= today)
        )
    return tuple(rules)


async def unscored_active(
    *,
    session: AsyncSession,
    since: datetime,
    after_id: int,
    limit: int,
    today: date | None = None,
) -> Sequence[Candidate]:
    """Active candidates with no snapshot at or after ``since``, by id after ``after_id``."""
    scored = exists().where(
        col(ScoreSnapshot.candidate_id) == col(Candidate.id), col(ScoreSnapshot.at) >= since
    )
    stmt = (
        select(Candidate)
        .where(col(Candidate.id) > after_id, *_active(today), ~scored)
        .order_by(col(Candidate.id))
        .limit(limit)
    )
    return (await session.exec(stmt)).all()


async def active_among(
    *, session: AsyncSession, candidate_ids: Iterable[int], today: date | None = None
) -> Sequence[Candidate]:
    """Those of ``candidate_ids`` worth scoring (see :func:`_active`), by id."""
    ids = sorted(set(candidate_ids))
    if not ids:
        return []
    stmt = (
        select(Candidate)
        .where(col(Candidate.id).in_(ids), *_active(today))
        .order_by(col(Candidate.id))
    )
    return (await session.exec(stmt)).all()


async def interacted_since_scored(
    *,
    session: AsyncSession,
    since: datetime,
    after_id: int,
    limit: int,
    today: date | None = None,
) -> Sequence[Candidate]:
    """Active candidates who interacted at or after ``since`` and after their latest
    snapshot (their score is stale), by id after ``after_id``."""
    last_interaction = (
        select(func.max(Interaction.at))
        .where(col(Interaction.candidate_id) == col(Candidate.id), col(Interaction.at) >= since)
        .scalar_subquery()
    )
    scored_after = exists().where(
        col(ScoreSnapshot.candidate_id) == col(Candidate.id),
        col(ScoreSnapshot.at) >= last_interaction,
    )
    stmt = (
        select(Candidate)
        .where(
            col(Candidate.id) > after_id,
            *_active(today),
            last_interaction.is_not(None),
            ~scored_after,
        )
        .order_by(col(Candidate.id))
        .limit(limit)
    )
    return (await session.exec(stmt)).all()


def local_midnight(now: datetime, tz: Any) -> datetime:
    """The start of ``now``'s day in ``tz``, in UTC."""
    today: date = now.astimezone(tz).date()
    return datetime.combine(today, time(0), tzinfo=tz).astimezone(UTC)
