"""Questions: free text from a candidate is answered from the FAQ or sent to their HR."""

from __future__ import annotations

from datetime import timedelta

from bot.core.context import Context
from bot.core.messages import Button
from bot.core.router import Router
from bot.people.scope import may_see
from bot.support import tell_admins
from flows.engine import END, Accept, Answer, Ask, Flow, Go, Stay, Step, Turn
from storage import people, questions
from storage.models import Candidate, Role, Ticket, TicketStatus

router = Router()
ANSWERERS = {Role.HR, Role.ADMIN}


async def handle_free_text(ctx: Context) -> bool:
    """A candidate's text outside any dialog is a question; a stray file gets a pointer."""
    candidate = ctx.actor.candidate
    if candidate is None or ctx.actor.role is not Role.CANDIDATE:
        return False
    if ctx.message.attachments:
        ctx.reply(ctx.t("questions.file_outside_flow"))
        return True
    text = ctx.message.text.strip()
    if not text:
        return False
    match = ctx.services.faq.match(text)
    question = await questions.add_question(
        session=ctx.session,
        candidate_id=candidate.id or 0,
        text=text,
        faq_id=match.entry.id if match else None,
        score=match.score if match else None,
        now=ctx.now,
    )
    if match is None:
        await _open_ticket(ctx, candidate, text, question.id)
        return True
    ctx.reply(
        ctx.t("questions.faq_answer", answer=match.entry.answer.get(ctx.actor.language)),
        buttons=[
            Button(ctx.t("questions.helpful"), f"faq:{question.id}:y"),
            Button(ctx.t("questions.not_helpful"), f"faq:{question.id}:n"),
        ],
    )
    return True


@router.payload("faq", roles={Role.CANDIDATE})
async def faq_feedback(ctx: Context, args: list[str]) -> None:
    candidate = ctx.actor.candidate
    question = (
        await questions.get_question(session=ctx.session, question_id=int(args[0]))
        if len(args) == 2 and args[0].isdigit()
        else None
    )
    if candidate is None or question is None or question.candidate_id != candidate.id:
        ctx.reply(ctx.t("common.button_expired"))
        return
    if question.helpful is not None:
        ctx.reply(ctx.t("questions.feedback_done"))
        return
    helpful = args[1] == "y"
    await questions.set_helpful(session=ctx.session, question=question, helpful=helpful)
    if helpful:
        ctx.reply(ctx.t("questions.glad"))
    else:
        await _open_ticket(ctx, candidate, question.text, question.id)


async def _open_ticket(
    ctx: Context, candidate: Candidate, text: str, question_id: int | None
) -> None:
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
        ctx.reply(ctx.t("questions.no_hr"))
        await tell_admins(
            ctx.session, ctx.services, ticket, candidate, ctx.now, "questions.admin_no_hr"
        )
        return
    ctx.reply(ctx.t("questions.forwarded", hr=hr.name, hours=ctx.settings.ticket_sla_hours))
    ctx.notify_staff_text(
        hr,
        ctx.staff_t(hr, "questions.hr_notice", id=ticket.id, name=candidate.name, text=text),
        (Button(ctx.staff_t(hr, "questions.reply_button"), f"tk:{ticket.id}"),),
    )


async def _ticket_in_scope(ctx: Context, ticket_id: str) -> tuple[Ticket, Candidate] | None:
    if not ticket_id.lstrip("#").isdigit():
        return None
    ticket = await questions.get_ticket(session=ctx.session, ticket_id=int(ticket_id.lstrip("#")))
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
