"""/audit: the admin's page-by-page view of who looked at or changed what."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.messages import Button
from bot.core.paging import Page, page_number
from bot.core.router import Router
from bot.handlers.hr import (
    band_text,
)
from storage import audit, outcomes, people
from storage.models import Role

router = Router()
ADMINS = {Role.ADMIN}
AUDIT_PAGE = 20


@router.command("audit", roles=ADMINS, aliases=("审计",), help_key="audit.help")
async def audit_command(ctx: Context, args: str) -> None:
    page = page_number(args)
    await audit_page(ctx, page)


@router.payload("au", roles=ADMINS)
async def audit_next(ctx: Context, args: list[str]) -> None:
    await audit_page(ctx, page_number(args[0] if args else None))


def _detail(ctx: Context, action: str, detail: str) -> str:
    """The stored detail in words for the actions this module writes; else as stored."""
    words = detail.split()
    if action in ("export", "stats") and detail.isdigit():
        text = ctx.t("audit.detail_count", count=int(detail))
    elif action == "risk_list" and len(words) == 3 and words[0] in ("high", "medium", "low"):
        text = ctx.t(
            "audit.detail_risk", band=band_text(ctx, words[0]), page=words[1], total=words[2]
        )
    elif action == "outcome" and detail in (outcomes.JOINED, outcomes.RENEGED):
        text = ctx.t(f"audit.detail_{detail}")
    else:
        text = detail
    return ctx.t("audit.detail", detail=text) if text else ""


async def audit_page(ctx: Context, requested: int) -> None:
    total = await audit.count(session=ctx.session)
    if total == 0:
        ctx.reply(ctx.t("audit.empty"))
        return
    shown = Page.of(requested, size=AUDIT_PAGE, total=total)  # past the end: the last page
    page = shown.number
    entries = list(await audit.latest(session=ctx.session, limit=AUDIT_PAGE, offset=shown.offset))
    more = shown.has_next
    keys = ctx.services.i18n.keys(ctx.services.i18n.language(ctx.actor.language))
    lines = [ctx.t("audit.title", page=page, pages=shown.pages, total=total)]
    for entry in entries:
        target = "-"
        if entry.candidate_id is not None:
            candidate = await people.get_candidate(
                session=ctx.session, candidate_id=entry.candidate_id
            )
            target = candidate.name if candidate else ctx.t("audit.deleted", id=entry.candidate_id)
        key = f"audit.action.{entry.action}"
        lines.append(
            ctx.t(
                "audit.line",
                when=entry.at.astimezone(ctx.tz).strftime("%m-%d %H:%M"),
                actor=entry.actor,
                action=ctx.t(key) if key in keys else entry.action,
                target=target,
                detail=_detail(ctx, entry.action, entry.detail),
            )
        )
    buttons = [Button(ctx.t("common.next_page"), f"au:{page + 1}")] if more else []
    ctx.reply("\n".join(lines), buttons=buttons)
