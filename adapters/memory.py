"""An in-memory adapter: drives whole conversations in tests and simulations.

``say``/``tap``/``upload`` inject messages as a user; everything the bot sends
is kept per user in ``sent`` for assertions.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict

from adapters.base import BaseAdapter
from bot.core.clock import Clock
from bot.core.messages import (
    Attachment,
    AttachmentKind,
    ChatAddress,
    DeliveryError,
    Incoming,
    Outgoing,
    Sender,
)


class MemoryAdapter(BaseAdapter):
    def __init__(self, clock: Clock, platform: str = "memory") -> None:
        super().__init__()
        self.platform = platform  # type: ignore[misc]
        self.clock = clock
        self.sent: dict[str, list[Outgoing]] = defaultdict(list)
        self.files: dict[str, bytes] = {}
        self.fail_next: list[DeliveryError] = []
        self._ids = itertools.count(1)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, to: ChatAddress, message: Outgoing) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.sent[to.user_id].append(message)

    async def download(self, attachment: Attachment) -> bytes:
        return self.files[attachment.file_id]

    def incoming(
        self,
        user: str,
        text: str = "",
        *,
        payload: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        event_id: str | None = None,
    ) -> Incoming:
        return Incoming(
            sender=Sender(self.platform, user, user, user),
            event_id=event_id or f"{self.platform}-{uuid.uuid4().hex}",
            received_at=self.clock.now(),
            text=text,
            payload=payload,
            attachments=attachments,
        )

    async def say(self, user: str, text: str, *, event_id: str | None = None) -> list[str]:
        """Send ``text`` as ``user``; return the texts the bot sent to that user in reply."""
        before = len(self.sent[user])
        await self.dispatch(self.incoming(user, text, event_id=event_id))
        return [m.text for m in self.sent[user][before:]]

    async def tap(self, user: str, label_or_index: str | int) -> list[str]:
        """Tap a button of the last message with buttons, by label or 1-based index."""
        buttons = next((m.buttons for m in reversed(self.sent[user]) if m.buttons), ())
        if isinstance(label_or_index, int):
            button = buttons[label_or_index - 1]
        else:
            button = next(b for b in buttons if label_or_index in b.label)
        before = len(self.sent[user])
        await self.dispatch(self.incoming(user, button.label, payload=button.payload))
        return [m.text for m in self.sent[user][before:]]

    async def tap_payload(self, user: str, payload: str, label: str = "") -> list[str]:
        """Tap a button by its payload, e.g. one of an old message further up."""
        before = len(self.sent[user])
        await self.dispatch(self.incoming(user, label, payload=payload))
        return [m.text for m in self.sent[user][before:]]

    async def upload(
        self,
        user: str,
        data: bytes,
        *,
        name: str,
        kind: AttachmentKind = AttachmentKind.FILE,
        mime_type: str | None = None,
    ) -> list[str]:
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = data
        attachment = Attachment(kind, file_id, name, mime_type, len(data))
        before = len(self.sent[user])
        await self.dispatch(self.incoming(user, attachments=(attachment,)))
        return [m.text for m in self.sent[user][before:]]

    def last(self, user: str) -> Outgoing:
        return self.sent[user][-1]
