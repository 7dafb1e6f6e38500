"""Commands that open or leave dialogs, and the manager's reason for rejecting an offer."""

from __future__ import annotations

from datetime import timedelta

from bot.core.context import Context
from bot.core.messages import Button
from bot.core.roles import BOUND
from bot.core.router import Router
from bot.handlers.manager import approval_in_reach, offer_for_hr
from bot.people import approvals
from bot.people.offers import UNDO_PAYLOAD, may_take_back
from bot.people.progress import offer_awaiting_reply
from flows.engine import END, Accept, Answer, Ask, Flow, Go, Option, Stay, Step, Turn
from flows.offer import take_back_decline
from storage import people
from storage.models import OfferStatus, Role

router = Router()
REJECT_PRESETS = ("headcount", "budget", "fit")


@router.command("cancel", roles=BOUND, aliases=("取消",), help_key="help.cancel")
async def cancel_command(ctx: Context, args: str) -> None:
    from flows.engine import FlowEngine

    engine = ctx.services.flows
    assert isinstance(engine, FlowEngine)
    left = await engine.cancel(ctx)
    if left is None:
        ctx.reply(ctx.t("flow.nothing_to_cancel"))
    else:
        ctx.reply(ctx.t("flow.cancelled", title=ctx.t(engine.flows[left].title_key)))


# One command, two meanings: candidates reply to their offer; HR (and admins) send an
# offer for approval with ``/offer NAME pending``. /help lists the candidates' meaning.
@router.command(
    "offer",
    roles={Role.CANDIDATE, Role.HR, Role.ADMIN},
    aliases=("确认offer",),
    help_key="help.offer",
    help_roles={Role.CANDIDATE},
)
async def offer_command(ctx: Context, args: str) -> None:
    if ctx.actor.role is not Role.CANDIDATE:
        await offer_for_hr(ctx, args)
        return
    candidate = ctx.actor.candidate
    assert candidate is not None
    if not offer_awaiting_reply(candidate.offer_status):
        if (
            candidate.offer_status == OfferStatus.DECLINED.value
            and candidate.offer_decline_reason == approvals.REJECTED_BY_MANAGER
        ):
            ctx.reply(ctx.t("offer_hr.candidate_closed"))
        elif await may_take_back(ctx.session, candidate, ctx.now, ctx.settings.offer_undo_hours):
            ctx.reply(
                ctx.t("offer.state.declined_undo", hours=ctx.settings.offer_undo_hours),
                buttons=[Button(ctx.t("offer.take_back"), UNDO_PAYLOAD)],
            )
        else:
            ctx.reply(ctx.t(f"offer.state.{candidate.offer_status}"))
        return
    await ctx.services.flows.start(ctx, "offer")


@router.payload(UNDO_PAYLOAD, roles={Role.CANDIDATE})
async def take_back_tapped(ctx: Context, args: list[str]) -> None:
    await take_back_decline(ctx)


# ---- a manager rejects an offer: why (HR sees it, the candidate does not) ------------------


async def ask_reject_reason(turn: Turn) -> Ask:
    candidate_id = int(turn.data.get("candidate", 0))
    candidate = await people.get_candidate(session=turn.ctx.session, candidate_id=candidate_id)
    return Ask(
        turn.t("approve.reason_ask", name=candidate.name if candidate else "-"),
        tuple(Option(p, turn.t(f"approve.preset.{p}")) for p in REJECT_PRESETS),
    )


async def handle_reject_reason(turn: Turn, answer: Answer) -> Go | Stay:
    ctx = turn.ctx
    candidate = await approval_in_reach(
        ctx, str(turn.data.get("candidate")), str(turn.data.get("tag"))
    )
    if candidate is None:
        return Go(END)  # already decided, or no longer theirs: approval_in_reach said so
    if answer.kind is Accept.CHOICE and answer.choice in REJECT_PRESETS:
        note = turn.t(f"approve.preset.{answer.choice}")
    else:
        note = answer.text.strip()[:500]
    if not note:
        return Stay(turn.t("approve.reason_needed"))
    await approvals.reject(ctx, candidate, note)
    return Go(END, (turn.t("approve.rejected", name=candidate.name),))


APPROVAL_REJECT_FLOW = Flow(
    name="approval_reject",
    title_key="approve.flow_title",
    start="reason",
    timeout=timedelta(hours=12),
    steps={
        "reason": Step(
            ask_reject_reason,
            handle_reject_reason,
            frozenset({Accept.CHOICE, Accept.TEXT}),
            (END,),
        ),
    },
)

FLOWS: tuple[Flow, ...] = (APPROVAL_REJECT_FLOW,)
