"""Candidate commands around scheduled content: /resources, /mute, /unmute, push buttons."""

from __future__ import annotations

import logging
from datetime import date

from bot.core.context import Context
from bot.core.messages import Button, Link
from bot.core.paging import Page, page_number
from bot.core.router import Router
from bot.core.text import number
from bot.pushes.variables import candidate_variables, profile_of
from content.audience import Profile, match
from content.models import ContentItem, Lang
from content.render import TemplateProblem, render
from storage import links, pushes
from storage.models import Candidate, Role

log = logging.getLogger(__name__)
router = Router()

CANDIDATES = {Role.CANDIDATE}
PAGE = 8
FAQ_EXAMPLES = 3
# Push buttons ``pa:<action>`` start the command of the same purpose.
PUSH_ACTIONS = {
    "offer": "offer",
    "survey": "survey",
    "documents": "docs",
    "quiz": "quiz",
    "resources": "resources",
}


def _candidate(ctx: Context) -> Candidate:
    candidate = ctx.actor.candidate
    assert candidate is not None and candidate.id is not None
    return candidate


# ---- /mute and /unmute ------------------------------------------------------------------


@router.command("mute", roles=CANDIDATES, aliases=("免打扰",), help_key="mute.help")
async def mute_command(ctx: Context, args: str) -> None:
    candidate = _candidate(ctx)
    if candidate.muted_at is not None:
        since = candidate.muted_at.astimezone(ctx.tz).strftime("%Y-%m-%d")
        ctx.reply(ctx.t("mute.already", date=since))
        return
    await pushes.set_muted(
        session=ctx.session, candidate_id=candidate.id or 0, muted=True, now=ctx.now
    )
    ctx.reply(ctx.t("mute.done"))


@router.command("unmute", roles=CANDIDATES, aliases=("取消免打扰",), help_key="mute.unmute_help")
async def unmute_command(ctx: Context, args: str) -> None:
    candidate = _candidate(ctx)
    if candidate.muted_at is None:
        ctx.reply(ctx.t("mute.not_muted"))
        return
    await pushes.set_muted(
        session=ctx.session, candidate_id=candidate.id or 0, muted=False, now=ctx.now
    )
    ctx.reply(ctx.t("mute.undone"))


# ---- /resources -------------------------------------------------------------------------


def resources_for(items: list[ContentItem], profile: Profile, today: date) -> list[ContentItem]:
    """Library items marked ``resource`` that fit and are published, not expired; newest first."""
    fitting = [
        item
        for item in items
        if item.resource and item.available(today) and match(item.audience, profile) is not None
    ]
    return sorted(
        fitting,
        key=lambda i: (i.published is None, -(i.published.toordinal() if i.published else 0)),
    )


async def _variables(ctx: Context, candidate: Candidate) -> dict[str, object]:
    """Template variables for item titles (the same the planner fills)."""
    return await candidate_variables(
        ctx.session,
        ctx.services.content,
        candidate,
        lang=ctx.actor.language,
        today=ctx.today,
        company=ctx.t("push.company"),
    )


def _title(item: ContentItem, lang: str, variables: dict[str, object]) -> str:
    try:
        return render(item.title.get(lang), variables)
    except (TemplateProblem, TypeError, ValueError) as exc:  # e.g. a comparison with None
        log.warning("title of content item %s does not render: %s", item.id, exc)
        return item.title.get(lang)


def _faq_line(ctx: Context) -> str:
    lang: Lang = "en" if ctx.actor.language.startswith("en") else "zh"
    examples = [
        entry.questions[lang][0]
        for entry in ctx.services.content.faq[:FAQ_EXAMPLES]
        if entry.questions.get(lang)
    ]
    if not examples:
        return ctx.t("res.faq_plain")
    return ctx.t("res.faq", examples=ctx.t("res.faq_separator").join(examples))


async def show_resources(ctx: Context, page: int) -> None:
    candidate = _candidate(ctx)
    items = resources_for(list(ctx.services.content.items), profile_of(candidate), ctx.today)
    if not items:
        ctx.reply(ctx.t("res.empty") + "\n" + _faq_line(ctx))
        return
    shown_page = Page.of(page, size=PAGE, total=len(items))
    page, pages = shown_page.number, shown_page.pages
    lang = ctx.actor.language
    variables = await _variables(ctx, candidate)
    lines = [ctx.t("res.title", page=page, pages=pages, total=len(items))]
    shown: list[Link] = []
    for n, item in enumerate(shown_page.rows(items), start=shown_page.first):
        lines.append(ctx.t("res.line", n=n, title=_title(item, lang, variables)))
        for link in item.links:
            token = await links.create_token(
                session=ctx.session,
                candidate_id=candidate.id,
                item_id=item.id,
                url=link.url,
                now=ctx.now,
            )
            url = ctx.settings.public_base_url.rstrip("/") + "/r/" + token
            shown.append(Link(f"{n}. {link.label.get(lang)}", url))
    if page == pages:
        lines.append(_faq_line(ctx))
    buttons = [Button(ctx.t("common.next_page"), f"res:{page + 1}")] if page < pages else []
    ctx.reply("\n".join(lines), buttons=buttons, links=shown)


@router.command("resources", roles=CANDIDATES, aliases=("资料",), help_key="res.help")
async def resources_command(ctx: Context, args: str) -> None:
    await show_resources(ctx, page_number(args))


@router.payload("res", roles=CANDIDATES)
async def resources_page(ctx: Context, args: list[str]) -> None:
    if len(args) != 1 or number(args[0]) is None:
        ctx.reply(ctx.t("common.button_expired"))
        return
    await show_resources(ctx, page_number(args[0]))


# ---- buttons on scheduled pushes ------------------------------------------------------------


@router.payload("pa", roles=CANDIDATES)
async def push_action(ctx: Context, args: list[str]) -> None:
    """``pa:<action>``: a push's button opens the matching command (the tap is logged)."""
    command = PUSH_ACTIONS.get(args[0]) if len(args) == 1 else None
    if command is None:
        ctx.reply(ctx.t("common.button_expired"))
        return
    await ctx.services.commands.run(ctx, command)
