"""HR-side dialogs of the reports feature: /import in chat, and picking a name for /outcome.

``/import`` runs the command line's importer (same rules, same report): the file
is checked in a savepoint that is rolled back (the dry run), kept under
``DATA_DIR/imports/`` while HR decides, then imported for real on confirmation.
An HR may not touch another HR's candidates through a file; candidates the file
gives no HR are assigned to the HR who imports them.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from bot.core.context import Context
from bot.core.messages import AttachmentKind
from bot.core.router import Router
from bot.handlers.outcome import record_candidate_outcome
from bot.people.importer import ImportReport, import_candidates, render_report
from bot.people.scope import STAFF_VIEW, in_scope
from bot.people.sheet import ImportRefused
from flows.engine import END, Accept, Answer, Ask, Flow, Go, Option, Stay, Step, Turn
from storage import invites, people
from storage.models import Role

router = Router()
EXTENSIONS = {".csv": ".csv", ".xlsx": ".xlsx"}
MIME_TYPES = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
MAX_CODES_SHOWN = 50


@router.command("import", roles=STAFF_VIEW, aliases=("导入",), help_key="import_chat.help")
async def import_command(ctx: Context, args: str) -> None:
    await ctx.services.flows.start(ctx, "hr_import")


# ---- /import -----------------------------------------------------------------------------


def _extension(name: str | None, mime_type: str | None) -> str | None:
    """``.csv`` / ``.xlsx`` from the file name (or, without one, the MIME type); else None."""
    if name:
        return EXTENSIONS.get(Path(name).suffix.lower())
    return MIME_TYPES.get((mime_type or "").split(";")[0].strip().lower())


async def _check(ctx: Context, data: bytes) -> ImportReport:
    """The dry run: import inside a savepoint, then roll it back."""
    savepoint = await ctx.session.begin_nested()
    try:
        return await import_candidates(
            session=ctx.session, data=data, now=ctx.now, ttl_days=ctx.settings.invite_ttl_days
        )
    finally:
        await savepoint.rollback()


async def _foreign(ctx: Context, report: ImportReport) -> list[str]:
    """Names of existing candidates in the file that belong to another HR (HR importers only)."""
    staff = ctx.actor.staff
    if ctx.actor.role is not Role.HR or staff is None:
        return []
    names = []
    for candidate_id in report.candidate_ids:
        existing = await people.get_candidate(session=ctx.session, candidate_id=candidate_id)
        if existing is not None and existing.hr_id not in (None, staff.id):
            names.append(existing.name)
    return names


def _store(ctx: Context, data: bytes, extension: str) -> Path:
    folder = ctx.settings.data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()}{extension}"
    path.write_bytes(data)
    return path


async def ask_file(turn: Turn) -> Ask:
    return Ask(turn.t("import_chat.ask", mb=turn.ctx.settings.max_upload_mb))


async def handle_file(turn: Turn, answer: Answer) -> Go | Stay:
    ctx = turn.ctx
    attachment = answer.attachment
    assert attachment is not None
    extension = _extension(attachment.name, attachment.mime_type)
    if attachment.kind is not AttachmentKind.FILE or extension is None:
        return Stay(turn.t("import_chat.wrong_type", name=attachment.name or "-"))
    limit = ctx.settings.max_upload_mb * 1024 * 1024
    if attachment.size is not None and attachment.size > limit:
        return Stay(turn.t("import_chat.too_big", mb=ctx.settings.max_upload_mb))
    data = await ctx.download(attachment)
    if len(data) > limit:
        return Stay(turn.t("import_chat.too_big", mb=ctx.settings.max_upload_mb))
    if extension == ".xlsx" and not data.startswith(b"PK\x03\x04"):
        return Stay(turn.t("import.not_table"))  # named .xlsx, but not a workbook
    try:
        report = await _check(ctx, data)
    except ImportRefused as exc:
        return Stay(turn.t(exc.key, **exc.params))
    foreign = await _foreign(ctx, report)
    if foreign:
        return Stay(
            turn.t("import_chat.foreign", count=len(foreign), names="、".join(foreign[:10]))
        )
    text = render_report(turn.t, report, dry_run=True)
    if report.created + report.updated == 0:
        return Go(END, (text, turn.t("import_chat.nothing")))
    turn.data["path"] = str(_store(ctx, data, extension))
    return Go("confirm", (text,))


async def ask_confirm(turn: Turn) -> Ask:
    return Ask(
        turn.t("import_chat.confirm_ask"),
        (Option("yes", turn.t("import_chat.yes")), Option("no", turn.t("import_chat.no"))),
    )


async def handle_confirm(turn: Turn, answer: Answer) -> Go | Stay:
    ctx = turn.ctx
    path = Path(str(turn.data.get("path", "")))
    if answer.choice != "yes":
        path.unlink(missing_ok=True)
        return Go(END, (turn.t("import_chat.cancelled"),))
    if not path.is_file():
        return Go(END, (turn.t("import_chat.file_gone"),))
    data = path.read_bytes()
    try:
        # Check again: the candidates may have changed hands since the dry run.
        foreign = await _foreign(ctx, await _check(ctx, data))
        if foreign:
            path.unlink(missing_ok=True)
            names = "、".join(foreign[:10])
            return Go(END, (turn.t("import_chat.foreign", count=len(foreign), names=names),))
        report = await import_candidates(
            session=ctx.session, data=data, now=ctx.now, ttl_days=ctx.settings.invite_ttl_days
        )
    except ImportRefused as exc:
        path.unlink(missing_ok=True)
        return Go(END, (turn.t(exc.key, **exc.params),))
    path.unlink(missing_ok=True)
    return Go(END, (render_report(turn.t, report, dry_run=False), *await _after(ctx, report)))


async def _after(ctx: Context, report: ImportReport) -> tuple[str, ...]:
    """Assign unassigned candidates to the importing HR; list the open invite codes."""
    staff = ctx.actor.staff
    codes = []
    for candidate_id in report.candidate_ids:
        candidate = await people.get_candidate(session=ctx.session, candidate_id=candidate_id)
        if candidate is None:
            continue
        if candidate.hr_id is None and ctx.actor.role is Role.HR and staff is not None:
            await people.save_candidate(
                session=ctx.session, candidate=candidate, fields={"hr_id": staff.id}, now=ctx.now
            )
        invite = await invites.open_invite_for(
            session=ctx.session, candidate_id=candidate_id, now=ctx.now
        )
        if invite is not None and candidate.bound_at is None:
            codes.append(ctx.t("import_chat.code_line", name=candidate.name, code=invite.code))
    if not codes:
        return ()
    lines = [ctx.t("import_chat.codes_title"), *codes[:MAX_CODES_SHOWN]]
    if len(codes) > MAX_CODES_SHOWN:
        lines.append(ctx.t("import_chat.codes_more", count=len(codes) - MAX_CODES_SHOWN))
    return ("\n".join(lines),)


IMPORT_FLOW = Flow(
    name="hr_import",
    title_key="import_chat.title",
    start="file",
    timeout=timedelta(hours=2),
    steps={
        "file": Step(
            ask_file, handle_file, frozenset({Accept.FILE}), ("confirm", END), "import_chat.hint"
        ),
        "confirm": Step(ask_confirm, handle_confirm, frozenset({Accept.CHOICE}), (END,)),
    },
)


# ---- /outcome: which candidate? -----------------------------------------------------------


async def ask_pick(turn: Turn) -> Ask:
    options = []
    for candidate_id in turn.data.get("ids", []):
        candidate = await in_scope(turn.ctx, str(candidate_id))
        if candidate is not None:
            label = f"{candidate.name} · {candidate.department or '-'} · {candidate.school or '-'}"
            options.append(Option(str(candidate_id), label))
    return Ask(turn.t("common.which_one", count=len(options)), tuple(options))


async def handle_pick(turn: Turn, answer: Answer) -> Go | Stay:
    ids = {str(i) for i in turn.data.get("ids", [])}
    candidate = await in_scope(turn.ctx, answer.choice or "") if answer.choice in ids else None
    if candidate is None:
        return Go(END, (turn.t("common.button_expired"),))
    text = await record_candidate_outcome(
        turn.ctx, candidate, str(turn.data["outcome"]), str(turn.data.get("reason", ""))
    )
    return Go(END, (text,))


OUTCOME_PICK_FLOW = Flow(
    name="outcome_pick",
    title_key="outcome.title",
    start="pick",
    timeout=timedelta(hours=2),
    steps={"pick": Step(ask_pick, handle_pick, frozenset({Accept.CHOICE}), (END,))},
)

FLOWS: tuple[Flow, ...] = (IMPORT_FLOW, OUTCOME_PICK_FLOW)
