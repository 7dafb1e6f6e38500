"""The adapter interface every platform implements.

An adapter turns platform payloads into :class:`~bot.messages.Incoming` and
hands them to the dispatcher, and renders :class:`~bot.messages.Outgoing` back
onto the platform. Platform quirks (tokens, crypto, rate limits) stay inside it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.messages import Attachment, ChatAddress, Incoming, Outgoing

MessageHandler = Callable[[Incoming], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    """An HTTP route the adapter needs on the bot's one web server."""

    method: str
    path: str
    handler: Callable[[Any], Awaitable[Any]]


class BaseAdapter(ABC):
    """One chat platform."""

    platform: ClassVar[str]

    def __init__(self) -> None:
        self._on_message: MessageHandler | None = None

    def attach(self, on_message: MessageHandler) -> None:
        """Set the dispatcher entry point that receives every inbound message."""
        self._on_message = on_message

    async def dispatch(self, message: Incoming) -> None:
        if self._on_message is None:
            raise RuntimeError(f"{self.platform} adapter has no dispatcher attached")
        await self._on_message(message)

    def routes(self) -> Sequence[Route]:
        """Webhook routes to mount on the shared HTTP server (none by default)."""
        return ()

    @abstractmethod
    async def start(self) -> None:
        """Begin receiving (polling, a socket, or nothing for webhooks)."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop receiving and release connections."""

    @abstractmethod
    async def send(self, to: ChatAddress, message: Outgoing) -> None:
        """Deliver one message; raise :class:`~bot.messages.DeliveryError` on failure."""

    @abstractmethod
    async def download(self, attachment: Attachment) -> bytes:
        """The bytes of a file the user sent."""
