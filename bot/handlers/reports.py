"""Placeholder: filled in by its feature."""

from __future__ import annotations

from bot.router import Router

router = Router()
