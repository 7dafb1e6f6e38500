"""The weekly check-in: one tap on "how is it going", remembered for the week.

The answer feeds the feedback indicator (bot/scoring/model.py). "A bit worried"
tells the candidate's HR straight away (once a week); "I have a question" invites
the question, which then goes through the FAQ and, if need be, to HR.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.context import Context
from bot.core.router import Router
from storage import checkins, people
from storage.models import Role

router = Router()


@router.payload("ci", roles={Role.CANDIDATE})
async def checkin_answer(ctx: Context, args: list[str]) -> None:
    candidate = ctx.actor.candidate
    answer = args[0] if len(args) == 1 else ""
    if candidate is None or candidate.id is None or answer not in checkins.ANSWERS:
        ctx.reply(ctx.t("common.button_expired"))
        return
    week = ctx.today - timedelta(days=ctx.today.weekday())
    await checkins.record_checkin(
        session=ctx.session, candidate_id=candidate.id, week=week, answer=answer, now=ctx.now
    )
    ctx.reply(ctx.t(f"checkin.reply.{answer}", hr=await _hr_name(ctx) or "HR"))
    if answer == "worried" and candidate.hr_id is not None:
        hr = await people.get_staff(session=ctx.session, staff_id=candidate.hr_id)
        if hr is not None:  # once a week: the dedupe key makes a second notice a no-op
            ctx.notify_staff(
                hr,
                "checkin.hr_worried",
                dedupe_key=f"checkin-worried:{candidate.id}:{week.isoformat()}",
                name=candidate.name,
                department=candidate.department or "-",
            )


async def _hr_name(ctx: Context) -> str | None:
    candidate = ctx.actor.candidate
    if candidate is None or candidate.hr_id is None:
        return None
    hr = await people.get_staff(session=ctx.session, staff_id=candidate.hr_id)
    return hr.name if hr else None
