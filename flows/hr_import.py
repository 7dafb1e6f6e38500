"""Placeholder: filled in by its feature."""

from __future__ import annotations

from bot.router import Router
from flows.engine import Flow

router = Router()
FLOWS: tuple[Flow, ...] = ()
