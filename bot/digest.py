"""The morning digest to each HR (issue #6)."""

from __future__ import annotations

from datetime import datetime

from bot.context import Services
from storage.db import Database


async def send_digests(db: Database, services: Services, now: datetime) -> None:
    """Queue today's digest for every HR once it is DIGEST_HOUR (placeholder until #6 lands)."""
