"""Command handlers, grouped by who uses them."""

from __future__ import annotations

from bot.core.router import Router
from bot.handlers import (
    audit,
    candidate,
    checkin,
    common,
    content,
    failures,
    hr,
    manager,
    outcome,
    remind,
    reports,
)
from bot.handlers.common import bare_code


def build_router() -> Router:
    """Every command and button handler of the bot."""
    router = Router()
    for module in (
        common,
        candidate,
        checkin,
        hr,
        remind,
        outcome,
        content,
        reports,
        audit,
        failures,
        manager,
    ):
        router.include(module.router)
    return router


__all__ = ["bare_code", "build_router"]
