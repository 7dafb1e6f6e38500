"""/forget: a candidate asks for their data to be deleted; an admin carries it out.

The candidate confirms twice (two warnings, either can be declined, /cancel
works too); that records ``forget_requested_at`` and tells the admins. An
admin's ``/forget NAME`` shows what would be deleted and the exact command;
``/forget #ID confirm`` deletes it all in the message's transaction (see
:mod:`storage.forget`) and then removes the files no other document uses.
Admins may also delete a candidate who asked by other means (e.g. e-mail); the
preview then warns that no request was made in the chat.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.admins import notify_admins
from bot.core.context import Context
from bot.core.messages import Outgoing
from bot.core.router import Router
from bot.core.uploads import ACCEPTED, FileStore
from bot.people.scope import find_in_scope, find_one
from flows.engine import END, Accept, Answer, Ask, Flow, Go, Option, Step, Turn
from storage import audit, people
from storage import forget as forgetting
from storage.models import Candidate, Role

router = Router()
CONFIRM = ("confirm", "确认")


# ---- the candidate's request -------------------------------------------------------------


async def ask_first(turn: Turn) -> Ask:
    return Ask(
        turn.t("forget.warn_first"),
        (Option("go", turn.t("forget.continue")), Option("keep", turn.t("forget.keep"))),
    )


async def handle_first(turn: Turn, answer: Answer) -> Go:
    if answer.choice == "go":
        return Go("second")
    return Go(END, (turn.t("forget.kept"),))


async def ask_second(turn: Turn) -> Ask:
    return Ask(
        turn.t("forget.warn_second"),
        (Option("yes", turn.t("forget.confirm")), Option("keep", turn.t("forget.keep"))),
    )


async def handle_second(turn: Turn, answer: Answer) -> Go:
    if answer.choice != "yes":
        return Go(END, (turn.t("forget.kept"),))
    ctx = turn.ctx
    candidate = turn.candidate
    await people.save_candidate(
        session=ctx.session,
        candidate=candidate,
        fields={"forget_requested_at": ctx.now},
        now=ctx.now,
    )
    await _tell_admins(ctx, candidate)
    return Go(END, (turn.t("forget.requested"),))


FORGET_FLOW = Flow(
    name="forget",
    title_key="forget.title",
    start="first",
    timeout=timedelta(hours=1),
    steps={
        "first": Step(ask_first, handle_first, frozenset({Accept.CHOICE}), ("second", END)),
        "second": Step(ask_second, handle_second, frozenset({Accept.CHOICE}), (END,)),
    },
)


async def _tell_admins(ctx: Context, candidate: Candidate) -> None:
    """Every admin: admin staff and ADMIN_IDS accounts (bot.core.admins)."""
    hr = (
        await people.get_staff(session=ctx.session, staff_id=candidate.hr_id)
        if candidate.hr_id is not None
        else None
    )
    values = {
        "id": candidate.id,
        "name": candidate.name,
        "department": candidate.department or "-",
        "hr": hr.name if hr else "-",
    }
    i18n = ctx.services.i18n
    ctx.outbox_ids += await notify_admins(
        ctx.session,
        ctx.settings,
        lambda language: Outgoing(i18n.t(language, "forget.admin_notice", **values)),
        now=ctx.now,
    )


# ---- /forget: the candidate asks, the admin carries it out ----------------------------------


@router.command(
    "forget",
    roles={Role.CANDIDATE, Role.ADMIN},
    aliases=("删除我的数据",),
    help_key="forget.help",
    help_roles={Role.CANDIDATE},
)
async def forget_command(ctx: Context, args: str) -> None:
    if ctx.actor.role is Role.ADMIN:
        await _admin_forget(ctx, args)
        return
    candidate = ctx.actor.candidate
    assert candidate is not None
    if candidate.forget_requested_at is not None:
        when = candidate.forget_requested_at.astimezone(ctx.tz).strftime("%Y-%m-%d")
        ctx.reply(ctx.t("forget.already", date=when))
        return
    await ctx.services.flows.start(ctx, "forget")


async def _admin_forget(ctx: Context, args: str) -> None:
    words = args.split()
    confirmed = len(words) > 1 and words[-1].lower() in CONFIRM
    name = " ".join(words[:-1] if confirmed else words)
    if not name:
        ctx.reply(ctx.t("forget.admin_usage"))
        return
    candidate = await find_one(ctx, name, prefix="fgc", not_found_key="forget.not_found")
    if candidate is None:
        return
    if confirmed:
        await _carry_out(ctx, candidate)
    else:
        await _preview(ctx, candidate)


@router.payload("fgc", roles={Role.ADMIN})
async def forget_choice(ctx: Context, args: list[str]) -> None:
    """A name matched several candidates: show the chosen one's preview (never deletes)."""
    matches = await find_in_scope(ctx, f"#{args[0]}") if len(args) == 1 else []
    if not matches:
        ctx.reply(ctx.t("common.button_expired"))
        return
    await _preview(ctx, matches[0])


def _lines(ctx: Context, counts: dict[str, int]) -> str:
    return "\n".join(
        ctx.t("forget.count_line", what=ctx.t(f"forget.table.{table}"), count=n)
        for table, n in counts.items()
        if n and table != "candidates"
    )


async def _preview(ctx: Context, candidate: Candidate) -> None:
    assert candidate.id is not None
    counts = await forgetting.preview(session=ctx.session, candidate_id=candidate.id)
    if candidate.forget_requested_at is not None:
        when = candidate.forget_requested_at.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")
        request = ctx.t("forget.request_made", date=when)
    else:
        request = ctx.t("forget.no_request")
    ctx.reply(
        ctx.t(
            "forget.preview",
            id=candidate.id,
            name=candidate.name,
            department=candidate.department or "-",
            lines=_lines(ctx, counts) or ctx.t("forget.profile_only"),
            request=request,
        )
    )


async def _carry_out(ctx: Context, candidate: Candidate) -> None:
    candidate_id = candidate.id
    staff_id = ctx.actor.staff.id if ctx.actor.staff else None
    report = await forgetting.forget_candidate(
        session=ctx.session, candidate=candidate, recorded_by=staff_id, now=ctx.now
    )
    await audit.record(
        session=ctx.session,
        staff_id=staff_id,
        actor=ctx.actor.name,
        action="forget",
        now=ctx.now,
        candidate_id=candidate_id,
        detail=report.summary(),
    )
    # Last, so an error above rolls everything back with the files still there; if the
    # commit itself fails, running the command again finishes the job (unlinking is idempotent).
    store = FileStore(ctx.settings.data_dir / "files")
    for stored in report.orphan_files:
        store.path(stored.sha256, ACCEPTED.get(stored.mime_type, "bin")).unlink(missing_ok=True)
    ctx.reply(
        ctx.t(
            "forget.done",
            id=candidate_id,
            lines=_lines(ctx, report.counts) or ctx.t("forget.profile_only"),
            files=len(report.orphan_files),
        )
    )


FLOWS: tuple[Flow, ...] = (FORGET_FLOW,)
