"""/failed: the admin's page-by-page view of deliveries whose processing failed.

A failure the bot could answer (the person got an apology) and a delivery parked
after MAX_ATTEMPTS tries (even the apology failed) both carry their error in the
inbox; this is where an admin sees them, newest first.
"""

from __future__ import annotations

from bot.core.context import Context
from bot.core.messages import Button
from bot.core.paging import Page, page_number
from bot.core.router import Router
from storage import events, people
from storage.models import InboundEvent, Role

router = Router()
ADMINS = {Role.ADMIN}
FAILED_PAGE = 10
ERROR_CHARS = 160


@router.command("failed", roles=ADMINS, aliases=("失败消息",), help_key="failed.help")
async def failed_command(ctx: Context, args: str) -> None:
    await failed_page(ctx, page_number(args))


@router.payload("fl", roles=ADMINS)
async def failed_next(ctx: Context, args: list[str]) -> None:
    await failed_page(ctx, page_number(args[0] if args else None))


async def _who(ctx: Context, event: InboundEvent) -> str:
    """The sender as the bot knows them: the candidate's or staff member's name, else
    the platform's display name, else the account id."""
    sender = (event.payload or {}).get("sender") or [event.platform, "?", "?", None]
    user_id, display = str(sender[1]), sender[3] if len(sender) > 3 else None
    identity = await people.get_identity(
        session=ctx.session, platform=event.platform, user_id=user_id
    )
    if identity is not None and identity.candidate_id is not None:
        candidate = await people.get_candidate(
            session=ctx.session, candidate_id=identity.candidate_id
        )
        if candidate is not None:
            return candidate.name
    if identity is not None and identity.staff_id is not None:
        staff = await people.get_staff(session=ctx.session, staff_id=identity.staff_id)
        if staff is not None:
            return staff.name
    return str(display or user_id)


async def failed_page(ctx: Context, requested: int) -> None:
    total = await events.count_with_errors(session=ctx.session)
    if total == 0:
        ctx.reply(ctx.t("failed.empty"))
        return
    page = Page.of(requested, size=FAILED_PAGE, total=total)
    rows = await events.with_errors(session=ctx.session, offset=page.offset, limit=page.size)
    lines = [ctx.t("failed.title", total=total, page=page.number, pages=page.pages)]
    keys = ctx.services.i18n.keys(ctx.services.i18n.language(ctx.actor.language))
    for event in rows:
        error = event.error or ""
        parked = error.startswith(events.PARKED)
        if len(error) > ERROR_CHARS:
            error = error[: ERROR_CHARS - 1] + "…"
        lines.append(
            ctx.t(
                "failed.line",
                when=event.received_at.astimezone(ctx.tz).strftime("%m-%d %H:%M"),
                platform=ctx.t(f"platform.{event.platform}")
                if f"platform.{event.platform}" in keys
                else event.platform,
                who=await _who(ctx, event),
                outcome=ctx.t("failed.parked" if parked else "failed.apologised"),
                error=error,
            )
        )
    buttons = [Button(ctx.t("common.next_page"), f"fl:{page.number + 1}")] if page.has_next else []
    ctx.reply("\n".join(lines), buttons=buttons)
