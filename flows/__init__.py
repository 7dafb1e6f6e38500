"""Dialogs: flow definitions, the engine that runs them, and their commands."""

from __future__ import annotations

from bot.dispatcher import TextHandler
from bot.router import Router
from flows import commands
from flows.engine import FlowEngine, FlowError
from flows.offer import OFFER_FLOW

ALL_FLOWS = (OFFER_FLOW,)
TEXT_HANDLERS: tuple[TextHandler, ...] = ()

router = Router()
router.include(commands.router)

__all__ = ["ALL_FLOWS", "TEXT_HANDLERS", "FlowEngine", "FlowError", "router"]
