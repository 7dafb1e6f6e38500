"""Offer approvals by managers and their SLA (issue #6)."""

from __future__ import annotations

from datetime import datetime

from bot.context import Services
from storage.db import Database


async def check_approval_sla(db: Database, services: Services, now: datetime) -> None:
    """Nudge approvers and alert HR about overdue approvals (placeholder until #6 lands)."""
