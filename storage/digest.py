"""Queries for HR's morning digest: one HR's active candidates and what awaits them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Candidate,
    Document,
    DocumentStatus,
    Interaction,
    OfferStatus,
    Outcome,
    Ticket,
    TicketStatus,
)


@dataclass(frozen=True, slots=True)
class Waiting:
    """How many things wait, and since when the oldest has waited (None when none)."""

    count: int
    oldest: datetime | None


async def active_candidates(*, session: AsyncSession, hr_id: int) -> Sequence[Candidate]:
    """An HR's candidates still on their way: offer not declined and no outcome recorded."""
    decided = select(Outcome.candidate_id).where(col(Outcome.candidate_id).is_not(None))
    stmt = (
        select(Candidate)
        .where(
            Candidate.hr_id == hr_id,
            col(Candidate.offer_status) != OfferStatus.DECLINED.value,
            col(Candidate.id).not_in(decided),
        )
        .order_by(col(Candidate.id))
    )
    return (await session.exec(stmt)).all()


async def last_interactions(
    *, session: AsyncSession, candidate_ids: Iterable[int]
) -> dict[int, datetime]:
    """Each candidate's latest interaction (message, tap, click); absent when none."""
    ids = list(candidate_ids)
    if not ids:
        return {}
    stmt = (
        select(Interaction.candidate_id, func.max(Interaction.at))
        .where(col(Interaction.candidate_id).in_(ids))
        .group_by(col(Interaction.candidate_id))
    )
    return {
        int(candidate_id): at
        for candidate_id, at in (await session.exec(stmt)).all()
        if candidate_id is not None and at is not None
    }


async def documents_waiting(*, session: AsyncSession, hr_id: int) -> Waiting:
    """Documents of this HR's candidates submitted and not yet reviewed."""
    stmt = (
        select(func.count(), func.min(Document.submitted_at))
        .select_from(Document)
        .join(Candidate, col(Candidate.id) == col(Document.candidate_id))
        .where(Candidate.hr_id == hr_id, Document.status == DocumentStatus.SUBMITTED.value)
    )
    count, oldest = (await session.exec(stmt)).one()
    return Waiting(int(count), oldest)


async def overdue_ticket_list(
    *, session: AsyncSession, hr_id: int, created_before: datetime, limit: int
) -> Sequence[tuple[Ticket, str]]:
    """The oldest open tickets for this HR older than the reply SLA, with the candidate's name."""
    stmt = (
        select(Ticket, Candidate.name)
        .join(Candidate, col(Candidate.id) == col(Ticket.candidate_id))
        .where(
            Ticket.hr_id == hr_id,
            Ticket.status == TicketStatus.OPEN.value,
            col(Ticket.created_at) < created_before,
        )
        .order_by(col(Ticket.created_at), col(Ticket.id))
        .limit(limit)
    )
    return [(ticket, name) for ticket, name in (await session.exec(stmt)).all()]


async def tickets_overdue(
    *, session: AsyncSession, hr_id: int, created_before: datetime
) -> Waiting:
    """Open tickets for this HR older than the reply SLA."""
    stmt = select(func.count(), func.min(Ticket.created_at)).where(
        Ticket.hr_id == hr_id,
        Ticket.status == TicketStatus.OPEN.value,
        col(Ticket.created_at) < created_before,
    )
    count, oldest = (await session.exec(stmt)).one()
    return Waiting(int(count), oldest)
