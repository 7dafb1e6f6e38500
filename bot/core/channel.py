"""What the core needs from a chat platform: the protocols adapters implement.

The core never imports an adapter; the composition root (``run_bot.py``) builds
them and hands them in as :class:`Channel` objects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TextIO
from zoneinfo import ZoneInfo

from bot.core.cache import SharedCache
from bot.core.clock import Clock
from bot.core.messages import Attachment, ChatAddress, CommandMenu, Incoming, Outgoing
from bot.core.settings import Settings


class Inbound(Protocol):
    """The core's entry points for inbound messages (the dispatcher)."""

    async def handle(self, message: Incoming) -> None:
        """Store and process now; for polling and local adapters."""
        ...

    async def submit(self, message: Incoming) -> bool:
        """Store durably and process in the background; False for a redelivery."""
        ...

    async def command_menus(self, platform: str) -> list[CommandMenu]:
        """The command menu for everyone, and one per staff chat on ``platform``."""
        ...


@dataclass(frozen=True, slots=True)
class Route:
    """An HTTP route a channel needs on the bot's one web server."""

    method: str
    path: str
    handler: Callable[[Any], Awaitable[Any]]


class Channel(Protocol):
    """One chat platform, as the core uses it."""

    @property
    def platform(self) -> str: ...

    def attach(self, inbound: Inbound) -> None: ...

    def routes(self) -> Sequence[Route]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, to: ChatAddress, message: Outgoing) -> None: ...

    async def download(self, attachment: Attachment) -> bytes: ...


class ConsoleChannel(Channel, Protocol):
    """The terminal chat: a channel that runs until the person types ``:quit``."""

    async def run(self) -> None: ...


class ConsoleFactory(Protocol):
    """Builds the console channel (``adapters.console.ConsoleAdapter``)."""

    def __call__(
        self,
        *,
        directory: Any,
        clock: Any,
        stdin: TextIO,
        stdout: TextIO,
        interactive: bool,
        on_clock_moved: Callable[[], Awaitable[None]] | None = None,
        tz: ZoneInfo | None = None,
    ) -> ConsoleChannel: ...


class PlatformFactory(Protocol):
    """Builds a channel for every configured platform (``adapters.build_platform_adapters``)."""

    def __call__(
        self, settings: Settings, *, cache: SharedCache, clock: Clock
    ) -> Sequence[Channel]: ...


__all__ = [
    "Channel",
    "ConsoleChannel",
    "ConsoleFactory",
    "Inbound",
    "PlatformFactory",
    "Route",
]
