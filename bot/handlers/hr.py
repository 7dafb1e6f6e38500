"""HR commands: /status."""

from __future__ import annotations

from collections.abc import Sequence

from bot.context import Context
from bot.handlers.candidate import render_checklist
from bot.messages import Button
from bot.privacy import mask_phone
from bot.progress import compute_progress
from bot.router import Router
from storage import people
from storage.models import Candidate, Role

router = Router()
STAFF_VIEW = {Role.HR, Role.ADMIN}


def hr_scope(ctx: Context) -> int | None:
    """The HR whose candidates this person may see; None for admins (everyone)."""
    if ctx.actor.role is Role.ADMIN:
        return None
    assert ctx.actor.staff is not None
    return ctx.actor.staff.id


async def find_in_scope(ctx: Context, name: str) -> Sequence[Candidate]:
    name = name.strip()
    if name.startswith("#") and name[1:].isdigit():
        candidate = await people.get_candidate(session=ctx.session, candidate_id=int(name[1:]))
        scope = hr_scope(ctx)
        if candidate is None or (scope is not None and candidate.hr_id != scope):
            return []
        return [candidate]
    return await people.find_candidates(session=ctx.session, name=name, hr_id=hr_scope(ctx))


def choose_buttons(prefix: str, matches: Sequence[Candidate]) -> list[Button]:
    return [
        Button(
            f"{c.name} · {c.department or '-'} · {c.school or '-'}",
            f"{prefix}:{c.id}",
        )
        for c in matches[:10]
    ]


async def render_status(ctx: Context, candidate: Candidate) -> None:
    progress = await compute_progress(
        session=ctx.session, candidate=candidate, content=ctx.services.content, today=ctx.today
    )
    identities = await people.identities_of(session=ctx.session, candidate_id=candidate.id)
    dash = "-"
    lines = [
        ctx.t(
            "status.header",
            name=candidate.name,
            department=candidate.department or dash,
            position=candidate.position or dash,
        ),
        ctx.t(
            "status.education",
            school=candidate.school or dash,
            major=candidate.major or dash,
            degree=candidate.degree or dash,
        ),
        ctx.t("status.contact", phone=mask_phone(candidate.phone), email=candidate.email or dash),
    ]
    if candidate.hometown or candidate.work_city:
        lines.append(
            ctx.t(
                "status.cities",
                hometown=candidate.hometown or dash,
                work_city=candidate.work_city or dash,
            )
        )
    lines.append(ctx.t("status.offer", status=ctx.t(f"offer_status.{candidate.offer_status}")))
    if identities:
        last = identities[0]
        seen = (
            last.last_seen_at.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")
            if last.last_seen_at
            else dash
        )
        platforms = "、".join(ctx.t(f"platform.{i.platform}") for i in identities)
        lines.append(ctx.t("status.bound", platforms=platforms, seen=seen))
    else:
        lines.append(ctx.t("status.unbound"))
    if candidate.tags:
        lines.append(ctx.t("status.tags", tags="、".join(candidate.tags)))
    lines.append(ctx.t("status.progress", percent=progress.percent))
    lines += render_checklist(ctx, progress)
    for key, when in (
        ("training", candidate.training_date),
        ("onboarding", candidate.onboarding_date),
    ):
        if when is not None:
            lines.append(
                ctx.t(f"status.{key}", date=when.isoformat(), days=(when - ctx.today).days)
            )
    ctx.reply("\n".join(lines))


@router.command("status", roles=STAFF_VIEW, aliases=("状态", "查看"), help_key="help.status")
async def status_command(ctx: Context, args: str) -> None:
    if not args.strip():
        ctx.reply(ctx.t("status.usage"))
        return
    matches = await find_in_scope(ctx, args)
    if not matches:
        ctx.reply(ctx.t("status.not_found", name=args.strip()))
    elif len(matches) == 1:
        await render_status(ctx, matches[0])
    else:
        ctx.reply(
            ctx.t("common.which_one", count=len(matches)),
            buttons=choose_buttons("st", matches),
        )


@router.payload("st", roles=STAFF_VIEW)
async def status_choice(ctx: Context, args: list[str]) -> None:
    if len(args) == 1 and args[0].isdigit():
        await status_command(ctx, f"#{args[0]}")
    else:
        ctx.reply(ctx.t("common.button_expired"))
