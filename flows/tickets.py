"""Tickets from HR's side: /reply, the reply button and the one-step reply dialog."""

from __future__ import annotations

from datetime import timedelta

from bot.core.context import Context
from bot.core.router import Router
from bot.core.text import number
from bot.people.scope import may_see
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
        ctx.reply(ctx.t("questions.reply_usage"))
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
