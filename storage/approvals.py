"""Offer approvals by managers, and the manager's view of their incoming team."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Candidate, OfferStatus, Outcome, Role, Staff


def approval_since(candidate: Candidate) -> datetime:
    """When the approval started: the request, else (imported as pending) the record's creation."""
    return candidate.approval_requested_at or candidate.created_at


def _approver_clause(staff_id: int | None, department: str | None) -> Any:
    """Pending candidates this manager approves: theirs by name, else their department's."""
    own = col(Candidate.manager_id) == staff_id
    if department is None:
        return own
    return or_(
        own,
        and_(col(Candidate.manager_id).is_(None), col(Candidate.department) == department),
    )


def _pending() -> Any:
    return col(Candidate.offer_status) == OfferStatus.PENDING_APPROVAL.value


async def pending_approvals(
    *,
    session: AsyncSession,
    approver: Staff | None,
    limit: int,
    offset: int = 0,
) -> tuple[Sequence[Candidate], int]:
    """Offers waiting for ``approver`` (every pending offer when None: admins), oldest first."""
    where = [_pending()]
    if approver is not None:
        where.append(_approver_clause(approver.id, approver.department))
    since = func.coalesce(col(Candidate.approval_requested_at), col(Candidate.created_at))
    stmt = (
        select(Candidate).where(*where).order_by(since, col(Candidate.id)).offset(offset)
    ).limit(limit)
    total = (await session.exec(select(func.count()).select_from(Candidate).where(*where))).one()
    return (await session.exec(stmt)).all(), int(total)


async def approvers_of(*, session: AsyncSession, candidate: Candidate) -> Sequence[Staff]:
    """Who approves this candidate's offer: their manager, else their department's managers."""
    if candidate.manager_id is not None:
        manager = await session.get(Staff, candidate.manager_id)
        if manager is not None:
            return [manager]
    if candidate.department is None:
        return []
    stmt = (
        select(Staff)
        .where(Staff.role == Role.MANAGER.value, Staff.department == candidate.department)
        .order_by(col(Staff.id))
    )
    return (await session.exec(stmt)).all()


async def overdue_approvals(
    *, session: AsyncSession, requested_before: datetime
) -> Sequence[Candidate]:
    """Offers pending since before ``requested_before`` (no request time: since creation)."""
    requested = col(Candidate.approval_requested_at)
    stmt = (
        select(Candidate)
        .where(
            _pending(),
            or_(
                and_(requested.is_not(None), requested < requested_before),
                and_(requested.is_(None), col(Candidate.created_at) < requested_before),
            ),
        )
        .order_by(col(Candidate.id))
    )
    return (await session.exec(stmt)).all()


async def team_candidates(
    *,
    session: AsyncSession,
    manager: Staff | None,
    limit: int,
    offset: int = 0,
    today: date | None = None,
) -> tuple[Sequence[Candidate], int]:
    """Incoming candidates of a manager's department (or assigned to them); all when None.

    Leaves out declined offers, candidates with a recorded outcome (joined or reneged)
    and, given ``today``, those whose first day is past. Soonest start first.
    """
    decided = select(Outcome.candidate_id).where(col(Outcome.candidate_id).is_not(None))
    where: list[Any] = [
        col(Candidate.offer_status) != OfferStatus.DECLINED.value,
        col(Candidate.id).not_in(decided),
    ]
    if today is not None:
        where.append(
            or_(col(Candidate.onboarding_date).is_(None), col(Candidate.onboarding_date) >= today)
        )
    if manager is not None:
        mine = col(Candidate.manager_id) == manager.id
        if manager.department is not None:
            mine = or_(mine, col(Candidate.department) == manager.department)
        where.append(mine)
    stmt = (
        select(Candidate)
        .where(*where)
        .order_by(
            col(Candidate.onboarding_date).asc().nulls_last(),
            col(Candidate.name),
            col(Candidate.id),
        )
        .offset(offset)
        .limit(limit)
    )
    total = (await session.exec(select(func.count()).select_from(Candidate).where(*where))).one()
    return (await session.exec(stmt)).all(), int(total)
