"""Candidate commands: /progress."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.router import Router
from bot.people.progress import Progress, compute_progress
from storage.models import Candidate, Role

router = Router()


def _mark(done: bool) -> str:
    return "✅" if done else "⬜"


def _days_line(ctx: Context, progress: Progress, candidate: Candidate) -> str | None:
    parts = []
    for key, days, when in (
        ("training", progress.days_to_training, candidate.training_date),
        ("onboarding", progress.days_to_onboarding, candidate.onboarding_date),
    ):
        if days is None or when is None:
            continue
        if days > 0:
            parts.append(ctx.t(f"progress.days_to_{key}", days=days, date=when.isoformat()))
        elif days == 0:
            parts.append(ctx.t(f"progress.today_{key}"))
        else:
            parts.append(ctx.t(f"progress.past_{key}", date=when.isoformat()))
    return ctx.t("progress.separator").join(parts) if parts else None


def render_checklist(ctx: Context, progress: Progress) -> list[str]:
    """The three checklist lines, shared by /progress and HR's /status."""
    lines = [f"{_mark(progress.offer_confirmed)} {ctx.t('progress.offer')}"]
    docs_done = progress.documents_approved == progress.documents_required
    lines.append(
        f"{_mark(docs_done)} "
        + ctx.t(
            "progress.documents",
            submitted=progress.documents_submitted,
            approved=progress.documents_approved,
            required=progress.documents_required,
        )
    )
    if progress.courses_total:
        lines.append(
            f"{_mark(progress.courses_passed == progress.courses_total)} "
            + ctx.t(
                "progress.courses", passed=progress.courses_passed, total=progress.courses_total
            )
        )
    return lines


@router.command("progress", roles={Role.CANDIDATE}, aliases=("进度",), help_key="help.progress")
async def progress_command(ctx: Context, args: str) -> None:
    candidate = ctx.actor.candidate
    assert candidate is not None
    progress = await compute_progress(
        session=ctx.session, candidate=candidate, content=ctx.services.content, today=ctx.today
    )
    lines = [ctx.t("progress.title", name=candidate.name, percent=progress.percent)]
    lines += render_checklist(ctx, progress)
    days = _days_line(ctx, progress, candidate)
    if days:
        lines.append(days)
    ctx.reply("\n".join(lines))


async def next_steps(ctx: Context, candidate: Candidate) -> None:
    """What a candidate should do next, after binding or when asking for it."""
    progress = await compute_progress(
        session=ctx.session, candidate=candidate, content=ctx.services.content, today=ctx.today
    )
    steps = []
    if not progress.offer_confirmed:
        steps.append(ctx.t("next.offer"))
    if progress.documents_missing > 0:
        steps.append(ctx.t("next.documents", count=progress.documents_missing))
    if progress.courses_passed < progress.courses_total:
        steps.append(ctx.t("next.courses", count=progress.courses_total - progress.courses_passed))
    lines = [ctx.t("next.title")]
    lines += [f"{n}. {step}" for n, step in enumerate(steps, 1)]
    lines.append(ctx.t("next.footer"))
    days = _days_line(ctx, progress, candidate)
    if days:
        lines.append(days)
    ctx.reply("\n".join(lines))
