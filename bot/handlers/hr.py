"""HR commands about one candidate: /status, /remind, /outcome; and the HR data scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.context import Context
from bot.core.messages import Button, Outgoing
from bot.core.privacy import mask_phone
from bot.core.quiet import next_allowed
from bot.core.router import Router
from bot.handlers.candidate import render_checklist
from bot.people.progress import compute_progress, offer_awaiting_reply
from bot.scoring import jobs as score_jobs
from bot.scoring.model import action_text, band_label, reason_text, reasons_text
from storage import audit, courses, documents, outbox, outcomes, people, reports, scores
from storage.models import (
    Candidate,
    DocumentStatus,
    Identity,
    OfferStatus,
    OutboxCategory,
    Role,
    ScoreSnapshot,
)

router = Router()
STAFF_VIEW = {Role.HR, Role.ADMIN}
INDICATORS = ("interaction", "training", "feedback", "completeness", "external")
TREND_DAYS = (7, 14)
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
REMIND_GROUPS = {
    "missing-docs": "docs",
    "missing_docs": "docs",
    "docs": "docs",
    "缺材料": "docs",
    "材料": "docs",
    "not-trained": "training",
    "not_trained": "training",
    "training": "training",
    "未培训": "training",
    "培训": "training",
}


# ---- scope and shared pieces -----------------------------------------------------------


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


async def find_one(
    ctx: Context, name: str, *, prefix: str, not_found_key: str = "status.not_found"
) -> Candidate | None:
    """The one in-scope candidate called ``name``. Otherwise reply "not found" or ask which
    one (buttons ``prefix:ID``, handled by the caller's payload handler) and return None."""
    matches = await find_in_scope(ctx, name)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        ctx.reply(ctx.t(not_found_key, name=name.strip()))
    else:
        ctx.reply(
            ctx.t("common.which_one", count=len(matches)), buttons=choose_buttons(prefix, matches)
        )
    return None


def choose_buttons(prefix: str, matches: Sequence[Candidate]) -> list[Button]:
    return [
        Button(
            f"{c.name} · {c.department or '-'} · {c.school or '-'}",
            f"{prefix}:{c.id}",
        )
        for c in matches[:10]
    ]


async def in_scope(ctx: Context, candidate_id: str) -> Candidate | None:
    """The candidate behind a button's id, if this person may see them."""
    if not candidate_id.isdigit():
        return None
    found = await find_in_scope(ctx, f"#{candidate_id}")
    return found[0] if found else None


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


def _local(ctx: Context, when: datetime) -> str:
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
        lines.append(ctx.t("rep.status_reasons", reasons=reasons))
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
                "status.bound", platforms=platforms, seen=_local(ctx, seen_at) if seen_at else dash
            )
        )
    else:
        lines.append(ctx.t("status.unbound"))
    if candidate.tags:
        lines.append(ctx.t("status.tags", tags="、".join(candidate.tags)))
    lines.append(ctx.t("status.progress", percent=progress.percent))
    lines += render_checklist(ctx, progress)
    lines += await score_lines(ctx, candidate)
    for key, when in (
        ("training", candidate.training_date),
        ("onboarding", candidate.onboarding_date),
    ):
        if when is not None:
            lines.append(
                ctx.t(f"status.{key}", date=when.isoformat(), days=(when - ctx.today).days)
            )
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
    if len(args) == 1 and args[0].isdigit():
        await status_command(ctx, f"#{args[0]}")
    else:
        ctx.reply(ctx.t("common.button_expired"))


# ---- /remind -----------------------------------------------------------------------------


async def closed(ctx: Context, candidate: Candidate) -> bool:
    """Whether the candidate is past reminding: offer declined or an outcome recorded."""
    assert candidate.id is not None
    if candidate.offer_status == OfferStatus.DECLINED.value:
        return True
    return await outcomes.get_outcome(session=ctx.session, candidate_id=candidate.id) is not None


def reminder_text(ctx: Context, candidate: Candidate, missing: Missing, kind: str) -> str:
    """The reminder in the candidate's language, listing what is missing of ``kind``."""
    lang = candidate.language

    def t(key: str, **values: object) -> str:
        return ctx.services.i18n.t(lang, key, **values)

    lines = [t("remind.header", name=candidate.name)]
    if kind == "all" and missing.offer_reply:
        lines.append(t("remind.offer"))
    if kind in ("all", "docs") and missing.documents:
        lines.append(t("remind.documents", items="、".join(missing.documents)))
        if candidate.doc_deadline is not None:
            lines.append(t("remind.deadline", date=candidate.doc_deadline.isoformat()))
    if kind in ("all", "training") and missing.courses:
        lines.append(t("remind.courses", items="、".join(missing.courses)))
    lines.append(t("remind.footer"))
    return "\n".join(lines)


async def send_reminder(ctx: Context, candidate: Candidate, missing: Missing, kind: str) -> bool:
    """Queue one reminder (quiet hours respected); False when one went out today already."""
    assert candidate.id is not None
    tz = ZoneInfo(candidate.timezone) if candidate.timezone else ctx.settings.timezone
    local_day = ctx.now.astimezone(tz).date().isoformat()
    due = next_allowed(ctx.now, tz, ctx.settings.quiet_hours_start, ctx.settings.quiet_hours_end)
    row = await outbox.enqueue(
        session=ctx.session,
        kind="notice",
        payload=Outgoing(reminder_text(ctx, candidate, missing, kind)).to_json(),
        due_at=due,
        now=ctx.now,
        candidate_id=candidate.id,
        category=OutboxCategory.REMINDER.value,
        dedupe_key=f"remind:{candidate.id}:{kind}:{local_day}",
    )
    if row is not None and due <= ctx.now:
        ctx.outbox_ids.append(row)
    return row is not None


def _quiet_note(ctx: Context) -> str:
    due = next_allowed(
        ctx.now, ctx.settings.timezone, ctx.settings.quiet_hours_start, ctx.settings.quiet_hours_end
    )
    return "" if due == ctx.now else ctx.t("remind.after_quiet", time=_local(ctx, due))


async def remind_one(ctx: Context, candidate: Candidate) -> None:
    assert candidate.id is not None
    if await closed(ctx, candidate):
        ctx.reply(ctx.t("remind.closed", name=candidate.name))
        return
    if not await people.identities_of(session=ctx.session, candidate_id=candidate.id):
        ctx.reply(ctx.t("remind.not_bound", name=candidate.name))
        return
    missing = await missing_items(ctx, candidate, candidate.language)
    if not missing.any():
        ctx.reply(ctx.t("remind.nothing", name=candidate.name))
        return
    if not await send_reminder(ctx, candidate, missing, "all"):
        ctx.reply(ctx.t("remind.already_today", name=candidate.name))
        return
    what = []
    if missing.offer_reply:
        what.append(ctx.t("remind.what_offer"))
    if missing.documents:
        what.append(ctx.t("remind.what_documents", count=len(missing.documents)))
    if missing.courses:
        what.append(ctx.t("remind.what_courses", count=len(missing.courses)))
    ctx.reply(
        ctx.t("remind.sent_one", name=candidate.name, what="、".join(what)) + _quiet_note(ctx)
    )


async def remind_targets(ctx: Context, kind: str) -> tuple[list[tuple[Candidate, Missing]], int]:
    """In-scope candidates missing something of ``kind``; and how many of them are unbound."""
    found: list[tuple[Candidate, Missing]] = []
    unbound = 0
    for candidate in await people.list_candidates(session=ctx.session, hr_id=hr_scope(ctx)):
        assert candidate.id is not None
        if await closed(ctx, candidate):
            continue
        missing = await missing_items(ctx, candidate, candidate.language)
        if not missing.any(kind):
            continue
        if not await people.identities_of(session=ctx.session, candidate_id=candidate.id):
            unbound += 1
            continue
        found.append((candidate, missing))
    return found, unbound


async def remind_group_preview(ctx: Context, kind: str) -> None:
    targets, unbound = await remind_targets(ctx, kind)
    note = ctx.t("remind.unbound_note", count=unbound) if unbound else ""
    if not targets:
        ctx.reply(ctx.t(f"remind.none_{kind}") + note)
        return
    names = "、".join(c.name for c, _ in targets[:20])
    if len(targets) > 20:
        names += ctx.t("remind.and_more", count=len(targets) - 20)
    ctx.reply(
        ctx.t(f"remind.preview_{kind}", count=len(targets), names=names) + note,
        buttons=[
            Button(ctx.t("remind.confirm", count=len(targets)), f"rmg:{kind[0]}"),
            Button(ctx.t("remind.cancel"), "rmg:x"),
        ],
    )


@router.command("remind", roles=STAFF_VIEW, aliases=("提醒",), help_key="remind.help")
async def remind_command(ctx: Context, args: str) -> None:
    target = args.strip()
    if not target:
        ctx.reply(ctx.t("remind.usage"))
        return
    group = REMIND_GROUPS.get(target.lower())
    if group is not None:
        await remind_group_preview(ctx, group)
        return
    candidate = await find_one(ctx, target, prefix="rm")
    if candidate is not None:
        await remind_one(ctx, candidate)


@router.payload("rm", roles=STAFF_VIEW)
async def remind_choice(ctx: Context, args: list[str]) -> None:
    candidate = await in_scope(ctx, args[0]) if len(args) == 1 else None
    if candidate is None:
        ctx.reply(ctx.t("common.button_expired"))
        return
    await remind_one(ctx, candidate)


@router.payload("rmg", roles=STAFF_VIEW)
async def remind_group_confirm(ctx: Context, args: list[str]) -> None:
    kind = {"d": "docs", "t": "training"}.get(args[0] if args else "")
    if kind is None:
        ctx.reply(ctx.t("remind.cancelled"))
        return
    targets, _ = await remind_targets(ctx, kind)
    sent = 0
    for candidate, missing in targets:
        sent += int(await send_reminder(ctx, candidate, missing, kind))
    text = ctx.t("remind.sent_group", sent=sent)
    if len(targets) > sent:
        text += ctx.t("remind.skipped_today", count=len(targets) - sent)
    ctx.reply(text + (_quiet_note(ctx) if sent else ""))


# ---- /outcome ----------------------------------------------------------------------------


def outcome_line(ctx: Context, outcome: str, reason: str | None) -> str:
    if outcome == outcomes.JOINED:
        return ctx.t("outcome.line_joined")
    return ctx.t("outcome.line_reneged", reason=reason or "-")


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
        ctx.reply(await record_candidate_outcome(ctx, matches[0], outcome, reason))
    else:
        await ctx.services.flows.start(
            ctx,
            "outcome_pick",
            {"ids": [c.id for c in matches[:10]], "outcome": outcome, "reason": reason},
        )
