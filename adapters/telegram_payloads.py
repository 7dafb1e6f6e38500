"""Telegram payloads <-> the neutral model: updates in, HTML text and keyboards out.

Pure functions over python-telegram-bot objects, kept apart from the adapter's
networking so they are easy to read and test.
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.error import RetryAfter

from bot.core.messages import (
    Attachment,
    AttachmentKind,
    Button,
    Incoming,
    Link,
    Outgoing,
    OutgoingFile,
    Sender,
)

PLATFORM = "telegram"
# Telegram counts message length in UTF-16 code units after entities are parsed.
MAX_TEXT = 4096
CHUNK = 4000  # counted before rendering; tags and entities vanish when Telegram parses
MAX_NAME = 100
SHORT_LABEL = 12  # labels up to this long share a keyboard row, two by two
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")  # what Telegram accepts as a command name
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)


# ---- inbound -------------------------------------------------------------------------


def parse_update(update: Update, *, now: datetime) -> Incoming | None:
    """The neutral message for an update, or None for updates the bot ignores."""
    if update.callback_query is not None:
        return _from_callback(update, update.callback_query, now)
    if update.message is not None:
        return _from_message(update, update.message, now)
    return None  # edits, channel posts, membership changes: nothing to answer


def _sender(user: User, chat_id: int) -> Sender:
    name = (user.full_name or user.username or "")[:MAX_NAME] or None  # the column holds 100
    return Sender(PLATFORM, str(user.id), str(chat_id), name)


def _extras(update: Update, user: User, message_id: int | None, **more: Any) -> dict[str, Any]:
    extras: dict[str, Any] = {"update_id": update.update_id, "message_id": message_id}
    if user.username:
        extras["username"] = user.username
    if user.language_code:
        extras["language_code"] = user.language_code
    extras.update(more)
    return extras


def _from_message(update: Update, message: Message, now: datetime) -> Incoming | None:
    user = message.from_user
    # Group chats are ignored: replies carry personal data that must stay one-to-one.
    if user is None or user.is_bot or message.chat.type != ChatType.PRIVATE:
        return None
    return Incoming(
        sender=_sender(user, message.chat.id),
        event_id=str(update.update_id),
        received_at=now,
        text=message.text or message.caption or "",
        attachments=attachments_of(message),
        extras=_extras(update, user, message.message_id),
    )


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """The files in a message: the largest photo size, documents, voice and video."""
    found: list[Attachment] = []
    if message.photo:
        best = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        found.append(
            Attachment(
                AttachmentKind.PHOTO,
                best.file_id,
                f"photo_{best.file_unique_id}.jpg",
                "image/jpeg",
                best.file_size,
            )
        )
    if message.document is not None:
        doc = message.document
        found.append(
            Attachment(
                AttachmentKind.FILE, doc.file_id, doc.file_name, doc.mime_type, doc.file_size
            )
        )
    if message.audio is not None:
        audio = message.audio
        found.append(
            Attachment(
                AttachmentKind.FILE,
                audio.file_id,
                audio.file_name,
                audio.mime_type,
                audio.file_size,
            )
        )
    if message.voice is not None:
        voice = message.voice
        found.append(
            Attachment(
                AttachmentKind.VOICE,
                voice.file_id,
                f"voice_{voice.file_unique_id}.ogg",
                voice.mime_type or "audio/ogg",
                voice.file_size,
            )
        )
    if message.video is not None:
        video = message.video
        found.append(
            Attachment(
                AttachmentKind.VIDEO,
                video.file_id,
                video.file_name or f"video_{video.file_unique_id}.mp4",
                video.mime_type or "video/mp4",
                video.file_size,
            )
        )
    if message.video_note is not None:
        note = message.video_note
        found.append(
            Attachment(
                AttachmentKind.VIDEO,
                note.file_id,
                f"video_note_{note.file_unique_id}.mp4",
                "video/mp4",
                note.file_size,
            )
        )
    return tuple(found)


def _from_callback(update: Update, query: CallbackQuery, now: datetime) -> Incoming | None:
    user = query.from_user
    if query.data is None:
        return None  # game buttons carry no data; the adapter still answers them
    message = query.message
    chat = message.chat if message is not None else None
    if chat is not None and chat.type != ChatType.PRIVATE:
        return None
    return Incoming(
        sender=_sender(user, chat.id if chat is not None else user.id),
        event_id=str(update.update_id),
        received_at=now,
        text=button_label(query),
        payload=query.data,
        extras=_extras(
            update,
            user,
            message.message_id if message is not None else None,
            callback_query_id=query.id,
        ),
    )


def button_label(query: CallbackQuery) -> str:
    """The label of the tapped button, read from the message's keyboard ("" if unknown)."""
    markup = getattr(query.message, "reply_markup", None)  # inaccessible messages have none
    if not isinstance(markup, InlineKeyboardMarkup):
        return ""
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return ""


# ---- outbound ------------------------------------------------------------------------


def render_html(text: str) -> str:
    """Light Markdown to Telegram HTML: ``**bold**`` becomes <b>, everything else is escaped."""
    out: list[str] = []
    last = 0
    for match in _BOLD.finditer(text):
        out.append(html.escape(text[last : match.start()], quote=False))
        out.append(f"<b>{html.escape(match.group(1), quote=False)}</b>")
        last = match.end()
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


def plain_text(text: str) -> str:
    """The text without Markdown markers (the fallback if Telegram refuses the HTML)."""
    return _BOLD.sub(r"\1", text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = CHUNK) -> list[str]:
    """Split long text at line breaks into pieces Telegram accepts (before rendering)."""
    if utf16_len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while utf16_len(line) > limit:  # one huge line: cut it hard
            if current:
                pieces.append(current)
                current = ""
            cut = limit
            while utf16_len(line[:cut]) > limit:
                cut -= 1
            pieces.append(line[:cut])
            line = line[cut:]
        if utf16_len(current + line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return [p.rstrip("\n") for p in pieces if p.strip()] or [text[:limit]]


@dataclass(frozen=True, slots=True)
class Part:
    """One Bot API call of an outgoing message: a text chunk (with its keyboard) or a file."""

    text: str | None = None
    markup: InlineKeyboardMarkup | None = None
    file: OutgoingFile | None = None


def plan(message: Outgoing) -> list[Part]:
    """The calls for one message: text chunks (keyboard on the last), then each file."""
    links = [link for link in message.links if is_button_url(link.url)]
    text = message.text
    odd_links = [link for link in message.links if link not in links]
    if odd_links:
        text = f"{text}\n\n{links_as_text(odd_links)}".strip()
    markup = keyboard(message.buttons, links)
    parts: list[Part] = []
    if text.strip() or markup is not None:
        chunks = split_text(text) if text.strip() else ["⬇️"]  # a keyboard needs some text
        parts += [Part(text=chunk) for chunk in chunks[:-1]]
        parts.append(Part(text=chunks[-1], markup=markup))
    parts += [Part(file=file) for file in message.files]
    return parts


def is_button_url(url: str) -> bool:
    """Whether Telegram takes the URL for an inline button (else it goes in the text)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "tg") and bool(parts.netloc or parts.path)


def keyboard(buttons: Sequence[Button], links: Sequence[Link]) -> InlineKeyboardMarkup | None:
    """An inline keyboard: the choices (callback buttons) first, then one row per link."""
    rows: list[list[InlineKeyboardButton]] = []
    choices = [InlineKeyboardButton(b.label, callback_data=b.payload) for b in buttons]
    if choices and all(len(b.label) <= SHORT_LABEL for b in buttons):
        rows += [choices[i : i + 2] for i in range(0, len(choices), 2)]
    else:
        rows += [[button] for button in choices]
    rows += [[InlineKeyboardButton(link.label, url=link.url)] for link in links]
    return InlineKeyboardMarkup(rows) if rows else None


def links_as_text(links: Sequence[Link]) -> str:
    return "\n".join(f"🔗 {link.label}: {link.url}" for link in links)


def valid_command(name: str) -> bool:
    """Whether Telegram accepts ``name`` as a command (lower-case ASCII, digits, _)."""
    return bool(_COMMAND.fullmatch(name))


def file_base_url(api_base_url: str) -> str:
    """The file URL that goes with an API URL: ``https://host/bot`` -> ``https://host/file/bot``."""
    base = api_base_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("/bot")] + "/file/bot"
    if "/bot{token}" in base:
        return base.replace("/bot{token}", "/file/bot{token}")
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}/file/bot"


def retry_seconds(exc: RetryAfter) -> float:
    """How long a 429 asks us to wait, whichever type this PTB version gives."""
    with warnings.catch_warnings():  # PTB warns that the type becomes timedelta in v23
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
