"""The periodic jobs and after-message hooks the app runs, in order."""

from __future__ import annotations

from datetime import datetime

import flows
from bot.core.context import Services
from bot.people.approvals import check_approval_sla
from bot.pushes.planner import plan_pushes
from bot.reports.digest import send_digests
from bot.runtime.tick import AfterRoute, TickJob
from bot.scoring.jobs import after_interaction, daily_recompute
from storage.db import Database


async def escalate_tickets(db: Database, services: Services, now: datetime) -> None:
    """Tickets past TICKET_SLA_HOURS go to HR and admins (once)."""
    async with db.session() as session:
        await flows.escalate_tickets(session, services, now)


TICK_JOBS: tuple[TickJob, ...] = (
    escalate_tickets,
    daily_recompute,
    plan_pushes,
    check_approval_sla,
    send_digests,
)
AFTER_ROUTE: tuple[AfterRoute, ...] = (after_interaction,)
