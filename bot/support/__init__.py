"""Questions to HR: tickets, notices to staff and escalation when nobody answers."""

from __future__ import annotations

from bot.support.tickets import escalate_tickets, escalation_job, raise_ticket, tell_admins

__all__ = ["escalate_tickets", "escalation_job", "raise_ticket", "tell_admins"]
