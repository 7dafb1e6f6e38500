"""Queries for scheduled pushes: who may get them, mute, receipts, caps, manager welcomes.

The planner calls these per batch of candidates (a few hundred), so the IN lists
stay far below the databases' parameter limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage._upsert import insert_ignore
from storage.locks import locked
from storage.models import (
    Candidate,
    ContentReceipt,
    CourseResult,
    Document,
    Identity,
    OfferStatus,
    Outbox,
    OutboxCategory,
    OutboxStatus,
    Outcome,
    Staff,
    WelcomeMessage,
)

# Scheduled rows that count against caps (a row that failed or expired was never seen).
_SCHEDULED = (OutboxCategory.PUSH.value, OutboxCategory.REMINDER.value)
_NOT_COUNTED = (OutboxStatus.FAILED.value, OutboxStatus.EXPIRED.value)


async def set_muted(
    *, session: AsyncSession, candidate_id: int, muted: bool, now: datetime
) -> None:
    """/mute and /unmute: stop or restore non-transactional pushes."""
    await session.exec(
        update(Candidate)
        .where(col(Candidate.id) == candidate_id)
        .values(muted_at=now if muted else None, updated_at=now)
    )


def _plannable() -> SelectOfScalar[Candidate]:
    """Candidates bound to at least one chat account, offer neither awaiting approval nor
    declined, no recorded outcome, and no pending /forget."""
    bound = exists().where(col(Identity.candidate_id) == col(Candidate.id))
    has_outcome = exists().where(col(Outcome.candidate_id) == col(Candidate.id))
    return select(Candidate).where(
        bound,
        ~has_outcome,
        col(Candidate.forget_requested_at).is_(None),
        col(Candidate.offer_status).not_in(
            (OfferStatus.PENDING_APPROVAL.value, OfferStatus.DECLINED.value)
        ),
    )


async def plannable_candidates(
    *, session: AsyncSession, after_id: int, limit: int
) -> Sequence[Candidate]:
    """The next ``limit`` plannable candidates (by id, after ``after_id``): see
    :func:`lock_plannable` for who that is."""
    stmt = _plannable().where(col(Candidate.id) > after_id).order_by(col(Candidate.id))
    return (await session.exec(stmt.limit(limit))).all()


async def lock_plannable(
    *, session: AsyncSession, candidate_ids: Sequence[int]
) -> Sequence[Candidate]:
    """Those of these candidates still plannable, re-read and locked for this transaction
    (in id order, so two planners queue instead of deadlocking).

    Plannable: bound to at least one chat account, offer neither awaiting approval nor
    declined, no recorded outcome, and no pending /forget.
    """
    if not candidate_ids:
        return []
    stmt = _plannable().where(col(Candidate.id).in_(candidate_ids)).order_by(col(Candidate.id))
    stmt = locked(session, stmt).execution_options(populate_existing=True)
    return (await session.exec(stmt)).all()


async def readiness_rows(
    *, session: AsyncSession, candidate_ids: Sequence[int]
) -> tuple[dict[int, dict[str, str]], dict[int, list[CourseResult]]]:
    """Each candidate's documents (checklist item: status) and course results, two queries."""
    documents: dict[int, dict[str, str]] = {cid: {} for cid in candidate_ids}
    results: dict[int, list[CourseResult]] = {cid: [] for cid in candidate_ids}
    if not candidate_ids:
        return documents, results
    docs = select(Document.candidate_id, Document.item, Document.status).where(
        col(Document.candidate_id).in_(candidate_ids)
    )
    for candidate_id, item, status in (await session.exec(docs)).all():
        documents[candidate_id][item] = status
    courses = select(CourseResult).where(col(CourseResult.candidate_id).in_(candidate_ids))
    for result in (await session.exec(courses)).all():
        results[result.candidate_id].append(result)
    return documents, results


async def receipts_of(
    *, session: AsyncSession, candidate_ids: Sequence[int]
) -> dict[int, set[str]]:
    """Item ids each candidate has been sent (or has waiting in the outbox)."""
    received: dict[int, set[str]] = {cid: set() for cid in candidate_ids}
    stmt = select(ContentReceipt.candidate_id, ContentReceipt.item_id).where(
        col(ContentReceipt.candidate_id).in_(candidate_ids)
    )
    for candidate_id, item_id in (await session.exec(stmt)).all():
        received[candidate_id].add(item_id)
    return received


@dataclass(frozen=True, slots=True)
class ScheduledRow:
    """A scheduled push or reminder that counts against the limits."""

    candidate_id: int
    category: str
    due_at: datetime


async def scheduled_state(
    *, session: AsyncSession, keys: Sequence[str], candidate_ids: Sequence[int], since: datetime
) -> tuple[set[str], dict[int, list[ScheduledRow]]]:
    """Which of ``keys`` outbox rows already use, and each candidate's scheduled rows.

    The rows are the PUSH and REMINDER rows due at or after ``since`` that did not
    fail or expire. One query for both.
    """
    counts = and_(col(Outbox.category).in_(_SCHEDULED), col(Outbox.status).not_in(_NOT_COUNTED))
    # The category when the row counts against the limits, else NULL.
    counted_category = case((counts, col(Outbox.category)), else_=None)
    stmt = select(Outbox.dedupe_key, Outbox.candidate_id, Outbox.due_at, counted_category).where(
        or_(
            col(Outbox.dedupe_key).in_(keys),
            and_(col(Outbox.candidate_id).in_(candidate_ids), counts, col(Outbox.due_at) >= since),
        )
    )
    wanted = set(keys)
    used: set[str] = set()
    rows: dict[int, list[ScheduledRow]] = {cid: [] for cid in candidate_ids}
    for key, candidate_id, due_at, category in (await session.exec(stmt)).all():
        if key in wanted:
            used.add(key)
        if candidate_id in rows and category is not None and due_at >= since:
            rows[candidate_id].append(ScheduledRow(candidate_id, category, due_at))
    return used, rows


async def add_receipts(
    *,
    session: AsyncSession,
    candidate_id: int,
    item_ids: Sequence[str],
    slot: str,
    outbox_id: int | None,
    now: datetime,
) -> None:
    """Record items as sent to the candidate; an item already recorded is left alone."""
    await add_receipts_many(
        session=session,
        receipts=[Receipt(candidate_id, item_id, slot, outbox_id) for item_id in item_ids],
        now=now,
    )


@dataclass(frozen=True, slots=True)
class Receipt:
    """A content item planned for a candidate, in the outbox row that carries it."""

    candidate_id: int
    item_id: str
    slot: str
    outbox_id: int | None


async def add_receipts_many(
    *, session: AsyncSession, receipts: Sequence[Receipt], now: datetime
) -> None:
    """Record these receipts in one statement; an item already recorded is left alone."""
    if not receipts:
        return
    params = [
        {
            "candidate_id": r.candidate_id,
            "item_id": r.item_id,
            "slot": r.slot,
            "outbox_id": r.outbox_id,
            "at": now,
        }
        for r in receipts
    ]
    await session.exec(insert_ignore(session, ContentReceipt), params=params)


@dataclass(frozen=True, slots=True)
class NewPush:
    """A scheduled outbox row the planner writes (kind ``push``, addressed to a candidate)."""

    candidate_id: int
    dedupe_key: str
    payload: dict[str, Any]
    category: str
    due_at: datetime
    expires_at: datetime | None


async def add_pushes(
    *, session: AsyncSession, rows: Sequence[NewPush], now: datetime
) -> dict[str, int]:
    """Add these outbox rows in one statement; a row whose dedupe key is already used adds
    nothing. Returns the new rows' ids by dedupe key."""
    if not rows:
        return {}
    params = [
        {
            "kind": "push",
            "payload": r.payload,
            "due_at": r.due_at,
            "created_at": now,
            "candidate_id": r.candidate_id,
            "dedupe_key": r.dedupe_key,
            "category": r.category,
            "expires_at": r.expires_at,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
        }
        for r in rows
    ]
    stmt = insert_ignore(session, Outbox).returning(col(Outbox.dedupe_key))
    return {key: int(row_id) for row_id, key in (await session.exec(stmt, params=params)).all()}


async def welcomes_for(
    *, session: AsyncSession, departments: Sequence[str]
) -> dict[str, WelcomeMessage]:
    """The managers' welcome messages of these departments, by department."""
    stmt = select(WelcomeMessage).where(col(WelcomeMessage.department).in_(set(departments)))
    return {w.department: w for w in (await session.exec(stmt)).all()}


async def staff_names(*, session: AsyncSession, staff_ids: Sequence[int]) -> dict[int, str]:
    """Names of these staff members, by id."""
    stmt = select(Staff.id, Staff.name).where(col(Staff.id).in_(set(staff_ids)))
    return {i: n for i, n in (await session.exec(stmt)).all() if i is not None}
