"""Keeping stability scores fresh (issue #6): daily, and after each interaction."""

from __future__ import annotations

from datetime import datetime

from bot.context import Context, Services
from storage.db import Database


async def daily_recompute(db: Database, services: Services, now: datetime) -> None:
    """Re-score every active candidate once a day (placeholder until #6 lands)."""


async def after_interaction(ctx: Context) -> None:
    """Re-score the candidate behind this message (placeholder until #6 lands)."""
