"""Offer approvals by managers and their SLA (issue #6).

An offer waits for approval when it was imported as ``pending_approval`` or
HR ran ``/offer NAME pending``. The approver is the candidate's manager, else
every manager of the candidate's department; admins may approve anything.
Buttons carry a stamp of when the approval was requested, so a button from an
earlier request, or one already decided, only says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.admins import notify_admins
from bot.core.context import Actor, Context, Services
from bot.core.i18n import I18n
from bot.core.messages import Button, Outgoing
from bot.core.quiet import staff_hours
from storage import approvals, outbox, people
from storage.db import Database
from storage.models import (
    Candidate,
    OfferStatus,
    OutboxCategory,
    Role,
    Staff,
)

PREFIX = "apv"
REJECTED_BY_MANAGER = "manager_rejected"


def stamp(candidate: Candidate) -> str:
    """A short tag of when this approval started (base 36 seconds)."""
    seconds = int(approvals.approval_since(candidate).timestamp())
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        seconds, rest = divmod(seconds, 36)
        out = digits[rest] + out
        if seconds == 0:
            return out


def is_current(candidate: Candidate, tag: str) -> bool:
    """Whether a button tagged ``tag`` still refers to this candidate's pending approval."""
    return candidate.offer_status == OfferStatus.PENDING_APPROVAL.value and stamp(candidate) == tag


def buttons(i18n: I18n, lang: str | None, candidate: Candidate) -> tuple[Button, Button]:
    tag = f"{PREFIX}:{candidate.id}:{stamp(candidate)}"
    return (
        Button(i18n.t(lang, "approve.approve"), f"{tag}:a"),
        Button(i18n.t(lang, "approve.reject"), f"{tag}:r"),
    )


def waited(i18n: I18n, lang: str | None, since: datetime, now: datetime) -> str:
    """ "5 hours" under two days, else "3 days"."""
    hours = max(0, int((now - since).total_seconds() // 3600))
    if hours < 48:
        return i18n.t(lang, "approve.wait_hours", hours=hours)
    return i18n.t(lang, "approve.wait_days", days=hours // 24)


async def may_approve(session: AsyncSession, actor: Actor, candidate: Candidate) -> bool:
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.MANAGER or actor.staff is None:
        return False
    approvers = await approvals.approvers_of(session=session, candidate=candidate)
    return any(a.id == actor.staff.id for a in approvers)


async def request_approval(ctx: Context, candidate: Candidate) -> list[Staff]:
    """Put the offer on hold for approval and send it to the approvers; return them."""
    await people.save_candidate(
        session=ctx.session,
        candidate=candidate,
        fields={
            "offer_status": OfferStatus.PENDING_APPROVAL.value,
            "approval_requested_at": ctx.now,
            "offer_delay_until": None,
            "offer_decline_reason": None,
            "offer_decline_note": None,
        },
        now=ctx.now,
    )
    # An offer question still open in the candidate's chat must not accept it meanwhile.
    assert candidate.id is not None
    await ctx.services.flows.close_for(ctx, candidate.id, "offer")
    approvers = list(await approvals.approvers_of(session=ctx.session, candidate=candidate))
    for approver in approvers:
        ctx.notify_staff_text(
            approver,
            ctx.staff_t(approver, "approve.request", requester=ctx.actor.name, **_about(candidate)),
            buttons(ctx.services.i18n, approver.language, candidate),
        )
    return approvers


async def approve(ctx: Context, candidate: Candidate) -> None:
    """The approver said yes: the candidate may now reply to the offer."""
    await people.save_candidate(
        session=ctx.session,
        candidate=candidate,
        fields={"offer_status": OfferStatus.OFFERED.value},
        now=ctx.now,
    )
    await _tell_hr(ctx, candidate, "approve.hr_approved")
    if candidate.bound_at is not None:
        ctx.notify_candidate(candidate, "approve.candidate_ready")


async def reject(ctx: Context, candidate: Candidate, note: str) -> None:
    """The approver said no: the offer is declined (by the company), HR hears why."""
    await people.save_candidate(
        session=ctx.session,
        candidate=candidate,
        fields={
            "offer_status": OfferStatus.DECLINED.value,
            "offer_decline_reason": REJECTED_BY_MANAGER,
            "offer_decline_note": note[:500],
        },
        now=ctx.now,
    )
    await _tell_hr(ctx, candidate, "approve.hr_rejected", note=note)


async def _tell_hr(ctx: Context, candidate: Candidate, key: str, **values: object) -> None:
    if candidate.hr_id is None:
        return
    hr = await people.get_staff(session=ctx.session, staff_id=candidate.hr_id)
    if hr is None or (ctx.actor.staff is not None and hr.id == ctx.actor.staff.id):
        return
    ctx.notify_staff_text(
        hr, ctx.staff_t(hr, key, approver=ctx.actor.name, **_about(candidate), **values)
    )


def _about(candidate: Candidate) -> dict[str, str]:
    dash = "-"
    return {
        "name": candidate.name,
        "department": candidate.department or dash,
        "position": candidate.position or dash,
        "school": candidate.school or dash,
    }


async def check_approval_sla(db: Database, services: Services, now: datetime) -> None:
    """Nudge approvers and alert HR about approvals pending past OFFER_APPROVAL_SLA_DAYS.

    From DIGEST_HOUR on working days, once per period (outbox dedupe keys carry it; see
    :func:`reminder_period`), so nobody is nudged at midnight, on a Sunday nor every day.
    An approval nobody can give (no manager for the department) goes to the admins, once.
    """
    settings = services.settings
    if not staff_hours(now, settings):
        return  # a waiting approval is not urgent enough for a Saturday: Monday it is
    sla = settings.offer_approval_sla_days
    cutoff = now - timedelta(days=sla)
    i18n = services.i18n
    async with db.session() as session:
        for candidate in await approvals.overdue_approvals(
            session=session, requested_before=cutoff
        ):
            since = approvals.approval_since(candidate)
            period = f"{since:%Y%m%d%H%M}:{reminder_period(now - since, sla)}"
            approvers = await approvals.approvers_of(session=session, candidate=candidate)
            if not approvers:
                await _tell_admins_nobody_approves(session, services, candidate, since, now)
            for approver in approvers:
                lang = approver.language
                text = i18n.t(
                    lang, "approve.nudge", wait=waited(i18n, lang, since, now), **_about(candidate)
                )
                await alert_staff(
                    session,
                    approver,
                    Outgoing(text, buttons(i18n, lang, candidate)),
                    f"approval_nudge:{candidate.id}:{period}:{approver.id}",
                    now,
                )
            hr = (
                await people.get_staff(session=session, staff_id=candidate.hr_id)
                if candidate.hr_id is not None
                else None
            )
            if hr is None:
                continue
            lang = hr.language
            names = "、".join(a.name for a in approvers) or i18n.t(lang, "approve.nobody")
            text = i18n.t(
                lang,
                "approve.sla_hr",
                wait=waited(i18n, lang, since, now),
                approvers=names,
                **_about(candidate),
            )
            key = f"approval_sla_hr:{candidate.id}:{period}"
            await alert_staff(session, hr, Outgoing(text), key, now)


def reminder_period(waited_for: timedelta, sla_days: int) -> int:
    """Which reminder a wait of ``waited_for`` is due: 1 from SLA days, 2 from twice that,
    3 from four times, … (each twice as long as the last, so an approval left for
    two months nags about six times, not thirty); 0 before the SLA."""
    periods = waited_for.days // sla_days
    return periods.bit_length()


async def _tell_admins_nobody_approves(
    session: AsyncSession, services: Services, candidate: Candidate, since: datetime, now: datetime
) -> None:
    """Once per approval request: nobody can approve it, so the admins must act."""
    i18n = services.i18n

    def render(lang: str | None) -> Outgoing:
        wait = waited(i18n, lang, since, now)
        return Outgoing(i18n.t(lang, "approve.no_approver_admin", wait=wait, **_about(candidate)))

    await notify_admins(
        session,
        services.settings,
        render,
        now=now,
        dedupe=f"approval_no_approver:{candidate.id}:{since:%Y%m%d%H%M}",
    )


async def alert_staff(
    session: AsyncSession, staff: Staff, message: Outgoing, key: str, now: datetime
) -> int | None:
    """Queue an alert to a staff member now, once per ``key``; the outbox id, or None."""
    return await outbox.enqueue(
        session=session,
        kind="notice",
        payload=message.to_json(),
        due_at=now,
        now=now,
        staff_id=staff.id,
        dedupe_key=key,
        category=OutboxCategory.ALERT.value,
    )
