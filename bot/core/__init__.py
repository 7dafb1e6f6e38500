"""The messaging core: neutral messages, protocols, context, router, inbox and outbox."""

from __future__ import annotations

from bot.core.channel import Channel, Inbound, Route
from bot.core.clock import Clock, FixedClock, SystemClock
from bot.core.context import Actor, CommandIndex, Context, FlowStarter, Services
from bot.core.errors import StartupError
from bot.core.i18n import I18n
from bot.core.messages import (
    Attachment,
    AttachmentKind,
    Button,
    ChatAddress,
    DeliveryError,
    Incoming,
    Outgoing,
    OutgoingFile,
)
from bot.core.router import Router
from bot.core.settings import Settings

__all__ = [
    "Actor",
    "Attachment",
    "AttachmentKind",
    "Button",
    "Channel",
    "ChatAddress",
    "Clock",
    "CommandIndex",
    "Context",
    "DeliveryError",
    "FixedClock",
    "FlowStarter",
    "I18n",
    "Inbound",
    "Incoming",
    "Outgoing",
    "OutgoingFile",
    "Route",
    "Router",
    "Services",
    "Settings",
    "StartupError",
    "SystemClock",
]
