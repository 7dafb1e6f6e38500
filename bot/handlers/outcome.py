"""HR records how a wait ended: /outcome NAME joined|reneged."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.messages import Button
from bot.core.router import Router
from bot.core.text import number
from bot.handlers.hr import (
    features,
    record_audit,
)
from bot.people.scope import STAFF_VIEW, find_in_scope, may_see
from bot.scoring import jobs as score_jobs
from storage import outcomes, people
from storage.models import (
    Candidate,
)

router = Router()
OUTCOME_WORDS = {
    "joined": outcomes.JOINED,
    "join": outcomes.JOINED,
    "入职": outcomes.JOINED,
    "已入职": outcomes.JOINED,
    "reneged": outcomes.RENEGED,
    "renege": outcomes.RENEGED,
    "放弃": outcomes.RENEGED,
    "毁约": outcomes.RENEGED,
    "未入职": outcomes.RENEGED,
}


# ---- /outcome ----------------------------------------------------------------------------


def parse_outcome(args: str) -> tuple[str, str, str] | None:
    """``NAME joined|reneged REASON`` as (name, outcome, reason); None when no outcome word."""
    words = args.split()
    for index, word in enumerate(words):
        outcome = OUTCOME_WORDS.get(word.lower())
        if outcome is not None and index > 0:
            return " ".join(words[:index]), outcome, " ".join(words[index + 1 :])
    return None


async def record_candidate_outcome(
    ctx: Context, candidate: Candidate, outcome: str, reason: str
) -> str:
    """Store the outcome with the current score and indicators; the confirmation text."""
    assert candidate.id is not None
    snapshot = await score_jobs.refresh(ctx.session, ctx.services, candidate, ctx.now)
    _, created = await outcomes.record_outcome(
        session=ctx.session,
        candidate_id=candidate.id,
        outcome=outcome,
        reason=reason or None,
        department=candidate.department,
        recorded_by=ctx.actor.staff.id if ctx.actor.staff is not None else None,
        score=snapshot.score,
        features=features(snapshot),
        now=ctx.now,
    )
    await record_audit(ctx, "outcome", candidate_id=candidate.id, detail=outcome)
    text = ctx.t(f"outcome.recorded_{outcome}", name=candidate.name, reason=reason)
    return text if created else text + ctx.t("outcome.replaced")


@router.command("outcome", roles=STAFF_VIEW, aliases=("结果",), help_key="outcome.help")
async def outcome_command(ctx: Context, args: str) -> None:
    parsed = parse_outcome(args)
    if parsed is None:
        ctx.reply(ctx.t("outcome.usage"))
        return
    name, outcome, reason = parsed
    if outcome == outcomes.RENEGED and not reason:
        ctx.reply(ctx.t("outcome.need_reason"))
        return
    matches = await find_in_scope(ctx, name)
    if not matches:
        ctx.reply(ctx.t("status.not_found", name=name))
    elif len(matches) == 1:
        candidate = matches[0]
        early = candidate.onboarding_date is not None and candidate.onboarding_date > ctx.today
        if outcome == outcomes.JOINED and early:  # joined before their first day? ask first
            ctx.reply(
                ctx.t(
                    "outcome.confirm_early",
                    name=candidate.name,
                    date=candidate.onboarding_date,
                    days=(candidate.onboarding_date - ctx.today).days,  # type: ignore[operator]
                ),
                buttons=[
                    Button(ctx.t("outcome.confirm_yes"), f"oj:{candidate.id}"),
                    Button(ctx.t("outcome.confirm_no"), "oj:no"),
                ],
            )
            return
        ctx.reply(await record_candidate_outcome(ctx, candidate, outcome, reason))
    else:
        await ctx.services.flows.start(
            ctx,
            "outcome_pick",
            {"ids": [c.id for c in matches[:10]], "outcome": outcome, "reason": reason},
        )


@router.payload("oj", roles=STAFF_VIEW)
async def confirm_early_join(ctx: Context, args: list[str]) -> None:
    """``oj:<candidate>``: yes, they joined before the date on record; ``oj:no``: not yet."""
    if args == ["no"]:
        ctx.reply(ctx.t("outcome.not_recorded"))
        return
    wanted = number(args[0]) if len(args) == 1 else None
    candidate = (
        await people.get_candidate(session=ctx.session, candidate_id=wanted)
        if wanted is not None
        else None
    )
    if candidate is None or not may_see(ctx, candidate):
        ctx.reply(ctx.t("common.button_expired"))
        return
    ctx.reply(await record_candidate_outcome(ctx, candidate, outcomes.JOINED, ""))
