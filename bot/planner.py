"""The push planner (issue #5): decides, for each candidate, what to send and when."""

from __future__ import annotations

from datetime import datetime

from bot.context import Services
from storage.db import Database


async def plan_pushes(db: Database, services: Services, now: datetime) -> None:
    """Write outbox rows for every journey slot that is due (placeholder until #5 lands)."""
