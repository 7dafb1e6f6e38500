"""Tickets to HR: notices with a reply button, and escalation past ``TICKET_SLA_HOURS``."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.admins import notify_admins
from bot.core.context import Context, Services
from bot.core.messages import Button, Outgoing
from bot.core.quiet import staff_hours
from bot.support.intent import quote
from storage import people, questions
from storage.db import Database
from storage.models import Candidate, Staff, Ticket


async def raise_ticket(
    ctx: Context,
    candidate: Candidate,
    text: str,
    question_id: int | None,
    *,
    key: str = "questions.hr_notice",
) -> tuple[Ticket, Staff | None]:
    """Open a numbered ticket and tell the candidate's HR (``key``, with the number and a
    reply button), or the admins when they have no HR; returns the ticket and the HR."""
    ticket = await questions.open_ticket(
        session=ctx.session,
        candidate_id=candidate.id or 0,
        hr_id=candidate.hr_id,
        text=text,
        question_id=question_id,
        now=ctx.now,
    )
    hr = (
        await people.get_staff(session=ctx.session, staff_id=candidate.hr_id)
        if candidate.hr_id is not None
        else None
    )
    if hr is None:
        await tell_admins(
            ctx.session, ctx.services, ticket, candidate, ctx.now, "questions.admin_no_hr"
        )
        return ticket, None
    ctx.notify_staff_text(
        hr,
        ctx.staff_t(
            hr,
            key,
            id=ticket.id,
            name=candidate.name,
            department=candidate.department or "-",
            text=quote(text),
        ),
        (Button(ctx.staff_t(hr, "questions.reply_button"), f"tk:{ticket.id}"),),
    )
    return ticket, hr


LISTED = 5  # tickets named (with a reply button) in one grouped message


async def escalation_job(db: Database, services: Services, now: datetime) -> None:
    """The tick job: tickets past TICKET_SLA_HOURS go to the admins, grouped (once)."""
    async with db.session() as session:
        await escalate_tickets(session, services, now)


async def escalate_tickets(session: AsyncSession, services: Services, now: datetime) -> list[int]:
    """Once a day from DIGEST_HOUR, the tickets open past ``TICKET_SLA_HOURS`` and not
    escalated yet go to the admins in one message (oldest first, reply buttons for the
    first few); each HR sees their own in the morning digest. Returns outbox ids.

    A day that already escalated something waits for the next: tickets that cross the
    SLA later in the day go in tomorrow's message, so nobody gets one message per ticket.
    """
    settings = services.settings
    if not staff_hours(now, settings, weekends=True):  # a candidate waits: weekends too
        return []
    local = now.astimezone(settings.timezone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=settings.timezone)
    if await questions.escalated_since(session=session, since=midnight):
        return []
    sla = timedelta(hours=settings.ticket_sla_hours)
    overdue = await questions.overdue_tickets(session=session, created_before=now - sla)
    if not overdue:
        return []
    rows: list[tuple[Ticket, Candidate, Staff | None]] = []
    for ticket in overdue:
        candidate = await people.get_candidate(session=session, candidate_id=ticket.candidate_id)
        await questions.mark_escalated(session=session, ticket=ticket, now=now)
        if candidate is None:
            continue
        hr = (
            await people.get_staff(session=session, staff_id=ticket.hr_id)
            if ticket.hr_id is not None
            else None
        )
        rows.append((ticket, candidate, hr))
    if not rows:
        return []
    i18n = services.i18n
    sla_hours = settings.ticket_sla_hours

    def render(lang: str | None) -> Outgoing:
        lines = [i18n.t(lang, "questions.admin_overdue_title", count=len(rows), hours=sla_hours)]
        buttons = []
        for ticket, candidate, hr in rows[:LISTED]:
            waited = max(0, int((now - ticket.created_at).total_seconds() // 3600))
            lines.append(
                i18n.t(
                    lang,
                    "questions.admin_overdue_line",
                    id=ticket.id,
                    name=candidate.name,
                    hr=hr.name if hr else i18n.t(lang, "questions.no_hr_name"),
                    hours=waited,
                    text=quote(ticket.text, 60),
                )
            )
            buttons.append(
                Button(i18n.t(lang, "questions.reply_to", id=ticket.id), f"tk:{ticket.id}")
            )
        if len(rows) > LISTED:
            lines.append(i18n.t(lang, "questions.admin_overdue_more", count=len(rows) - LISTED))
        return Outgoing("\n".join(lines), tuple(buttons))

    return await notify_admins(
        session, settings, render, now=now, dedupe=f"tickets_overdue:{local.date().isoformat()}"
    )


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
