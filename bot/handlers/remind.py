"""HR reminders: /remind one candidate, or a group (missing documents, training not done)."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.messages import Button, Outgoing
from bot.core.quiet import next_allowed
from bot.core.router import Router
from bot.core.zones import person_zone
from bot.handlers.hr import (
    Missing,
    local_time,
    missing_items,
)
from bot.people.scope import STAFF_VIEW, find_one, hr_scope, in_scope
from storage import outbox, outcomes, people
from storage.models import (
    Candidate,
    OfferStatus,
    OutboxCategory,
)

router = Router()
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
    """Queue one reminder (the courier keeps quiet hours); False when one went out today."""
    assert candidate.id is not None
    tz = person_zone(candidate, ctx.settings.default_timezone)
    local_day = ctx.now.astimezone(tz).date().isoformat()
    row = await outbox.enqueue(
        session=ctx.session,
        kind="notice",
        payload=Outgoing(reminder_text(ctx, candidate, missing, kind)).to_json(),
        due_at=ctx.now,
        now=ctx.now,
        candidate_id=candidate.id,
        category=OutboxCategory.REMINDER.value,
        dedupe_key=f"remind:{candidate.id}:{local_day}",  # one a day, whatever the kind
    )
    if row is not None:
        ctx.outbox_ids.append(row)
    return row is not None


def _quiet_note(ctx: Context) -> str:
    due = next_allowed(
        ctx.now, ctx.settings.timezone, ctx.settings.quiet_hours_start, ctx.settings.quiet_hours_end
    )
    return "" if due == ctx.now else ctx.t("remind.after_quiet", time=local_time(ctx, due))


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
    """In-scope candidates missing something of ``kind``; and how many of them are unbound.

    Documents and courses are asked of those who accepted their offer only."""
    found: list[tuple[Candidate, Missing]] = []
    unbound = 0
    for candidate in await people.list_candidates(session=ctx.session, hr_id=hr_scope(ctx)):
        assert candidate.id is not None
        if candidate.offer_status != OfferStatus.ACCEPTED.value:
            continue
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
