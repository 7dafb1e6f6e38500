"""Commands for everyone: /start, /bind, /help, /lang."""

from __future__ import annotations

import math
from datetime import datetime

from bot.core.admins import notify_admins
from bot.core.context import Context
from bot.core.i18n import LANGUAGES
from bot.core.messages import Outgoing
from bot.core.roles import BOUND, EVERYONE
from bot.core.router import Router
from bot.handlers.candidate import next_steps
from bot.people.binding import (
    BURST_PAUSE,
    BURST_WINDOW,
    BindStatus,
    Burst,
    bind,
    looks_like_code,
)
from bot.people.progress import offer_awaiting_reply
from storage import people
from storage.models import Role

router = Router()


@router.command("start", roles=EVERYONE, aliases=("开始",))
async def start(ctx: Context, args: str) -> None:
    if args:
        await bind_command(ctx, args)
    elif ctx.actor.role is None:
        ctx.reply(ctx.t("start.unbound"))
    else:
        ctx.reply(ctx.t("start.bound", name=ctx.actor.name))
        await help_command(ctx, "")


@router.command("bind", roles=EVERYONE, aliases=("绑定",), help_key="help.bind", help_roles={None})
async def bind_command(ctx: Context, args: str) -> None:
    if not args.strip():
        ctx.reply(ctx.t("bind.usage"))
        return
    result = await bind(
        session=ctx.session, identity=ctx.actor.identity, code_text=args, now=ctx.now
    )
    if result.burst_began is not None:
        await _alert_admins(ctx, result.burst_began)
    minutes = _minutes_until(ctx, result.locked_until)
    if result.status in (BindStatus.LOCKED, BindStatus.SLOWED):
        ctx.reply(ctx.t(f"bind.{result.status.value}", minutes=minutes))
        return
    if result.status is not BindStatus.BOUND:
        name = result.candidate.name if result.candidate else ""
        text = ctx.t(f"bind.{result.status.value}", name=name)
        if result.locked_until is not None:
            text += "\n" + ctx.t("bind.busy", minutes=minutes)
        ctx.reply(text)
        return
    candidate = result.candidate
    assert candidate is not None
    ctx.actor.candidate = candidate
    ctx.actor.role = Role.CANDIDATE
    if candidate.language:
        ctx.actor.language = candidate.language
    rank = await people.bound_rank_in_department(session=ctx.session, candidate=candidate)
    department = candidate.department or ctx.t("bind.default_department")
    ctx.reply(ctx.t("bind.welcome", name=candidate.name, department=department, rank=rank))
    await next_steps(ctx, candidate)
    if offer_awaiting_reply(candidate.offer_status):
        await ctx.services.flows.start(ctx, "offer")
    if candidate.hr_id is not None:
        hr = await people.get_staff(session=ctx.session, staff_id=candidate.hr_id)
        if hr is not None:
            ctx.notify_staff(
                hr,
                "bind.hr_notice",
                name=candidate.name,
                department=department,
                position=candidate.position or "-",
                platform=ctx.services.i18n.t(
                    hr.language, f"platform.{ctx.actor.identity.platform}"
                ),
            )


def _minutes_until(ctx: Context, until: datetime | None) -> int:
    if until is None:
        return 0
    return max(1, math.ceil((until - ctx.now).total_seconds() / 60))


async def _alert_admins(ctx: Context, burst: Burst) -> None:
    """Once an hour at most, whichever process sees the burst begin."""
    i18n = ctx.services.i18n

    def render(language: str | None) -> Outgoing:
        return Outgoing(
            i18n.t(
                language,
                "bind.burst_alert",
                failures=burst.failures,
                accounts=burst.accounts,
                window=int(BURST_WINDOW.total_seconds() // 60),
                pause=int(BURST_PAUSE.total_seconds() // 60),
            )
        )

    ctx.outbox_ids += await notify_admins(
        ctx.session,
        ctx.settings,
        render,
        now=ctx.now,
        dedupe=f"invite-burst:{ctx.now:%Y-%m-%dT%H}",
    )


@router.command("help", roles=EVERYONE, aliases=("帮助",), help_key="help.help")
async def help_command(ctx: Context, args: str) -> None:
    commands = ctx.services.commands.help_for(ctx.actor.role)
    lines = [ctx.t("help.title")]
    for command in commands:
        alias = f" ({' / '.join(command.aliases)})" if command.aliases else ""
        lines.append(f"/{command.name}{alias} — {ctx.t(command.help_key)}")
    if ctx.actor.role is None:
        lines.append(ctx.t("help.unbound_hint"))
    ctx.reply("\n".join(lines))


@router.command("lang", roles=BOUND | {None}, aliases=("语言",), help_key="help.lang")
async def lang_command(ctx: Context, args: str) -> None:
    choice = args.strip().lower()
    if choice not in LANGUAGES:
        ctx.reply(ctx.t("lang.usage"))
        return
    await people.set_language(session=ctx.session, identity=ctx.actor.identity, language=choice)
    ctx.actor.language = choice
    ctx.reply(ctx.t("lang.changed"))


async def bare_code(ctx: Context) -> bool:
    """An unbound user who pastes just their invite code is binding."""
    if ctx.actor.role is None and looks_like_code(ctx.message.text):
        await bind_command(ctx, ctx.message.text)
        return True
    if ctx.actor.role is None:
        ctx.reply(ctx.t("start.unbound"))
        return True
    return False
