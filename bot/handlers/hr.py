"""HR commands about one candidate: /status (the view and its shared pieces)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.context import Context
from bot.core.privacy import mask_phone
from bot.core.router import Router
from bot.core.text import number
from bot.handlers.candidate import render_checklist
from bot.people.progress import compute_progress, offer_awaiting_reply
from bot.people.scope import STAFF_VIEW, find_one
from bot.scoring import jobs as score_jobs
from bot.scoring.standing import unscored
from bot.scoring.wording import action_text, band_label, reason_text, reasons_text
from storage import audit, courses, documents, outcomes, people, reports, scores
from storage.models import (
    Candidate,
    DocumentStatus,
    Identity,
    Outcome,
    ScoreSnapshot,
)

router = Router()
INDICATORS = ("interaction", "training", "feedback", "completeness", "external")
TREND_DAYS = (7, 14)


# ---- shared pieces ----------------------------------------------------------------------


async def record_audit(
    ctx: Context, action: str, *, candidate_id: int | None = None, detail: str = ""
) -> None:
    """Note that this staff member viewed or exported candidate data."""
    staff = ctx.actor.staff
    identity = ctx.actor.identity
    who = (
        staff.name
        if staff is not None
        else f"{ctx.actor.name} ({identity.platform}:{identity.user_id})"
    )
    await audit.record(
        session=ctx.session,
        staff_id=staff.id if staff is not None else None,
        actor=who,
        action=action,
        now=ctx.now,
        candidate_id=candidate_id,
        detail=detail,
    )


def band_text(ctx: Context, band: str) -> str:
    return band_label(ctx.services.i18n, ctx.actor.language, band)


def main_reason(ctx: Context, snapshot: ScoreSnapshot) -> str:
    if not snapshot.reasons:
        return ctx.t("rep.no_reason")
    return reason_text(ctx.services.i18n, ctx.actor.language, snapshot.reasons[0])


def unscored_text(ctx: Context, why: str, outcome: Outcome | None = None) -> str:
    """Why a candidate has no risk score, in words ("尚未绑定，未触达（不评分）", ...)."""
    label = ""
    if outcome is not None:
        label = ctx.t(f"export.outcome_{outcome.outcome}", reason=outcome.reason or "-")
    return ctx.t(f"score.{why}", outcome=label)


def suggested_action(ctx: Context, snapshot: ScoreSnapshot, name: str) -> str:
    return action_text(ctx.services.i18n, ctx.actor.language, snapshot.reasons, name=name)


def features(snapshot: ScoreSnapshot | None) -> dict[str, int]:
    """The five indicators of a snapshot, as stored with an outcome for calibration."""
    if snapshot is None:
        return {}
    return {name: int(getattr(snapshot, name)) for name in INDICATORS}


@dataclass(frozen=True, slots=True)
class Missing:
    """What a candidate still has to do, with titles in one language."""

    offer_reply: bool
    documents: tuple[str, ...]
    courses: tuple[str, ...]

    def any(self, kind: str = "all") -> bool:
        if kind == "docs":
            return bool(self.documents)
        if kind == "training":
            return bool(self.courses)
        return self.offer_reply or bool(self.documents) or bool(self.courses)


async def missing_items(ctx: Context, candidate: Candidate, lang: str | None) -> Missing:
    """Documents not submitted (or rejected), courses not passed, an unanswered offer."""
    assert candidate.id is not None
    content = ctx.services.content
    docs = {
        d.item: d
        for d in await documents.documents_of(session=ctx.session, candidate_id=candidate.id)
    }
    missing_docs = tuple(
        item.title.get(lang)
        for item in content.checklists.items_for(candidate.department, candidate.position)
        if item.id not in docs or docs[item.id].status == DocumentStatus.REJECTED.value
    )
    passed = {
        r.course_id
        for r in await courses.course_results_of(session=ctx.session, candidate_id=candidate.id)
        if r.passed
    }
    missing_courses = tuple(c.title.get(lang) for c in content.courses if c.id not in passed)
    return Missing(offer_awaiting_reply(candidate.offer_status), missing_docs, missing_courses)


def last_seen(identities: Sequence[Identity]) -> datetime | None:
    """When the candidate's chat accounts were last used (covers the binding message,
    which is logged before the account belongs to the candidate)."""
    times = [i.last_seen_at for i in identities if i.last_seen_at is not None]
    return max(times) if times else None


def local_time(ctx: Context, when: datetime) -> str:
    return when.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")


# ---- /status -----------------------------------------------------------------------------


def _trend(ctx: Context, history: Sequence[ScoreSnapshot], latest: ScoreSnapshot) -> str | None:
    parts = []
    for days in TREND_DAYS:
        window = [s for s in history if s.at >= ctx.now - timedelta(days=days)]
        if not window or window[0].id == latest.id:
            continue
        first = window[0].score
        arrow = "↑" if latest.score > first else "↓" if latest.score < first else "→"
        parts.append(
            ctx.t("rep.status_trend_part", days=days, first=first, last=latest.score, arrow=arrow)
        )
    joiner = ctx.t("score.joiner")
    return ctx.t("rep.status_trend", trend=joiner.join(parts)) if parts else None


async def score_lines(ctx: Context, candidate: Candidate) -> list[str]:
    """The freshly computed score with its breakdown, trend, reasons and suggested action."""
    assert candidate.id is not None
    snapshot = await score_jobs.refresh(ctx.session, ctx.services, candidate, ctx.now)
    lines = [
        ctx.t("rep.status_score", score=snapshot.score, band=band_text(ctx, snapshot.band)),
        ctx.t("rep.status_breakdown", **features(snapshot)),
    ]
    history = await scores.history(
        session=ctx.session,
        candidate_id=candidate.id,
        since=ctx.now - timedelta(days=max(TREND_DAYS)),
    )
    trend = _trend(ctx, history, snapshot)
    if trend:
        lines.append(trend)
    if snapshot.reasons:
        reasons = reasons_text(ctx.services.i18n, ctx.actor.language, snapshot.reasons)
        # A low-risk candidate's weak spots are worth watching, not "main reasons".
        key = "rep.status_watch" if snapshot.band == "low" else "rep.status_reasons"
        lines.append(ctx.t(key, reasons=reasons))
    action = suggested_action(ctx, snapshot, candidate.name)
    lines.append(ctx.t("rep.status_action", action=action))
    return lines


async def render_status(ctx: Context, candidate: Candidate) -> None:
    assert candidate.id is not None
    progress = await compute_progress(
        session=ctx.session, candidate=candidate, content=ctx.services.content, today=ctx.today
    )
    identities = await people.identities_of(session=ctx.session, candidate_id=candidate.id)
    last = await reports.last_interactions(session=ctx.session, candidate_ids=[candidate.id])
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
    outcome = await outcomes.get_outcome(session=ctx.session, candidate_id=candidate.id)
    if outcome is not None:
        lines.append(outcome_line(ctx, outcome.outcome, outcome.reason))
    if identities:
        seen_at = last.get(candidate.id) or last_seen(identities)
        platforms = "、".join(ctx.t(f"platform.{i.platform}") for i in identities)
        lines.append(
            ctx.t(
                "status.bound",
                platforms=platforms,
                seen=local_time(ctx, seen_at) if seen_at else dash,
            )
        )
    else:
        lines.append(ctx.t("status.unbound"))
    if candidate.tags:
        lines.append(ctx.t("status.tags", tags="、".join(candidate.tags)))
    lines.append(ctx.t("status.progress", percent=progress.percent))
    lines += render_checklist(ctx, progress)
    why_not = unscored(
        candidate, today=ctx.today, outcome=outcome.outcome if outcome is not None else None
    )
    if why_not is None:
        lines += await score_lines(ctx, candidate)
    else:
        lines.append(ctx.t("rep.status_unscored", why=unscored_text(ctx, why_not, outcome)))
    for key, when in (
        ("training", candidate.training_date),
        ("onboarding", candidate.onboarding_date),
    ):
        if when is not None:
            days = (when - ctx.today).days
            relative = (
                ctx.t("status.days_ahead", days=days)
                if days > 0
                else ctx.t("status.today")
                if days == 0
                else ctx.t("status.days_ago", days=-days)
            )
            lines.append(ctx.t(f"status.{key}", date=when.isoformat(), when=relative))
    await record_audit(ctx, "view", candidate_id=candidate.id)
    ctx.reply("\n".join(lines))


@router.command("status", roles=STAFF_VIEW, aliases=("状态", "查看"), help_key="help.status")
async def status_command(ctx: Context, args: str) -> None:
    if not args.strip():
        ctx.reply(ctx.t("status.usage"))
        return
    candidate = await find_one(ctx, args, prefix="st")
    if candidate is not None:
        await render_status(ctx, candidate)


@router.payload("st", roles=STAFF_VIEW)
async def status_choice(ctx: Context, args: list[str]) -> None:
    if len(args) == 1 and number(args[0]) is not None:
        await status_command(ctx, f"#{number(args[0])}")
    else:
        ctx.reply(ctx.t("common.button_expired"))


def outcome_line(ctx: Context, outcome: str, reason: str | None) -> str:
    if outcome == outcomes.JOINED:
        return ctx.t("outcome.line_joined")
    return ctx.t("outcome.line_reneged", reason=reason or "-")
