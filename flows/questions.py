"""Questions: free text from a candidate is answered from the FAQ or, when they want,
sent to their HR (noise and thanks get a kind word, not a ticket).

HR answers them in flows/tickets.py."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.core.context import Context
from bot.core.messages import Button
from bot.core.router import Router
from bot.core.text import number
from bot.pushes.variables import candidate_variables
from bot.support.intent import Intent, classify
from bot.support.tickets import raise_ticket
from content.models import FaqEntry
from content.render import SPARSE_VARIABLES, TemplateProblem, render
from storage import questions
from storage.models import Candidate, Question, Role

log = logging.getLogger(__name__)
router = Router()


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
    intent = classify(text)
    if intent is not Intent.QUESTION:
        ctx.reply(ctx.t(f"questions.{intent.value}", name=candidate.name))
        return True
    match = ctx.services.faq.match(text)
    question = await questions.add_question(
        session=ctx.session,
        candidate_id=candidate.id or 0,
        text=text,
        faq_id=match.entry.id if match else None,
        score=match.score if match else None,
        now=ctx.now,
    )
    if match is None:  # HR gets it only if the candidate wants: one tap
        ctx.reply(
            ctx.t("questions.offer_hr"),
            buttons=[
                Button(ctx.t("questions.ask_hr"), f"qh:{question.id}:y"),
                Button(ctx.t("questions.no_thanks"), f"qh:{question.id}:n"),
            ],
        )
        return True
    ctx.reply(
        ctx.t("questions.faq_answer", answer=await faq_answer(ctx, match.entry)),
        buttons=[
            Button(ctx.t("questions.helpful"), f"faq:{question.id}:y"),
            Button(ctx.t("questions.not_helpful"), f"faq:{question.id}:n"),
        ],
    )
    return True


async def faq_answer(ctx: Context, entry: FaqEntry) -> str:
    """An FAQ answer in the asker's language, filled with their own dates and names
    (answers are templates: "你现在的入职日期是 {{ onboarding_date | zh_date }}")."""
    lang = ctx.actor.language
    text = entry.answer.get(lang)
    candidate = ctx.actor.candidate
    if "{" not in text:
        return text
    variables: Mapping[str, object] = SPARSE_VARIABLES
    if candidate is not None:
        variables = await candidate_variables(
            ctx.session,
            ctx.services.content,
            candidate,
            lang=lang or "zh",
            today=ctx.today,
            company=ctx.t("push.company"),
        )
    try:
        return render(text, variables)
    except TemplateProblem:  # checked when the content loads; a last resort
        log.exception("FAQ answer %s did not render", entry.id)
        return render(text, SPARSE_VARIABLES)


async def _own_question(ctx: Context, args: list[str]) -> tuple[Candidate, Question] | None:
    """The candidate and their question named by a button's ``<id>:<answer>``, or None."""
    candidate = ctx.actor.candidate
    question_id = number(args[0]) if len(args) == 2 else None
    if candidate is None or question_id is None:
        return None
    question = await questions.get_question(session=ctx.session, question_id=question_id)
    if question is None or question.candidate_id != candidate.id:
        return None
    return candidate, question


@router.payload("faq", roles={Role.CANDIDATE})
async def faq_feedback(ctx: Context, args: list[str]) -> None:
    found = await _own_question(ctx, args)
    if found is None:
        ctx.reply(ctx.t("common.button_expired"))
        return
    candidate, question = found
    if question.helpful is not None:
        ctx.reply(ctx.t("questions.feedback_done"))
        return
    helpful = args[1] == "y"
    await questions.set_helpful(session=ctx.session, question=question, helpful=helpful)
    if helpful:
        ctx.reply(ctx.t("questions.glad"))
    else:
        await _open_ticket(ctx, candidate, question.text, question.id)


@router.payload("qh", roles={Role.CANDIDATE})
async def ask_hr(ctx: Context, args: list[str]) -> None:
    """``qh:<question>:y|n``: pass a question the FAQ could not answer to HR, or not."""
    found = await _own_question(ctx, args)
    if found is None:
        ctx.reply(ctx.t("common.button_expired"))
        return
    candidate, question = found
    if await questions.ticket_for_question(session=ctx.session, question_id=question.id or 0):
        ctx.reply(ctx.t("questions.already_forwarded"))
        return
    if args[1] != "y":
        ctx.reply(ctx.t("questions.not_forwarded"))
        return
    await _open_ticket(ctx, candidate, question.text, question.id)


async def _open_ticket(
    ctx: Context, candidate: Candidate, text: str, question_id: int | None
) -> None:
    _, hr = await raise_ticket(ctx, candidate, text, question_id)
    if hr is None:
        ctx.reply(ctx.t("questions.no_hr"))
        return
    ctx.reply(ctx.t("questions.forwarded", hr=hr.name, hours=ctx.settings.ticket_sla_hours))
