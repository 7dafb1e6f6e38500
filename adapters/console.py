"""The console: a chat in the terminal, needing no account anywhere.

Each typed line is a message from the current identity. ``:as NAME`` switches
person, ``:who`` lists people, ``:clock +3d`` moves the bot's clock,
``:file PATH`` sends a file, ``:quit`` ends. Buttons are numbered; type the
number to tap one. Reading a script from a pipe prints a transcript.

``:clock`` moves time in steps of at most an hour and lets the bot tick after
each step, so scheduled messages print at the (local) time they would arrive.
"""

from __future__ import annotations

import asyncio
import mimetypes
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, TextIO
from zoneinfo import ZoneInfo

from adapters.base import BaseAdapter
from bot.core.clock import Clock, parse_delta
from bot.core.messages import (
    Attachment,
    AttachmentKind,
    Button,
    ChatAddress,
    DeliveryError,
    Incoming,
    Outgoing,
    Sender,
)
from bot.core.text import number

PLATFORM = "console"
# The largest step ``:clock`` moves time by before letting the bot tick.
CLOCK_STEP = timedelta(hours=1)


class ConsoleDirectory(Protocol):
    """Who exists, for ``:as`` and ``:who``; implemented by the core over storage."""

    async def switch(self, name: str) -> str:
        """Make ``name`` the console user (binding a known person); return a one-line note."""
        ...

    async def who(self) -> list[str]: ...


class MovableClock(Clock, Protocol):
    def advance(self, delta: timedelta) -> None: ...


class ConsoleAdapter(BaseAdapter):
    platform = PLATFORM

    def __init__(
        self,
        *,
        directory: ConsoleDirectory,
        clock: MovableClock,
        stdin: TextIO,
        stdout: TextIO,
        interactive: bool,
        first_user: str = "访客",
        on_clock_moved: Callable[[], Awaitable[None]] | None = None,
        tz: ZoneInfo | None = None,
    ) -> None:
        super().__init__()
        self.directory = directory
        self.clock = clock
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = interactive
        self.user = first_user
        self.on_clock_moved = on_clock_moved
        self.tz = tz
        self._buttons: dict[str, tuple[Button, ...]] = {}
        # While :clock runs, the simulated time not yet shown above the next message.
        self._untold_time: datetime | None = None

    async def start(self) -> None:
        note = await self.directory.switch(self.user)
        self._print(note)

    async def stop(self) -> None:
        return None

    async def run(self) -> None:
        """Read lines until ``:quit`` or end of input."""
        loop = asyncio.get_running_loop()
        while True:
            if self.interactive:
                self.stdout.write(f"{self.user}> ")
                self.stdout.flush()
            line = await loop.run_in_executor(None, self.stdin.readline)
            if not line:
                break
            line = line.rstrip("\n")
            if not self.interactive:
                self._print(f"{self.user}> {line}")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if not await self.handle_line(line.strip()):
                break

    async def handle_line(self, line: str) -> bool:
        """One typed line; False to quit."""
        if line.startswith(":"):
            return await self._meta(line)
        buttons = self._buttons.get(self.user, ())
        payload = None
        text = line
        picked = number(line)
        if picked is not None and 1 <= picked <= len(buttons):
            payload = buttons[picked - 1].payload
            text = buttons[picked - 1].label
        await self.dispatch(self._incoming(text=text, payload=payload))
        return True

    async def _meta(self, line: str) -> bool:
        command, _, arg = line.partition(" ")
        arg = arg.strip()
        if command == ":quit":
            return False
        if command == ":as" and arg:
            self.user = arg
            self._print(await self.directory.switch(arg))
        elif command == ":who":
            self._print("\n".join(await self.directory.who()))
        elif command == ":clock":
            await self._move_clock(arg)
        elif command == ":file" and arg:
            await self._send_file(arg)
        else:
            self._print("commands: :as NAME, :who, :clock +3d, :file PATH, :quit")
        return True

    async def _move_clock(self, arg: str) -> None:
        """Advance in steps of at most :data:`CLOCK_STEP`, letting the bot tick after each."""
        try:
            remaining = parse_delta(arg) if arg else timedelta()
        except ValueError:
            self._print("usage: :clock +3d (or +12h, +30m)")
            return
        try:
            while remaining > timedelta():
                step = min(remaining, CLOCK_STEP)
                self.clock.advance(step)
                remaining -= step
                self._untold_time = self.clock.now()
                if self.on_clock_moved is not None:
                    await self.on_clock_moved()
        finally:
            self._untold_time = None
        self._print(f"🕒 {self._local(self.clock.now())}")

    def _local(self, when: datetime) -> str:
        if self.tz is None:
            return when.isoformat(timespec="minutes")
        return f"{when.astimezone(self.tz):%Y-%m-%d %H:%M %a} ({self.tz.key})"

    async def _send_file(self, arg: str) -> None:
        path = Path(arg).expanduser()
        if not path.is_file():
            self._print(f"no such file: {path}")
            return
        mime, _ = mimetypes.guess_type(path.name)
        kind = AttachmentKind.PHOTO if (mime or "").startswith("image/") else AttachmentKind.FILE
        attachment = Attachment(kind, str(path), path.name, mime, path.stat().st_size)
        await self.dispatch(self._incoming(text="", attachments=(attachment,)))

    def _incoming(
        self, *, text: str, payload: str | None = None, attachments: tuple[Attachment, ...] = ()
    ) -> Incoming:
        return Incoming(
            sender=Sender(PLATFORM, self.user, self.user, self.user),
            event_id=uuid.uuid4().hex,
            received_at=self.clock.now(),
            text=text,
            payload=payload,
            attachments=attachments,
        )

    async def send(self, to: ChatAddress, message: Outgoing) -> None:
        if to.platform != PLATFORM:
            raise DeliveryError(f"console cannot send to {to.platform}", permanent=True)
        prefix = "bot: " if to.user_id == self.user else f"✉ → {to.user_id}: "
        lines = message.text.splitlines() or [""]
        for link in message.links:
            lines.append(f"🔗 {link.label}: {link.url}")
        for file in message.files:
            lines.append(f"📎 {file.name}")
        if message.buttons:
            lines.append("  ".join(f"[{n}] {b.label}" for n, b in enumerate(message.buttons, 1)))
            self._buttons[to.user_id] = message.buttons
        if self._untold_time is not None:  # arriving while :clock moves time
            self._print(f"🕒 {self._local(self._untold_time)}")
            self._untold_time = None
        pad = " " * len(prefix)
        self._print(
            "\n".join(prefix + line if i == 0 else pad + line for i, line in enumerate(lines))
        )

    async def download(self, attachment: Attachment) -> bytes:
        return Path(attachment.file_id).read_bytes()

    def _print(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()
