"""Tickets to HR: notices with a reply button, and escalation past ``TICKET_SLA_HOURS``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.admins import notify_admins
from bot.core.context import Services
from bot.core.messages import Button, Outgoing
from bot.support.intent import quote
from storage import outbox, people, questions
from storage.db import Database
from storage.models import Candidate, Staff, Ticket


async def escalation_job(db: Database, services: Services, now: datetime) -> None:
    """The tick job: tickets past TICKET_SLA_HOURS go to HR and admins (once)."""
    async with db.session() as session:
        await escalate_tickets(session, services, now)


async def escalate_tickets(session: AsyncSession, services: Services, now: datetime) -> list[int]:
    """Remind HR and tell admins about tickets open past ``TICKET_SLA_HOURS``; return outbox ids."""
    sla = timedelta(hours=services.settings.ticket_sla_hours)
    ids: list[int] = []
    for ticket in await questions.overdue_tickets(session=session, created_before=now - sla):
        candidate = await people.get_candidate(session=session, candidate_id=ticket.candidate_id)
        if candidate is None:
            continue
        hr = (
            await people.get_staff(session=session, staff_id=ticket.hr_id)
            if ticket.hr_id is not None
            else None
        )
        if hr is not None:
            ids += await notify_about_ticket(
                session, services, [hr], ticket, candidate, now, "questions.hr_overdue"
            )
        ids += await tell_admins(
            session, services, ticket, candidate, now, "questions.admin_overdue"
        )
        await questions.mark_escalated(session=session, ticket=ticket, now=now)
    return ids


async def tell_admins(
    session: AsyncSession,
    services: Services,
    ticket: Ticket,
    candidate: Candidate,
    now: datetime,
    key: str,
) -> list[int]:
    """``key`` about the ticket, with a reply button, to every admin (bot.core.admins)."""
    return await notify_admins(
        session,
        services.settings,
        lambda language: _ticket_notice(services, language, ticket, candidate, key),
        now=now,
    )


def _ticket_notice(
    services: Services, language: str | None, ticket: Ticket, candidate: Candidate, key: str
) -> Outgoing:
    i18n = services.i18n
    text = i18n.t(
        language,
        key,
        id=ticket.id,
        name=candidate.name,
        text=quote(ticket.text),
        hours=services.settings.ticket_sla_hours,
    )
    return Outgoing(text, (Button(i18n.t(language, "questions.reply_button"), f"tk:{ticket.id}"),))


async def notify_about_ticket(
    session: AsyncSession,
    services: Services,
    recipients: Sequence[Staff],
    ticket: Ticket,
    candidate: Candidate,
    now: datetime,
    key: str,
) -> list[int]:
    """Queue ``key`` with a reply button to each recipient, in their language."""
    ids = []
    for staff in recipients:
        row = await outbox.enqueue(
            session=session,
            kind="notice",
            payload=_ticket_notice(services, staff.language, ticket, candidate, key).to_json(),
            due_at=now,
            now=now,
            staff_id=staff.id,
        )
        if row is not None:
            ids.append(row)
    return ids
