"""Who is scored for risk, and in words why someone is not.

Only a candidate still on the way and reachable has a meaningful risk: one who has
not bound a chat account yet is "not reached yet" (HR's task is to reach them, not
to read a score built on nothing), and one who declined, has an outcome recorded
(joined, reneged) or is past their first day has left the journey. The same rules
select the candidates the daily run scores (``storage.signals``); this module names
them for /status, /risk, /team and /export.
"""

from __future__ import annotations

from datetime import date

from storage.models import Candidate, OfferStatus

UNREACHED = "unreached"


def unscored(candidate: Candidate, *, today: date, outcome: str | None = None) -> str | None:
    """Why ``candidate`` has no risk score (a catalog key under ``score.``), or None
    when they are scored. ``outcome`` is their recorded outcome, if any."""
    if outcome is not None:
        return "ended.outcome"
    if candidate.offer_status == OfferStatus.DECLINED.value:
        return "ended.declined"
    if candidate.onboarding_date is not None and candidate.onboarding_date < today:
        return "ended.started"
    if candidate.offer_status == OfferStatus.PENDING_APPROVAL.value:
        return "ended.pending"
    if candidate.bound_at is None:
        return UNREACHED
    return None
