"""Feishu / Lark payloads without the SDK: webhook checks, events -> Incoming, message JSON.

Kept apart from :mod:`adapters.feishu` so it imports in milliseconds and can be
tested on plain data. Formats: im.message.receive_v1 ``content`` strings, message
card JSON 1.0 (buttons carry ``{"p": payload}``), rich-text ``post`` content.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.core.edge import BadBody, ascii_header, fresh, load_json
from bot.core.messages import (
    Attachment,
    AttachmentKind,
    Button,
    DeliveryError,
    Incoming,
    Link,
    Sender,
)
from bot.core.text import same

PLATFORM = "feishu"
FEISHU_URL = "https://open.feishu.cn"
LARK_URL = "https://open.larksuite.com"

# Open API codes (https://open.feishu.cn/document/server-docs/im-v1/message/create).
RATE_LIMITED = {99991400, 230020}
# Recipient left the company / outside the bot's availability (230013), blocked the bot
# (230035), cross-tenant p2p (230038), bot out of the chat (230002), chat dissolved (232009).
UNREACHABLE = {230013, 230035, 230038, 230002, 232009}
# The tenant token was revoked or expired early: drop it and retry with a fresh one.
TOKEN_INVALID = {99991661, 99991663, 99991664, 99991665, 99991668}
IN_FLIGHT = 230049  # "the message is being sent": the same uuid is still in progress

_MENTION = re.compile(r"@_user_\d+\s*")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def resolve_domain(value: str | None) -> str:
    """FEISHU_DOMAIN: empty or "feishu" -> Feishu, "lark" -> Lark, else the URL itself."""
    if not value or value.lower() == "feishu":
        return FEISHU_URL
    if value.lower() == "lark":
        return LARK_URL
    return value.rstrip("/")


# ---- webhook checks ---------------------------------------------------------------------

SIGNATURE_HEADERS = ("X-Lark-Request-Timestamp", "X-Lark-Request-Nonce", "X-Lark-Signature")
# Feishu retries an unanswered event after 15 s, 5 min, 1 h and 6 h; a signed request
# older than this is a replay (redeliveries inside it are deduplicated by event id).
TIMESTAMP_WINDOW = 7 * 3600.0


class Refused(Exception):
    """A webhook request answered with ``status``; nothing of it is processed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def open_webhook(
    body: bytes,
    headers: Mapping[str, str],
    *,
    encrypt_key: str,
    verification_token: str,
    decrypt: Callable[[str], str] | None,
    now: float | None = None,
) -> tuple[str, dict[str, Any]]:
    """Check a webhook body as lark-oapi's dispatcher does, with our statuses; its type
    and the (decrypted, cleaned) event.

    Malformed, mis-encoded or too deeply nested JSON -> 400; undecryptable, a bad
    X-Lark-Signature (sha256 of timestamp + nonce + encrypt key + body) or a timestamp
    outside :data:`TIMESTAMP_WINDOW` -> 401; a wrong verification token -> 403.
    ``decrypt`` is the SDK's AESCipher(encrypt_key).decrypt_str.
    """
    try:
        event = load_json(body)
    except BadBody:
        raise Refused(400, "malformed JSON") from None
    if not isinstance(event, dict):
        raise Refused(400, "not a JSON object")
    if not (encrypt_key or verification_token):
        raise Refused(401, "webhook verification is not configured")
    if "encrypt" in event:
        if decrypt is None:
            raise Refused(401, "encrypted event but FEISHU_ENCRYPT_KEY is not set")
        if not isinstance(event["encrypt"], str):
            raise Refused(400, "encrypt is not a string")
        try:
            event = load_json(decrypt(event["encrypt"]))
        except Exception:
            raise Refused(401, "cannot decrypt (wrong key or forged)") from None
        if not isinstance(event, dict):
            raise Refused(400, "not a JSON object")
    header: dict[str, Any] = event["header"] if isinstance(event.get("header"), dict) else {}
    event_type = str(header.get("event_type") or event.get("type") or "")
    # Feishu does not sign the URL verification request; the token vouches for it.
    if encrypt_key and event_type != "url_verification":
        timestamp, nonce, signature = (ascii_header(headers, name) for name in SIGNATURE_HEADERS)
        signed = (timestamp + nonce + encrypt_key).encode("utf-8", "surrogatepass") + body
        if not same(hashlib.sha256(signed).hexdigest(), signature):
            raise Refused(401, "bad signature")
        if not fresh(timestamp, window=TIMESTAMP_WINDOW, now=now):
            raise Refused(401, "stale or missing timestamp")
    if verification_token:
        token = header.get("token") if "schema" in event else event.get("token")
        if not isinstance(token, str) or not same(token, verification_token):
            raise Refused(403, "bad verification token")
    return event_type, event


def challenge_answer(event: Mapping[str, Any]) -> bytes:
    """The answer to a verified url_verification request: its challenge, as JSON."""
    challenge = event.get("challenge")
    if not isinstance(challenge, str):
        raise Refused(400, "challenge is not a string")
    return json.dumps({"challenge": challenge}).encode()


# ---- inbound ----------------------------------------------------------------------------


def file_id(message_id: str, key: str, resource_type: str) -> str:
    """Everything message_resource.get needs, in Attachment.file_id."""
    return f"{message_id}:{key}:{resource_type}"


def split_file_id(value: str) -> tuple[str, str, str]:
    """(message_id, file_key, type) from :func:`file_id`."""
    parts = value.split(":")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"not a Feishu file id: {value!r}")
    return parts[0], parts[1], parts[2]


def _loads(content: str | None) -> dict[str, Any]:
    try:
        data = json.loads(content or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _post_parts(content: Mapping[str, Any], message_id: str) -> tuple[str, list[Attachment]]:
    """Text and images of a rich-text (post) message."""
    lines: list[str] = []
    images: list[Attachment] = []
    title = content.get("title")
    if isinstance(title, str) and title:
        lines.append(title)
    for row in content.get("content") or []:
        pieces: list[str] = []
        for element in row if isinstance(row, list) else []:
            if not isinstance(element, dict):
                continue
            if element.get("tag") in ("text", "a", "md") and isinstance(element.get("text"), str):
                pieces.append(element["text"])
            elif element.get("tag") == "img" and element.get("image_key"):
                key = str(element["image_key"])
                images.append(Attachment(AttachmentKind.PHOTO, file_id(message_id, key, "image")))
        lines.append("".join(pieces))
    return "\n".join(lines).strip(), images


def message_incoming(
    *,
    event_id: str,
    open_id: str,
    chat_id: str,
    chat_type: str,
    message_id: str,
    message_type: str,
    content: str | None,
    received_at: datetime,
) -> Incoming:
    """An im.message.receive_v1 event as an Incoming.

    In a p2p chat the chat is addressed by the user's open_id (so a card tap, which
    names only the user, lands on the same ChatAddress); a group by its chat_id.
    """
    data = _loads(content)
    text = ""
    attachments: list[Attachment] = []
    if message_type == "text":
        text = _MENTION.sub("", str(data.get("text") or "")).strip()
    elif message_type == "post":
        text, attachments = _post_parts(data, message_id)
    elif message_type == "image" and data.get("image_key"):
        key = str(data["image_key"])
        attachments.append(Attachment(AttachmentKind.PHOTO, file_id(message_id, key, "image")))
    elif message_type in ("file", "audio", "media") and data.get("file_key"):
        kind = {
            "file": AttachmentKind.FILE,
            "audio": AttachmentKind.VOICE,
            "media": AttachmentKind.VIDEO,
        }[message_type]
        attachments.append(
            Attachment(
                kind,
                file_id(message_id, str(data["file_key"]), "file"),
                name=data.get("file_name") or None,
            )
        )
    address = open_id if chat_type == "p2p" else chat_id
    return Incoming(
        sender=Sender(PLATFORM, open_id, address),
        event_id=event_id,
        received_at=received_at,
        text=text,
        attachments=tuple(attachments),
        extras={
            "message_id": message_id,
            "chat_id": chat_id,
            "chat_type": chat_type,
            "message_type": message_type,
        },
    )


def card_incoming(
    *,
    event_id: str,
    open_id: str,
    value: Mapping[str, Any] | None,
    open_chat_id: str | None,
    open_message_id: str | None,
    received_at: datetime,
) -> Incoming | None:
    """A card.action.trigger button tap; None when the value is not one of our buttons."""
    payload = (value or {}).get("p")
    if not isinstance(payload, str) or not payload:
        return None
    # Replies to a tap go to the person's p2p chat: HR answers may name candidates.
    return Incoming(
        sender=Sender(PLATFORM, open_id, open_id),
        event_id=event_id,
        received_at=received_at,
        payload=payload,
        extras={"open_chat_id": open_chat_id, "open_message_id": open_message_id},
    )


def from_message_event(data: Any, received_at: datetime) -> Incoming | None:
    """lark-oapi's parsed P2ImMessageReceiveV1 as an Incoming; None unless from a user."""
    event, header = data.event, data.header
    if event is None or event.message is None or event.sender is None or header is None:
        return None
    if event.sender.sender_type not in (None, "user"):
        return None  # other bots
    open_id = event.sender.sender_id.open_id if event.sender.sender_id else None
    message = event.message
    if not open_id or not header.event_id or not message.message_id:
        return None
    return message_incoming(
        event_id=header.event_id,
        open_id=open_id,
        chat_id=message.chat_id or open_id,
        chat_type=message.chat_type or "p2p",
        message_id=message.message_id,
        message_type=message.message_type or "",
        content=message.content,
        received_at=received_at,
    )


def from_card_event(data: Any, received_at: datetime) -> Incoming | None:
    """lark-oapi's parsed P2CardActionTrigger as an Incoming; None unless our button."""
    event, header = data.event, data.header
    operator = event.operator if event else None
    if not (event and header and header.event_id and operator and operator.open_id):
        return None
    return card_incoming(
        event_id=header.event_id,
        open_id=operator.open_id,
        value=event.action.value if event.action else None,
        open_chat_id=event.context.open_chat_id if event.context else None,
        open_message_id=event.context.open_message_id if event.context else None,
        received_at=received_at,
    )


# ---- outbound ---------------------------------------------------------------------------


def _runs(line: str) -> list[dict[str, Any]]:
    """One line of light Markdown as post elements (``**bold**`` -> style bold)."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in _BOLD.finditer(line):
        if match.start() > position:
            elements.append({"tag": "text", "text": line[position : match.start()]})
        elements.append({"tag": "text", "text": match.group(1), "style": ["bold"]})
        position = match.end()
    if position < len(line) or not elements:
        elements.append({"tag": "text", "text": line[position:]})
    return elements


def render_text(text: str, links: Sequence[Link] = ()) -> tuple[str, str]:
    """(msg_type, content): plain ``text``, or ``post`` when there is bold or a link."""
    if not links and "**" not in text:
        return "text", json.dumps({"text": text}, ensure_ascii=False)
    rows = [_runs(line) for line in text.split("\n")]
    rows += [[{"tag": "a", "text": link.label, "href": link.url}] for link in links]
    post = {"zh_cn": {"title": "", "content": rows}}
    return "post", json.dumps(post, ensure_ascii=False)


def render_card(text: str, buttons: Sequence[Button], links: Sequence[Link] = ()) -> str:
    """An interactive card: the text (lark_md keeps ``**bold**``), links, one button row."""
    markdown = "\n".join([text, *(f"[{link.label}]({link.url})" for link in links)]).strip()
    elements: list[dict[str, Any]] = []
    if markdown:
        elements.append({"tag": "div", "text": {"tag": "lark_md", "content": markdown}})
    elements.append(
        {
            "tag": "action",
            "layout": "flow",
            "actions": [
                {
                    "tag": "button",
                    "text": {"tag": "plain_text", "content": button.label},
                    "type": "primary" if index == 0 else "default",
                    "value": {"p": button.payload},
                }
                for index, button in enumerate(buttons)
            ],
        }
    )
    card = {"config": {"wide_screen_mode": True}, "elements": elements}
    return json.dumps(card, ensure_ascii=False)


def file_type(name: str) -> str:
    """im.v1.file.create file_type for a file sent as msg_type ``file``.

    opus/mp4 uploads would have to be sent as audio/media messages, so they go as streams.
    """
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in ("pdf", "doc", "xls", "ppt"):
        return extension
    return {"docx": "doc", "xlsx": "xls", "pptx": "ppt"}.get(extension, "stream")


# ---- idempotency ------------------------------------------------------------------------


def message_digest(
    receive_id_type: str, receive_id: str, message: Mapping[str, Any], blobs: Iterable[bytes]
) -> str:
    """A stable fingerprint of one Outgoing to one recipient (inline file bytes included)."""
    digest = hashlib.sha256()
    digest.update(f"{receive_id_type}\0{receive_id}\0".encode())
    digest.update(json.dumps(message, sort_keys=True, ensure_ascii=False).encode())
    for blob in blobs:
        digest.update(hashlib.sha256(blob).digest())
    return digest.hexdigest()


def message_uuid(digest: str, sequence: int, part: int) -> str:
    """The ``uuid`` (<= 50 chars) of part ``part`` of the ``sequence``-th send of ``digest``."""
    return hashlib.sha256(f"{digest}:{sequence}:{part}".encode()).hexdigest()[:40]


# ---- errors -----------------------------------------------------------------------------


def retry_after(headers: Mapping[str, str]) -> float:
    """Seconds to wait after a rate limit (Feishu's x-ogw-ratelimit-reset, or Retry-After)."""
    lower = {key.lower(): value for key, value in headers.items()}
    for name in ("x-ogw-ratelimit-reset", "retry-after"):
        try:
            return max(1.0, float(lower[name]))
        except (KeyError, ValueError):
            continue
    return 1.0


def delivery_error(
    action: str, status: int | None, code: int | None, msg: str | None, headers: Mapping[str, str]
) -> DeliveryError:
    """The DeliveryError for a failed Open API call."""
    reason = f"feishu {action} failed: HTTP {status}, code {code}: {msg or ''}".strip()
    if status == 429 or code in RATE_LIMITED:
        return DeliveryError(reason, retry_after=retry_after(headers))
    if code in UNREACHABLE:
        return DeliveryError(reason, unreachable=True)
    if code == IN_FLIGHT:
        return DeliveryError(reason, retry_after=1.0)
    if code in TOKEN_INVALID or status is None or status >= 500:
        return DeliveryError(reason)
    return DeliveryError(reason, permanent=True)
