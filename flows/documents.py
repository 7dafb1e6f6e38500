"""Document submission: see the checklist, pick an item, send a photo or file."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.core.admins import notify_admins
from bot.core.context import Context
from bot.core.messages import DeliveryError, Outgoing
from bot.core.router import Router
from bot.core.uploads import FileStore, UploadRejected, check_upload, is_disk_full, too_large
from content import ChecklistItem
from flows.engine import END, Accept, Answer, Ask, Flow, Go, Option, Stay, Step, Turn
from flows.review import notify_reviewer
from storage import documents
from storage.models import Candidate, Document, DocumentStatus, Role

log = logging.getLogger(__name__)
router = Router()

MARKS = {
    None: "⬜",
    DocumentStatus.SUBMITTED.value: "⏳",
    DocumentStatus.APPROVED.value: "✅",
    DocumentStatus.REJECTED.value: "❌",
}


def checklist(ctx: Context, candidate: Candidate) -> list[ChecklistItem]:
    return ctx.services.content.checklists.items_for(candidate.department, candidate.position)


async def _status(ctx: Context, candidate: Candidate) -> dict[str, Document]:
    docs = await documents.documents_of(session=ctx.session, candidate_id=candidate.id or 0)
    return {d.item: d for d in docs}


def _line(ctx: Context, item: ChecklistItem, doc: Document | None) -> str:
    title = item.title.get(ctx.actor.language)
    state = ctx.t(f"docs.state.{doc.status}" if doc else "docs.state.missing")
    line = f"{MARKS[doc.status if doc else None]} {title}：{state}"
    if doc is not None and doc.status == DocumentStatus.REJECTED.value and doc.reject_reason:
        line += ctx.t("docs.reason", reason=doc.reject_reason)
    return line


async def ask_pick(turn: Turn) -> Ask:
    ctx, candidate = turn.ctx, turn.candidate
    status = await _status(ctx, candidate)
    items = checklist(ctx, candidate)
    lines = [ctx.t("docs.title")]
    if candidate.doc_deadline is not None:
        days = (candidate.doc_deadline - ctx.today).days
        key = "docs.deadline" if days >= 0 else "docs.deadline_passed"
        lines.append(ctx.t(key, date=candidate.doc_deadline.isoformat(), days=days))
    lines += [_line(ctx, item, status.get(item.id)) for item in items]
    lines.append(ctx.t("docs.pick"))
    options = [
        Option(
            item.id,
            f"{MARKS[status[item.id].status if item.id in status else None]} "
            f"{item.title.get(ctx.actor.language)}",
        )
        for item in items
        if item.id not in status or status[item.id].status != DocumentStatus.APPROVED.value
    ]
    options.append(Option("done", ctx.t("docs.done")))
    return Ask("\n".join(lines), tuple(options))


async def handle_pick(turn: Turn, answer: Answer) -> Go | Stay:
    if answer.choice == "done":
        return Go(END, (turn.t("docs.bye"),))
    if answer.choice in {item.id for item in checklist(turn.ctx, turn.candidate)}:
        turn.data["item"] = answer.choice
        return Go("upload")
    return Stay(turn.t("flow.hint.choice"))


def _item(turn: Turn) -> ChecklistItem:
    wanted = turn.data.get("item")
    for item in checklist(turn.ctx, turn.candidate):
        if item.id == wanted:
            return item
    raise LookupError(f"checklist item {wanted!r} is gone")


async def ask_upload(turn: Turn) -> Ask:
    item = _item(turn)
    lang = turn.ctx.actor.language
    return Ask(
        turn.t(
            "docs.send",
            title=item.title.get(lang),
            hint=item.hint.get(lang),
            max_mb=turn.ctx.settings.max_upload_mb,
        ),
        (Option("back", turn.t("docs.back")),),
    )


async def handle_upload(turn: Turn, answer: Answer) -> Go | Stay:
    if answer.kind is Accept.CHOICE:
        return Go("pick") if answer.choice == "back" else Stay(turn.t("flow.hint.file"))
    ctx, candidate = turn.ctx, turn.candidate
    attachment = answer.attachment
    assert attachment is not None
    max_mb = ctx.settings.max_upload_mb
    if too_large(attachment.size, max_mb):
        return Stay(turn.t("upload.too_large", max_mb=max_mb))
    try:
        data = await ctx.download(attachment)
        checked = await asyncio.to_thread(check_upload, data, max_mb=max_mb, name=attachment.name)
    except UploadRejected as rejected:
        return Stay(turn.t(rejected.key, **rejected.params))
    except (DeliveryError, LookupError, OSError) as exc:
        log.warning("download of %s failed: %s", attachment.file_id, exc)
        return Stay(turn.t("upload.download_failed"))
    item = _item(turn)
    try:
        FileStore(ctx.settings.data_dir / "files").save(checked)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        # Nothing was stored and no row written: the step stays, so sending again works.
        log.error("no space to store an upload of candidate %s: %s", candidate.id, exc)
        await _tell_admins_disk_full(ctx, candidate, item, exc)
        return Stay(turn.t("upload.disk_full"))
    document, _ = await documents.submit_document(
        session=ctx.session,
        candidate_id=candidate.id or 0,
        item=item.id,
        sha256=checked.sha256,
        mime_type=checked.mime_type,
        size=len(checked.data),
        file_name=checked.name,
        now=ctx.now,
    )
    await notify_reviewer(ctx, candidate, document)
    return Go("pick", (turn.t("docs.received", title=item.title.get(ctx.actor.language)),))


async def _tell_admins_disk_full(
    ctx: Context, candidate: Candidate, item: ChecklistItem, exc: OSError
) -> None:
    """Each admin hears about a full disk once a day, however many uploads fail."""
    i18n = ctx.services.i18n

    def render(language: str | None) -> Outgoing:
        return Outgoing(
            i18n.t(
                language,
                "upload.disk_full_alert",
                name=candidate.name,
                item=item.title.get(language),
                error=exc.strerror or type(exc).__name__,
            )
        )

    ctx.outbox_ids += await notify_admins(
        ctx.session, ctx.settings, render, now=ctx.now, dedupe=f"disk-full:{ctx.today:%Y-%m-%d}"
    )


DOCS_FLOW = Flow(
    name="docs",
    title_key="docs.flow_title",
    start="pick",
    timeout=timedelta(days=1),
    steps={
        "pick": Step(ask_pick, handle_pick, frozenset({Accept.CHOICE}), (END, "upload")),
        "upload": Step(
            ask_upload,
            handle_upload,
            frozenset({Accept.FILE, Accept.CHOICE}),
            ("pick",),
            hint_key="flow.hint.file",
        ),
    },
)


@router.command("docs", roles={Role.CANDIDATE}, aliases=("材料",), help_key="help.docs")
async def docs_command(ctx: Context, args: str) -> None:
    candidate = ctx.actor.candidate
    assert candidate is not None
    status = await _status(ctx, candidate)
    items = checklist(ctx, candidate)
    if all(i.id in status and status[i.id].status == DocumentStatus.APPROVED.value for i in items):
        ctx.reply(ctx.t("docs.all_approved"))
        return
    await ctx.services.flows.start(ctx, "docs")
