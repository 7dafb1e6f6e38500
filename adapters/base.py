"""The adapter interface every platform implements.

An adapter turns platform payloads into :class:`~bot.core.messages.Incoming` and
hands them to the dispatcher, and renders :class:`~bot.core.messages.Outgoing` back
onto the platform. Platform quirks (tokens, crypto, rate limits) stay inside it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from bot.core.channel import Inbound, Route
from bot.core.messages import Attachment, ChatAddress, Incoming, Outgoing


class BaseAdapter(ABC):
    """One chat platform; implements :class:`bot.core.channel.Channel`."""

    platform: ClassVar[str]

    def __init__(self) -> None:
        self._inbound: Inbound | None = None

    def attach(self, inbound: Inbound) -> None:
        """Connect the dispatcher that receives every inbound message."""
        self._inbound = inbound

    @property
    def inbound(self) -> Inbound:
        if self._inbound is None:
            raise RuntimeError(f"{self.platform} adapter has no dispatcher attached")
        return self._inbound

    async def dispatch(self, message: Incoming) -> None:
        """Handle a message now (polling, console)."""
        await self.inbound.handle(message)

    async def submit(self, message: Incoming) -> bool:
        """Store a webhook delivery and return; it is processed in the background."""
        return await self.inbound.submit(message)

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
        """Deliver one message; raise :class:`~bot.core.messages.DeliveryError` on failure."""

    @abstractmethod
    async def download(self, attachment: Attachment) -> bytes:
        """The bytes of a file the user sent."""


__all__ = ["BaseAdapter", "Inbound", "Route"]
