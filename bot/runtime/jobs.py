"""The periodic jobs and after-message hooks the app runs, in order."""

from __future__ import annotations

from bot.people.approvals import check_approval_sla
from bot.people.offers import check_unanswered_offers
from bot.pushes.planner import plan_pushes
from bot.reports.digest import send_digests
from bot.runtime.tick import AfterRoute, TickJob
from bot.scoring.jobs import after_interaction, daily_recompute, rescore_recent
from bot.support import escalation_job

TICK_JOBS: tuple[TickJob, ...] = (
    escalation_job,
    daily_recompute,
    rescore_recent,
    plan_pushes,
    check_approval_sla,
    check_unanswered_offers,
    send_digests,
)
AFTER_ROUTE: tuple[AfterRoute, ...] = (after_interaction,)
