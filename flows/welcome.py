"""Managers' welcome messages: ``/welcome`` records a text, voice, video or photo.

Steps: ``compose`` (shows the department's current welcome with "record a new
one" / "keep", or asks for the message) -> ``preview`` (the message as
candidates will see it; confirm / redo / cancel) -> END. Files are judged by
their bytes and kept content-addressed under ``DATA_DIR/files``. The planner
delivers the department's welcome in the day-3 slot (bot/pushes/planner.py, with the
same header :func:`welcome_outgoing` uses for the preview).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta
from typing import Any

import filetype

from bot.core.context import Context
from bot.core.i18n import I18n
from bot.core.messages import AttachmentKind, DeliveryError, Outgoing, OutgoingFile
from bot.core.router import Router
from bot.core.text import safe_filename
from bot.core.uploads import CheckedFile, FileStore, UploadRejected, normalise_image, too_large
from flows.engine import END, Accept, Answer, Ask, Flow, Go, Option, Stay, Step, Turn
from storage import people, welcomes
from storage.models import Role

log = logging.getLogger(__name__)
router = Router()

WELCOME = "welcome"
MAX_TEXT = 1000
DEFAULT_SLOT_DAYS = 3  # the team-video slot: offer date + 3 days

# Accepted media, judged by the bytes' signature: mime -> (kind, extension).
MEDIA: dict[str, tuple[str, str]] = {
    "image/jpeg": ("photo", "jpg"),
    "image/png": ("photo", "png"),
    "image/webp": ("photo", "webp"),
    "audio/ogg": ("voice", "ogg"),  # Ogg Vorbis and Opus (Telegram and WhatsApp voice)
    "audio/amr": ("voice", "amr"),  # WeCom voice
    "audio/mpeg": ("voice", "mp3"),
    "audio/mp4": ("voice", "m4a"),
    "video/mp4": ("video", "mp4"),
    "video/quicktime": ("video", "mov"),
}
FILE_KINDS = {
    "photo": AttachmentKind.PHOTO,
    "voice": AttachmentKind.VOICE,
    "video": AttachmentKind.VIDEO,
}


# ---- the message itself -------------------------------------------------------------------


def check_media(data: bytes, *, max_mb: int, name: str | None = None) -> tuple[str, CheckedFile]:
    """The kind (photo, voice, video) and checked file; raise UploadRejected otherwise."""
    if not data:
        raise UploadRejected("upload.empty")
    if too_large(len(data), max_mb):
        raise UploadRejected("upload.too_large", max_mb=max_mb)
    guessed = filetype.guess(data)
    mime = guessed.mime if guessed is not None else ""
    if mime not in MEDIA:
        raise UploadRejected("welcome.wrong_type")
    kind, extension = MEDIA[mime]
    if kind == "photo":
        data = normalise_image(data, "PNG" if mime == "image/png" else "JPEG")
    return kind, CheckedFile(
        data, mime, extension, hashlib.sha256(data).hexdigest(), safe_filename(name, extension)
    )


def welcome_outgoing(
    i18n: I18n,
    lang: str | None,
    *,
    manager: str,
    department: str,
    kind: str,
    text: str | None,
    file_path: str | None,
    file_name: str | None,
) -> Outgoing:
    """The welcome as a candidate receives it (the same header as the planner's day-3 push)."""
    header = "push.welcome.header_text" if kind == "text" else "push.welcome.header_media"
    intro = i18n.t(lang, header, manager=manager, department=department)
    body = f"{intro}\n\n{text}" if text else intro
    files: tuple[OutgoingFile, ...] = ()
    if file_path and kind in FILE_KINDS:
        files = (OutgoingFile(FILE_KINDS[kind], file_name or f"welcome-{kind}", path=file_path),)
    return Outgoing(body, files=files)


def slot_days(ctx: Context) -> int:
    """Days after the offer of the slot that carries the manager's welcome."""
    for slot in ctx.services.content.journey:
        if slot.anchor == "manager_welcome" or (
            slot.prefer_manager_welcome and slot.anchor == "offer"
        ):
            return slot.days
    return DEFAULT_SLOT_DAYS


# ---- steps --------------------------------------------------------------------------------


def _department(turn: Turn) -> str:
    return str(turn.data["department"])


def _manager_name(turn: Turn) -> str:
    return turn.ctx.actor.name


async def ask_compose(turn: Turn) -> Ask:
    ctx = turn.ctx
    department = _department(turn)
    current = await welcomes.get_welcome(session=ctx.session, department=department)
    if current is not None and not turn.data.get("replace"):
        recorder = await people.get_staff(session=ctx.session, staff_id=current.staff_id)
        shown = welcome_outgoing(
            ctx.services.i18n,
            ctx.actor.language,
            manager=recorder.name if recorder is not None else _manager_name(turn),
            department=department,
            kind=current.kind,
            text=current.text,
            file_path=current.file_path,
            file_name=current.file_name,
        )
        return Ask(
            turn.t(
                "welcome.current",
                department=department,
                kind=turn.t(f"welcome.kind.{current.kind}"),
                version=current.version,
                when=current.updated_at.astimezone(ctx.tz).strftime("%Y-%m-%d"),
                message=shown.text,
            ),
            (
                Option("new", turn.t("welcome.record_new")),
                Option("keep", turn.t("welcome.keep")),
            ),
            files=shown.files,
        )
    return Ask(
        turn.t(
            "welcome.ask",
            department=department,
            max_mb=ctx.settings.max_upload_mb,
            max=MAX_TEXT,
            days=slot_days(ctx),
        ),
        (Option("cancel", turn.t("welcome.cancel")),),
    )


async def handle_compose(turn: Turn, answer: Answer) -> Go | Stay:
    if answer.kind is Accept.CHOICE:
        if answer.choice == "new":
            turn.data["replace"] = True
            return Go("compose")
        if answer.choice == "keep":
            return Go(END, (turn.t("welcome.kept"),))
        if answer.choice == "cancel":
            return Go(END, (turn.t("welcome.cancelled"),))
        return Stay(turn.t("flow.hint.choice"))
    if answer.kind is Accept.TEXT:
        text = answer.text.strip()
        if not text:
            return Stay(turn.t("welcome.empty"))
        if len(text) > MAX_TEXT:
            return Stay(turn.t("welcome.too_long", length=len(text), max=MAX_TEXT))
        turn.data["draft"] = {"kind": "text", "text": text}
        return Go("preview")
    return await _take_file(turn, answer)


async def _take_file(turn: Turn, answer: Answer) -> Go | Stay:
    ctx = turn.ctx
    attachment = answer.attachment
    assert attachment is not None
    max_mb = ctx.settings.max_upload_mb
    if too_large(attachment.size, max_mb):
        return Stay(turn.t("upload.too_large", max_mb=max_mb))
    caption = ctx.message.text.strip()
    if len(caption) > MAX_TEXT:
        return Stay(turn.t("welcome.too_long", length=len(caption), max=MAX_TEXT))
    try:
        data = await ctx.download(attachment)
        kind, checked = await asyncio.to_thread(
            check_media, data, max_mb=max_mb, name=attachment.name
        )
    except UploadRejected as rejected:
        return Stay(turn.t(rejected.key, **rejected.params))
    except (DeliveryError, LookupError, OSError) as exc:
        log.warning("download of %s failed: %s", attachment.file_id, exc)
        return Stay(turn.t("upload.download_failed"))
    path = FileStore(ctx.settings.data_dir / "files").save(checked)
    draft: dict[str, Any] = {
        "kind": kind,
        "text": caption or None,
        "file_path": str(path),
        "file_name": checked.name,
        "mime_type": checked.mime_type,
    }
    turn.data["draft"] = draft
    return Go("preview")


async def ask_preview(turn: Turn) -> Ask:
    ctx = turn.ctx
    draft = turn.data.get("draft") or {}
    shown = welcome_outgoing(
        ctx.services.i18n,
        ctx.actor.language,
        manager=_manager_name(turn),
        department=_department(turn),
        kind=str(draft.get("kind", "text")),
        text=draft.get("text"),
        file_path=draft.get("file_path"),
        file_name=draft.get("file_name"),
    )
    return Ask(
        turn.t("welcome.preview", message=shown.text),
        (
            Option("confirm", turn.t("welcome.confirm")),
            Option(
                "redo",
                turn.t("welcome.rewrite" if draft.get("kind") == "text" else "welcome.redo"),
            ),
            Option("cancel", turn.t("welcome.cancel")),
        ),
        files=shown.files,
    )


async def handle_preview(turn: Turn, answer: Answer) -> Go | Stay:
    if answer.choice == "cancel":
        return Go(END, (turn.t("welcome.cancelled"),))
    draft = turn.data.get("draft")
    if answer.choice == "redo" or not isinstance(draft, dict):
        turn.data.pop("draft", None)
        turn.data["replace"] = True
        return Go("compose")
    if answer.choice != "confirm":
        return Stay(turn.t("flow.hint.choice"))
    ctx = turn.ctx
    staff = ctx.actor.staff
    assert staff is not None and staff.id is not None
    department = _department(turn)
    saved = await welcomes.save_welcome(
        session=ctx.session,
        department=department,
        staff_id=staff.id,
        kind=str(draft["kind"]),
        text=draft.get("text"),
        file_path=draft.get("file_path"),
        file_name=draft.get("file_name"),
        mime_type=draft.get("mime_type"),
        now=ctx.now,
    )
    days = slot_days(ctx)
    ahead, past = await welcomes.count_day_slot(
        session=ctx.session,
        department=department,
        slot_date_from=ctx.today - timedelta(days=days),
        today=ctx.today,
    )
    says = [
        turn.t(
            "welcome.saved",
            version=saved.version,
            department=department,
            count=ahead,
            days=days,
        )
    ]
    if past:
        says.append(turn.t("welcome.saved_past", count=past, days=days))
    return Go(END, ("\n".join(says),))


WELCOME_FLOW = Flow(
    name=WELCOME,
    title_key="welcome.flow_title",
    start="compose",
    timeout=timedelta(days=1),
    steps={
        "compose": Step(
            ask_compose,
            handle_compose,
            frozenset({Accept.CHOICE, Accept.TEXT, Accept.FILE}),
            ("compose", "preview", END),
        ),
        "preview": Step(ask_preview, handle_preview, frozenset({Accept.CHOICE}), ("compose", END)),
    },
)
FLOWS: tuple[Flow, ...] = (WELCOME_FLOW,)


@router.command(
    "welcome", roles={Role.MANAGER, Role.ADMIN}, aliases=("欢迎",), help_key="welcome.help"
)
async def welcome_command(ctx: Context, args: str) -> None:
    staff = ctx.actor.staff
    if staff is None:  # an admin by ADMIN_IDS without a staff record
        ctx.reply(ctx.t("welcome.no_staff"))
        return
    department = (staff.department or "").strip()
    if ctx.actor.role is Role.ADMIN and args.strip():
        department = args.strip()[:100]
    if not department:
        key = "welcome.admin_usage" if ctx.actor.role is Role.ADMIN else "welcome.no_department"
        ctx.reply(ctx.t(key))
        return
    await ctx.services.flows.start(ctx, WELCOME, {"department": department})


__all__ = ["FLOWS", "WELCOME_FLOW", "check_media", "router", "welcome_outgoing"]
