"""WeCom payloads: callback XML -> :class:`Incoming`, :class:`Outgoing` -> API bodies, errors.

Pure functions (no network, no crypto), so the adapter module keeps only I/O.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from wechatpy.enterprise import parse_message
from wechatpy.exceptions import WeChatClientException

from bot.core.edge import storable
from bot.core.messages import (
    Attachment,
    AttachmentKind,
    Button,
    DeliveryError,
    Incoming,
    Outgoing,
    OutgoingFile,
    Sender,
)

PLATFORM = "wecom"

TEXT_LIMIT = 2000  # bytes; text and markdown messages are cut at 2048 bytes by WeCom
TITLE_LIMIT = 26  # characters in a card's main_title.title
SUBTITLE_LIMIT = 112  # characters in a card's sub_title_text
BUTTON_TEXT_LIMIT = 10  # characters WeCom shows on a card button
BUTTONS_PER_CARD = 6  # button_list holds at most 6 buttons
EVENT_ID_LIMIT = 128  # the inbox column


TOKEN_ERRORS = {40014, 42001}  # invalid / expired access_token
# Rate limits: 45009 calls over the limit, 45011 calling too often, 45033 too many concurrent.
RATE_LIMITED = {45009: 60.0, 45011: 60.0, 45033: 10.0}
# The recipient is gone or outside the app's visible range: invalid userid, userid not found,
# all recipients invalid / without permission.
UNREACHABLE = {40003, 40031, 46004, 60111, 81013, 82001}
# App-wide misconfiguration (secret, corp id, agent id, IP allow-list, app disabled, no
# permission): every message fails until an operator fixes it, so retry rather than drop.
CONFIG_ERRORS = {-1, 40001, 40013, 40056, 41001, 48002, 50003, 60020}


class PayloadError(ValueError):
    """A callback body that is not the XML WeCom sends."""


def parse_fields(body: bytes | str) -> dict[str, str]:
    """The text of the root element's direct children (WeCom XML is flat)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    # WeCom never sends a DTD; refusing one rules out entity-expansion tricks.
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise PayloadError("DTDs are not accepted")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise PayloadError(f"malformed XML: {exc}") from exc
    return {child.tag: (child.text or "").strip() for child in root}


_MEDIA_KINDS = {
    "image": AttachmentKind.PHOTO,
    "voice": AttachmentKind.VOICE,
    "video": AttachmentKind.VIDEO,
    "file": AttachmentKind.FILE,
}


def to_incoming(plain_xml: str, received_at: datetime) -> Incoming | None:
    """The neutral message for a decrypted callback, or None for events we ignore."""
    fields = parse_fields(plain_xml)
    user = fields.get("FromUserName", "")
    msg_type = fields.get("MsgType", "").lower()
    if not user or not msg_type:
        raise PayloadError("FromUserName or MsgType missing")
    try:
        message = parse_message(plain_xml)
    except Exception as exc:  # xmltodict/wechatpy raise assorted errors on odd input
        raise PayloadError(f"wechatpy could not parse the message: {exc}") from exc
    extras: dict[str, Any] = {
        key: value
        for key, value in (
            ("msg_type", msg_type),
            ("msg_id", fields.get("MsgId")),
            ("agent_id", fields.get("AgentID")),
            ("create_time", fields.get("CreateTime")),
        )
        if value
    }
    text = ""
    payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    if msg_type == "text":
        content = message.content  # xmltodict: a dict or list when Content has elements
        if content is not None and not isinstance(content, str):
            raise PayloadError("Content is not text")
        text = content or ""
    elif msg_type in _MEDIA_KINDS:
        # wechatpy knows image/voice/video; "file" it does not, so read the raw fields.
        media_id = fields.get("MediaId", "")
        if not media_id:
            raise PayloadError(f"{msg_type} message without MediaId")
        name = fields.get("FileName") or fields.get("Title") or None
        attachments = (Attachment(_MEDIA_KINDS[msg_type], media_id, name),)
        extras["media_id"] = media_id
        for key, tag in (
            ("pic_url", "PicUrl"),
            ("format", "Format"),
            ("recognition", "Recognition"),
        ):
            if fields.get(tag):
                extras[key] = fields[tag]
    elif msg_type == "event" and fields.get("Event", "").lower() == "template_card_event":
        # wechatpy 1.8 parses this as UnknownMessage; the button key is our payload.
        payload = fields.get("EventKey", "")
        for key, tag in (
            ("task_id", "TaskId"),
            ("response_code", "ResponseCode"),
            ("card_type", "CardType"),
            ("event", "Event"),
        ):
            if fields.get(tag):
                extras[key] = fields[tag]
    else:
        return None  # enter_agent, subscribe, location ... nothing for the bot to do
    incoming = Incoming(
        sender=Sender(PLATFORM, user, user),
        event_id=event_id_of(fields),
        received_at=received_at,
        text=text,
        payload=payload,
        attachments=attachments,
        extras=extras,
    )
    if not storable(incoming):
        raise PayloadError("FromUserName empty or too long")
    return incoming


def event_id_of(fields: dict[str, str]) -> str:
    """MsgId for messages; events have none, so sender, time and key stand in."""
    event_id = fields.get("MsgId") or (
        f"{fields.get('FromUserName', '')}:{fields.get('CreateTime', '')}:"
        f"{fields.get('EventKey') or fields.get('Event', '')}"
    )
    if len(event_id) > EVENT_ID_LIMIT:
        event_id = "sha256:" + hashlib.sha256(event_id.encode()).hexdigest()
    return event_id


# ---- outgoing ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Part:
    """One API message: a ready message/send body, or a file still to upload."""

    msg: dict[str, Any] = field(default_factory=dict)
    file: OutgoingFile | None = None


_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)


def plain(text: str) -> str:
    """Text without the ``**bold**`` markers (cards and plain messages show them raw)."""
    return _BOLD.sub(r"\1", text)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Chunks of at most ``limit`` UTF-8 bytes, cut at line ends where possible."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # one huge line: cut by characters
            cut = len(line)
            while len(line[:cut].encode()) > limit:
                cut = cut * 3 // 4
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode()) > limit:
            chunks.append(current)
            current = ""
        current += line
    if current.strip() or not chunks:
        chunks.append(current)
    return [chunk.rstrip("\n") for chunk in chunks]


def text_parts(text: str, links: tuple[Any, ...] = ()) -> list[Part]:
    """Markdown when there is formatting (WeCom renders **bold** and links), else plain text."""
    if links:
        text = "\n".join([text, *(f"[{link.label}]({link.url})" for link in links)]).strip()
    markdown = bool(links) or _BOLD.search(text) is not None
    parts = []
    for chunk in split_text(text):
        if markdown:
            parts.append(Part({"msgtype": "markdown", "markdown": {"content": chunk}}))
        else:
            parts.append(Part({"msgtype": "text", "text": {"content": chunk}}))
    return parts


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def task_id(user_id: str, buttons: tuple[Button, ...]) -> str:
    """Unique per card (WeCom refuses a reused task_id): digits, letters and ``_-@`` only."""
    seed = "|".join([user_id, *(b.payload for b in buttons), uuid.uuid4().hex])
    return "pb-" + hashlib.sha256(seed.encode()).hexdigest()[:40]


def card_parts(user_id: str, message: Outgoing) -> list[Part]:
    """Button cards; the text goes on the card when it fits, else in a message before it."""
    buttons = message.buttons
    long_labels = any(len(b.label) > BUTTON_TEXT_LIMIT for b in buttons)
    if long_labels:
        # Labels get cut on the card, so number them and spell them out in the text.
        legend = [f"{n}. {b.label}" for n, b in enumerate(buttons, 1)]
        labels = [_shorten(f"{n}. {b.label}", BUTTON_TEXT_LIMIT) for n, b in enumerate(buttons, 1)]
    else:
        legend = []
        labels = [b.label for b in buttons]
    body = plain(message.text).strip()
    full = "\n".join([body, *legend]).strip()
    first, _, rest = full.partition("\n")
    parts: list[Part] = []
    title: str | None = None
    subtitle: str | None = None
    if message.links:
        parts = text_parts(
            message.text + ("\n" + "\n".join(legend) if legend else ""), message.links
        )
    elif len(first) <= TITLE_LIMIT and len(rest) <= SUBTITLE_LIMIT:
        title, subtitle = first or None, rest.strip() or None
    elif len(full) <= SUBTITLE_LIMIT:
        subtitle = full
    else:
        parts = text_parts(message.text + ("\n" + "\n".join(legend) if legend else ""))
    if title is None and subtitle is None:
        last = next((line for line in reversed(body.splitlines()) if line.strip()), "")
        title = _shorten(last.strip() or "…", TITLE_LIMIT)
    chunks = [
        list(zip(buttons[i : i + BUTTONS_PER_CARD], labels[i : i + BUTTONS_PER_CARD], strict=True))
        for i in range(0, len(buttons), BUTTONS_PER_CARD)
    ]
    for index, chunk in enumerate(chunks):
        card: dict[str, Any] = {
            "card_type": "button_interaction",
            "task_id": task_id(user_id, tuple(b for b, _ in chunk)),
            "button_list": [{"text": label, "style": 1, "key": b.payload} for b, label in chunk],
        }
        if index == 0:
            if title:
                card["main_title"] = {"title": title}
            if subtitle:
                card["sub_title_text"] = subtitle
        else:  # a further card for buttons 7+: repeat a short title
            card["main_title"] = {
                "title": _shorten(title or subtitle or "…", TITLE_LIMIT - 6)
                + f" ({index + 1}/{len(chunks)})"
            }
        parts.append(Part({"msgtype": "template_card", "template_card": card}))
    return parts


def render(user_id: str, message: Outgoing) -> list[Part]:
    """Every API message needed for ``message``, in order: text or cards, then files."""
    if message.buttons:
        parts = card_parts(user_id, message)
    elif message.text.strip() or message.links:
        parts = text_parts(message.text, message.links)
    else:
        parts = []
    parts += [Part(file=f) for f in message.files]
    return parts


# ---- errors ----------------------------------------------------------------------------


def _http_error(status: int | None, response: Any, reason: str) -> DeliveryError:
    if status == 429:
        retry_after = 60.0
        with contextlib.suppress(TypeError, ValueError):
            retry_after = float(response.headers.get("Retry-After", retry_after))
        return DeliveryError(reason, retry_after=retry_after)
    if status is not None and 400 <= status < 500:
        return DeliveryError(reason, permanent=True)
    return DeliveryError(reason)  # 5xx or no answer: the courier retries with backoff


def delivery_error(exc: Exception) -> DeliveryError:
    """Map an SDK or HTTP failure to what the courier should do."""
    if isinstance(exc, WeChatClientException):
        code, reason = exc.errcode, f"wecom errcode {exc.errcode}: {exc.errmsg}"
        if code is None:
            response = exc.response
            status = getattr(response, "status_code", None)
            return _http_error(status, response, f"wecom HTTP {status}")
        if code in RATE_LIMITED:
            return DeliveryError(reason, retry_after=RATE_LIMITED[code])
        if code in UNREACHABLE:
            return DeliveryError(reason, unreachable=True)
        if code in CONFIG_ERRORS or code in TOKEN_ERRORS:
            return DeliveryError(reason)
        return DeliveryError(reason, permanent=True)
    if isinstance(exc, requests.HTTPError):
        status = getattr(exc.response, "status_code", None)
        return _http_error(status, exc.response, f"wecom HTTP {status}")
    # Never the exception's text: a requests error quotes the whole URL, and gettoken's
    # carries corpsecret in it. The endpoint and the error's type are enough.
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) or ""
    endpoint = urlsplit(str(url)).path or "?"
    return DeliveryError(f"wecom unreachable: {type(exc).__name__} ({endpoint})")
