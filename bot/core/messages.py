"""The platform-neutral message model.

Adapters translate platform payloads into :class:`Incoming` and render
:class:`Outgoing` back; nothing past the adapter sees a platform type. Raw
platform details ride in ``extras``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.core.text import clean, clean_value


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    FILE = "file"
    VOICE = "voice"
    VIDEO = "video"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file on the platform; fetch its bytes with the adapter's ``download``."""

    kind: AttachmentKind
    file_id: str
    name: str | None = None
    mime_type: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "file_id", clean(self.file_id, one_line=True))
        if self.name is not None:
            object.__setattr__(self, "name", clean(self.name, one_line=True))
        if self.mime_type is not None:
            object.__setattr__(self, "mime_type", clean(self.mime_type, one_line=True))


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote a message, as the platform knows them."""

    platform: str
    user_id: str
    chat_id: str
    display_name: str | None = None

    def __post_init__(self) -> None:
        for name in ("user_id", "chat_id"):
            object.__setattr__(self, name, clean(getattr(self, name), one_line=True))
        if self.display_name is not None:
            object.__setattr__(self, "display_name", clean(self.display_name, one_line=True))


@dataclass(frozen=True, slots=True)
class Incoming:
    """One inbound message, button tap or file from a chat user.

    ``event_id`` is the platform's id for the delivery (Telegram ``update_id``,
    WeCom ``MsgId``, Feishu ``event_id``); a redelivered event carries the same
    one and has no second effect.
    """

    sender: Sender
    event_id: str
    received_at: datetime
    text: str = ""
    payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The adapter boundary: nothing after this can fail on what a platform sent.
        object.__setattr__(self, "event_id", clean(self.event_id, one_line=True))
        object.__setattr__(self, "text", clean(self.text))
        if self.payload is not None:
            object.__setattr__(self, "payload", clean(self.payload, one_line=True))
        object.__setattr__(self, "extras", clean_value(self.extras))

    def to_json(self) -> dict[str, Any]:
        return {
            "sender": [
                self.sender.platform,
                self.sender.user_id,
                self.sender.chat_id,
                self.sender.display_name,
            ],
            "event_id": self.event_id,
            "received_at": self.received_at.isoformat(),
            "text": self.text,
            "payload": self.payload,
            "attachments": [
                [a.kind.value, a.file_id, a.name, a.mime_type, a.size] for a in self.attachments
            ],
            "extras": self.extras,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Incoming:
        return cls(
            sender=Sender(*data["sender"]),
            event_id=data["event_id"],
            received_at=datetime.fromisoformat(data["received_at"]),
            text=data["text"],
            payload=data["payload"],
            attachments=tuple(
                Attachment(AttachmentKind(kind), file_id, name, mime, size)
                for kind, file_id, name, mime, size in data["attachments"]
            ),
            extras=data.get("extras") or {},
        )

    @property
    def kind(self) -> str:
        if self.payload is not None:
            return "button"
        if self.attachments:
            return "file"
        return "text"


@dataclass(frozen=True, slots=True)
class Button:
    """A choice; ``payload`` comes back in :attr:`Incoming.payload` when tapped (max 48 bytes)."""

    label: str
    payload: str

    def __post_init__(self) -> None:
        if len(self.payload.encode()) > 48:
            raise ValueError(f"button payload too long: {self.payload!r}")


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A file the bot sends: a path under ``DATA_DIR`` or inline bytes."""

    kind: AttachmentKind
    name: str
    path: str | None = None
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message the bot sends: text with light Markdown (``**bold**``), buttons, links, files."""

    text: str
    buttons: tuple[Button, ...] = ()
    links: tuple[Link, ...] = ()
    files: tuple[OutgoingFile, ...] = ()
    # Set by the courier: stable across retries of the same outbox row, so a platform
    # with idempotent sends (Feishu's uuid) delivers a retried row once.
    key: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [[b.label, b.payload] for b in self.buttons],
            "links": [[link.label, link.url] for link in self.links],
            "files": [
                {"kind": f.kind.value, "name": f.name, "path": f.path}
                for f in self.files
                if f.path is not None
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outgoing:
        return cls(
            text=data["text"],
            buttons=tuple(Button(label, payload) for label, payload in data.get("buttons", [])),
            links=tuple(Link(label, url) for label, url in data.get("links", [])),
            files=tuple(
                OutgoingFile(AttachmentKind(f["kind"]), f["name"], path=f["path"])
                for f in data.get("files", [])
            ),
        )


@dataclass(frozen=True, slots=True)
class ChatAddress:
    """Where to deliver a message on one platform."""

    platform: str
    user_id: str
    chat_id: str


class DeliveryError(Exception):
    """A send failed.

    ``retry_after``: seconds to wait before retrying (a platform 429).
    ``permanent``: retrying will not help (bad request).
    ``unreachable``: the platform says this person cannot receive messages
    (blocked the bot, left the company); their identity is marked so and
    their HR is told.
    """

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent or unreachable
        self.unreachable = unreachable


@dataclass(frozen=True, slots=True)
class CommandMenu:
    """Commands to show in a platform's menu: for everyone (``chat_id`` None) or one chat."""

    chat_id: str | None
    language: str | None
    commands: tuple[tuple[str, str], ...]  # (command, description)
