"""Candidates' questions and the tickets that carry them to HR."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.locks import locked
from storage.models import Candidate, Question, Ticket, TicketStatus


async def add_question(
    *,
    session: AsyncSession,
    candidate_id: int,
    text: str,
    faq_id: str | None,
    score: float | None,
    now: datetime,
) -> Question:
    question = Question(
        candidate_id=candidate_id, text=text[:1000], faq_id=faq_id, score=score, created_at=now
    )
    session.add(question)
    await session.flush()
    return question


async def get_question(*, session: AsyncSession, question_id: int) -> Question | None:
    return await session.get(Question, question_id)


async def set_helpful(*, session: AsyncSession, question: Question, helpful: bool) -> None:
    question.helpful = helpful
    session.add(question)
    await session.flush()


async def open_ticket(
    *,
    session: AsyncSession,
    candidate_id: int,
    hr_id: int | None,
    text: str,
    question_id: int | None,
    now: datetime,
) -> Ticket:
    ticket = Ticket(
        candidate_id=candidate_id,
        hr_id=hr_id,
        text=text[:1000],
        question_id=question_id,
        created_at=now,
    )
    session.add(ticket)
    await session.flush()
    return ticket


async def get_ticket(*, session: AsyncSession, ticket_id: int) -> Ticket | None:
    return await session.get(Ticket, ticket_id)


async def ticket_for_question(*, session: AsyncSession, question_id: int) -> Ticket | None:
    stmt = select(Ticket).where(Ticket.question_id == question_id)
    return (await session.exec(stmt)).first()


async def answer_ticket(
    *, session: AsyncSession, ticket: Ticket, answer: str, staff_id: int | None, now: datetime
) -> None:
    ticket.status = TicketStatus.ANSWERED.value
    ticket.answer = answer[:2000]
    ticket.answered_by = staff_id
    ticket.answered_at = now
    session.add(ticket)
    await session.flush()


async def overdue_tickets(
    *, session: AsyncSession, created_before: datetime, limit: int = 100
) -> Sequence[Ticket]:
    """Open tickets older than the SLA that were not escalated yet."""
    stmt = (
        select(Ticket)
        .where(
            Ticket.status == TicketStatus.OPEN.value,
            col(Ticket.created_at) < created_before,
            col(Ticket.escalated_at).is_(None),
        )
        .order_by(col(Ticket.created_at))
        .limit(limit)
    )
    return (await session.exec(locked(session, stmt, skip_locked=True))).all()


async def escalated_since(*, session: AsyncSession, since: datetime) -> bool:
    """Whether any ticket was escalated at or after ``since``."""
    stmt = select(Ticket.id).where(col(Ticket.escalated_at) >= since).limit(1)
    return (await session.exec(stmt)).first() is not None


async def mark_escalated(*, session: AsyncSession, ticket: Ticket, now: datetime) -> None:
    ticket.escalated_at = now
    session.add(ticket)
    await session.flush()


def _open_in_scope(hr_id: int | None) -> list[Any]:
    where: list[Any] = [Ticket.status == TicketStatus.OPEN.value]
    if hr_id is not None:
        where.append(col(Candidate.hr_id) == hr_id)
    return where


async def count_open_tickets(*, session: AsyncSession, hr_id: int | None) -> int:
    """Open tickets of this HR's candidates (everyone's when None)."""
    stmt = (
        select(func.count())
        .select_from(Ticket)
        .join(Candidate, col(Candidate.id) == col(Ticket.candidate_id))
        .where(*_open_in_scope(hr_id))
    )
    return int((await session.exec(stmt)).one())


async def open_tickets(
    *, session: AsyncSession, hr_id: int | None, offset: int, limit: int
) -> Sequence[tuple[Ticket, Candidate]]:
    """A page of the open tickets of this HR's candidates, oldest first, with the candidate."""
    stmt = (
        select(Ticket, Candidate)
        .join(Candidate, col(Candidate.id) == col(Ticket.candidate_id))
        .where(*_open_in_scope(hr_id))
        .order_by(col(Ticket.created_at), col(Ticket.id))
        .offset(offset)
        .limit(limit)
    )
    return [(ticket, candidate) for ticket, candidate in (await session.exec(stmt)).all()]
