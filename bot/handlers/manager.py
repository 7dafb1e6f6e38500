"""Manager commands: /team and /approve (plus HR's ``/offer NAME pending``, which feeds /approve).

Managers see their department's incoming candidates (and any assigned to them)
with stage, progress and risk band only: no documents, phone, email or ID.
Admins see every department.
"""

from __future__ import annotations

from bot.core.context import Context
from bot.core.messages import Button
from bot.core.paging import Page, offset_of, page_number
from bot.core.router import Router
from bot.core.text import number
from bot.people import approvals
from bot.people.progress import compute_progress
from bot.people.scope import find_in_scope, find_one
from bot.scoring.standing import unscored
from bot.scoring.wording import band_label
from storage import approvals as pending
from storage import audit, locks, people, scores
from storage.models import Candidate, OfferStatus, Role, Staff

router = Router()
MANAGERS = {Role.MANAGER, Role.ADMIN}
HR_ROLES = {Role.HR, Role.ADMIN}
TEAM_PAGE = 10
APPROVE_PAGE = 5
# Statuses from which HR may (re)submit an offer for approval.
SUBMITTABLE = {OfferStatus.OFFERED.value, OfferStatus.DELAYED.value}


def _manager(ctx: Context) -> Staff | None:
    """The manager whose team this is; None for admins (every department)."""
    return None if ctx.actor.role is Role.ADMIN else ctx.actor.staff


# ---- /team -----------------------------------------------------------------------------


@router.command("team", roles=MANAGERS, aliases=("团队",), help_key="team.help")
async def team_command(ctx: Context, args: str) -> None:
    await _team_page(ctx, page_number(args))


@router.payload("tm", roles=MANAGERS)
async def team_page(ctx: Context, args: list[str]) -> None:
    await _team_page(ctx, page_number(args[0] if args else None))


async def _team_page(ctx: Context, page: int) -> None:
    manager = _manager(ctx)
    rows, total = await pending.team_candidates(
        session=ctx.session,
        manager=manager,
        limit=TEAM_PAGE,
        offset=offset_of(page, TEAM_PAGE),
        today=ctx.today,
    )
    await audit.record(
        session=ctx.session,
        staff_id=ctx.actor.staff.id if ctx.actor.staff else None,
        actor=ctx.actor.name,
        action="team",
        now=ctx.now,
        detail=f"page {page}, {len(rows)} of {total}",
    )
    if total == 0:
        if manager is not None and manager.department is None:
            ctx.reply(ctx.t("team.no_department"))
        else:
            ctx.reply(ctx.t("team.empty"))
        return
    pages = Page.of(page, size=TEAM_PAGE, total=total).pages
    shown = {"total": total, "page": min(page, pages), "pages": pages}
    if manager is not None and manager.department:
        title = ctx.t("team.title", department=manager.department, **shown)
    else:
        title = ctx.t("team.title_all", **shown)
    lines = [title]
    latest = await scores.latest(session=ctx.session, candidate_ids=[c.id or 0 for c in rows])
    i18n = ctx.services.i18n
    dash = "-"
    for n, candidate in enumerate(rows, start=offset_of(page, TEAM_PAGE) + 1):
        progress = await compute_progress(
            session=ctx.session,
            candidate=candidate,
            content=ctx.services.content,
            today=ctx.today,
        )
        snapshot = latest.get(candidate.id or 0)
        band = (
            band_label(i18n, ctx.actor.language, snapshot.band)
            if snapshot is not None and unscored(candidate, today=ctx.today) is None
            else ctx.t("team.no_score")
        )
        lines.append(
            ctx.t(
                "team.line",
                n=n,
                name=candidate.name,
                department=candidate.department or dash,
                position=candidate.position or dash,
                stage=ctx.t(f"offer_status.{candidate.offer_status}"),
                percent=progress.percent,
                band=band,
                start=candidate.onboarding_date.isoformat() if candidate.onboarding_date else dash,
            )
        )
    buttons = [Button(ctx.t("common.next_page"), f"tm:{page + 1}")] if page < pages else []
    ctx.reply("\n".join(lines), buttons=buttons)


# ---- /approve ----------------------------------------------------------------------------


@router.command("approve", roles=MANAGERS, aliases=("审批",), help_key="approve.help")
async def approve_command(ctx: Context, args: str) -> None:
    await _approve_page(ctx, page_number(args))


@router.payload("apl", roles=MANAGERS)
async def approve_page(ctx: Context, args: list[str]) -> None:
    await _approve_page(ctx, page_number(args[0] if args else None))


async def _approve_page(ctx: Context, page: int) -> None:
    rows, total = await pending.pending_approvals(
        session=ctx.session,
        approver=_manager(ctx),
        limit=APPROVE_PAGE,
        offset=offset_of(page, APPROVE_PAGE),
    )
    if total == 0:
        ctx.reply(ctx.t("approve.empty"))
        return
    pages = Page.of(page, size=APPROVE_PAGE, total=total).pages
    lines = [ctx.t("approve.list_title", total=total, page=min(page, pages), pages=pages)]
    buttons: list[Button] = []
    i18n = ctx.services.i18n
    for n, candidate in enumerate(rows, start=offset_of(page, APPROVE_PAGE) + 1):
        hr = (
            await people.get_staff(session=ctx.session, staff_id=candidate.hr_id)
            if candidate.hr_id is not None
            else None
        )
        lines.append(
            ctx.t(
                "approve.list_line",
                n=n,
                name=candidate.name,
                department=candidate.department or "-",
                position=candidate.position or "-",
                school=candidate.school or "-",
                hr=hr.name if hr else "-",
                wait=approvals.waited(
                    i18n, ctx.actor.language, pending.approval_since(candidate), ctx.now
                ),
            )
        )
        yes, no = approvals.buttons(i18n, ctx.actor.language, candidate)
        buttons += [
            Button(ctx.t("approve.approve_n", n=n), yes.payload),
            Button(ctx.t("approve.reject_n", n=n), no.payload),
        ]
    if page < pages:
        buttons.append(Button(ctx.t("common.next_page"), f"apl:{page + 1}"))
    ctx.reply("\n".join(lines), buttons=buttons)


async def approval_in_reach(ctx: Context, candidate_id: str, tag: str) -> Candidate | None:
    """The candidate of an approve/reject button, if it is still pending and this person's.

    Replies with the reason and returns None otherwise.
    """
    found_id = number(candidate_id)
    candidate = (
        await locks.lock_candidate(session=ctx.session, candidate_id=found_id)
        if found_id is not None
        else None
    )
    if candidate is None:
        ctx.reply(ctx.t("approve.not_found"))
        return None
    if not await approvals.may_approve(ctx.session, ctx.actor, candidate):
        ctx.reply(ctx.t("approve.not_yours"))
        return None
    if not approvals.is_current(candidate, tag):
        ctx.reply(
            ctx.t(
                "approve.already",
                name=candidate.name,
                status=ctx.t(f"offer_status.{candidate.offer_status}"),
            )
        )
        return None
    return candidate


@router.payload(approvals.PREFIX, roles=MANAGERS)
async def approve_tap(ctx: Context, args: list[str]) -> None:
    if len(args) != 3 or args[2] not in ("a", "r"):
        ctx.reply(ctx.t("common.button_expired"))
        return
    candidate = await approval_in_reach(ctx, args[0], args[1])
    if candidate is None:
        return
    if args[2] == "a":
        await approvals.approve(ctx, candidate)
        ctx.reply(ctx.t("approve.approved", name=candidate.name))
    else:
        await ctx.services.flows.start(
            ctx, "approval_reject", {"candidate": candidate.id, "tag": args[1]}
        )


# ---- HR: /offer NAME pending -------------------------------------------------------------


async def offer_for_hr(ctx: Context, args: str) -> None:
    """``/offer NAME pending``: send the offer of one of this HR's candidates for approval."""
    name, _, action = args.strip().rpartition(" ")
    if not name.strip() or action.strip().lower() not in ("pending", "待审批"):
        ctx.reply(ctx.t("offer_hr.usage"))
        return
    candidate = await find_one(ctx, name, prefix="ofp", not_found_key="offer_hr.not_found")
    if candidate is not None:
        await _submit(ctx, candidate)


@router.payload("ofp", roles=HR_ROLES)
async def offer_choice(ctx: Context, args: list[str]) -> None:
    matches = await find_in_scope(ctx, f"#{args[0]}") if len(args) == 1 else []
    if not matches:
        ctx.reply(ctx.t("common.button_expired"))
        return
    await _submit(ctx, matches[0])


async def _submit(ctx: Context, candidate: Candidate) -> None:
    status = candidate.offer_status
    if status == OfferStatus.PENDING_APPROVAL.value:
        since = pending.approval_since(candidate).astimezone(ctx.tz)
        ctx.reply(
            ctx.t(
                "offer_hr.already_pending",
                name=candidate.name,
                since=since.strftime("%Y-%m-%d %H:%M"),
            )
        )
        return
    company_rejected = (
        status == OfferStatus.DECLINED.value
        and candidate.offer_decline_reason == approvals.REJECTED_BY_MANAGER
    )
    if status not in SUBMITTABLE and not company_rejected:
        ctx.reply(
            ctx.t(
                "offer_hr.cannot",
                name=candidate.name,
                status=ctx.t(f"offer_status.{status}"),
            )
        )
        return
    approvers = await approvals.request_approval(ctx, candidate)
    if approvers:
        ctx.reply(
            ctx.t(
                "offer_hr.requested",
                name=candidate.name,
                approvers="、".join(a.name for a in approvers),
            )
        )
    else:
        ctx.reply(
            ctx.t(
                "offer_hr.no_approver",
                name=candidate.name,
                department=candidate.department or "-",
            )
        )
