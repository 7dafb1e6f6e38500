"""Tickets from HR's side: /reply, the reply button and the one-step reply dialog."""

from __future__ import annotations

from datetime import timedelta

from bot.core.context import Context
from bot.core.messages import Button
from bot.core.paging import Page, page_number
from bot.core.router import Router
from bot.core.text import number
from bot.people.scope import hr_scope, may_see
from bot.support.intent import quote
from flows.engine import END, Accept, Answer, Ask, Flow, Go, Stay, Step, Turn
from storage import people, questions
from storage.models import Candidate, Role, Ticket, TicketStatus

router = Router()
ANSWERERS = {Role.HR, Role.ADMIN}


async def _ticket_in_scope(ctx: Context, ticket_id: str) -> tuple[Ticket, Candidate] | None:
    wanted = number(ticket_id.lstrip("#"))
    if wanted is None:
        return None
    ticket = await questions.get_ticket(session=ctx.session, ticket_id=wanted)
    if ticket is None:
        return None
    candidate = await people.get_candidate(session=ctx.session, candidate_id=ticket.candidate_id)
    if candidate is None or not may_see(ctx, candidate):
        return None
    return ticket, candidate


async def _answer(ctx: Context, ticket: Ticket, candidate: Candidate, text: str) -> None:
    staff = ctx.actor.staff
    await questions.answer_ticket(
        session=ctx.session,
        ticket=ticket,
        answer=text,
        staff_id=staff.id if staff else None,
        now=ctx.now,
    )
    ctx.notify_candidate(
        candidate,
        "questions.answer_to_candidate",
        hr=ctx.actor.name,
        question=ticket.text,
        answer=text,
    )
    ctx.reply(ctx.t("questions.answered", name=candidate.name))


@router.command("reply", roles=ANSWERERS, aliases=("回复",), help_key="help.reply")
async def reply_command(ctx: Context, args: str) -> None:
    ticket_id, _, text = args.strip().partition(" ")
    if not ticket_id or not text.strip():
        await open_questions(ctx, 1)  # the list, oldest first, with reply buttons
        return
    found = await _ticket_in_scope(ctx, ticket_id)
    if found is None:
        ctx.reply(ctx.t("questions.ticket_not_found", id=ticket_id))
        return
    ticket, candidate = found
    if ticket.status == TicketStatus.ANSWERED.value:
        ctx.reply(ctx.t("questions.already_answered", answer=ticket.answer or ""))
        return
    await _answer(ctx, ticket, candidate, text.strip())


REPLY_PAGE = 10


async def open_questions(ctx: Context, requested: int) -> None:
    """The open questions in scope, oldest first, ten a page, each with a reply button."""
    scope = hr_scope(ctx)
    total = await questions.count_open_tickets(session=ctx.session, hr_id=scope)
    if total == 0:
        ctx.reply(ctx.t("questions.none_open"))
        return
    page = Page.of(requested, size=REPLY_PAGE, total=total)
    rows = await questions.open_tickets(
        session=ctx.session, hr_id=scope, offset=page.offset, limit=page.size
    )
    lines = [ctx.t("questions.open_title", total=total, page=page.number, pages=page.pages)]
    buttons = []
    for ticket, candidate in rows:
        waited = max(0, int((ctx.now - ticket.created_at).total_seconds() // 3600))
        lines.append(
            ctx.t(
                "questions.open_line",
                id=ticket.id,
                name=candidate.name,
                hours=waited,
                text=quote(ticket.text, 80),
            )
        )
        buttons.append(Button(ctx.t("questions.reply_to", id=ticket.id), f"tk:{ticket.id}"))
    if page.has_next:
        buttons.append(Button(ctx.t("common.next_page"), f"rq:{page.number + 1}"))
    lines.append(ctx.t("questions.reply_usage"))
    ctx.reply("\n".join(lines), buttons=buttons)


@router.payload("rq", roles=ANSWERERS)
async def open_questions_page(ctx: Context, args: list[str]) -> None:
    await open_questions(ctx, page_number(args[0] if args else None))


@router.payload("tk", roles=ANSWERERS)
async def reply_button(ctx: Context, args: list[str]) -> None:
    found = await _ticket_in_scope(ctx, args[0]) if args else None
    if found is None:
        ctx.reply(ctx.t("questions.ticket_not_found", id=args[0] if args else "?"))
        return
    ticket, _ = found
    if ticket.status == TicketStatus.ANSWERED.value:
        ctx.reply(ctx.t("questions.already_answered", answer=ticket.answer or ""))
        return
    await ctx.services.flows.start(ctx, "ticket_reply", {"ticket": ticket.id})


async def ask_reply(turn: Turn) -> Ask:
    found = await _ticket_in_scope(turn.ctx, str(turn.data.get("ticket")))
    question = found[0].text if found else ""
    name = found[1].name if found else ""
    return Ask(turn.t("questions.type_answer", name=name, question=question))


async def handle_reply(turn: Turn, answer: Answer) -> Go | Stay:
    text = answer.text.strip()
    if not text:
        return Stay(turn.t("flow.hint.text"))
    found = await _ticket_in_scope(turn.ctx, str(turn.data.get("ticket")))
    if found is None or found[0].status == TicketStatus.ANSWERED.value:
        return Go(END, (turn.t("questions.ticket_not_found", id=turn.data.get("ticket")),))
    await _answer(turn.ctx, found[0], found[1], text)
    return Go(END)


REPLY_FLOW = Flow(
    name="ticket_reply",
    title_key="questions.flow_title",
    start="answer",
    timeout=timedelta(hours=12),
    steps={"answer": Step(ask_reply, handle_reply, frozenset({Accept.TEXT}), (END,))},
)
