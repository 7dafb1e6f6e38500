"""Offers over the wait: taking a decline back, and HR told of an offer left unanswered.

- A candidate who declined may take it back in the chat for ``OFFER_UNDO_HOURS``
  (default 24) unless HR has acted since (an outcome recorded, the offer re-sent for
  approval, a /forget request) or the manager rejected the offer.
- An offer left unanswered is asked again by the journey (slots ``offer_reminder`` and
  ``offer_last_call``, days 3 and 7 from the offer or from binding when later); on day
  ``OFFER_UNANSWERED_DAYS`` (default 10) the candidate's HR is told, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.context import Services
from bot.core.messages import Button, Outgoing
from bot.core.quiet import staff_hours
from bot.people.approvals import REJECTED_BY_MANAGER, alert_staff
from bot.people.progress import journey_start
from storage import outcomes, people
from storage.db import Database
from storage.models import Candidate, OfferStatus

UNDO_PAYLOAD = "ou"


async def may_take_back(
    session: AsyncSession, candidate: Candidate, now: datetime, undo_hours: int
) -> bool:
    """Whether ``candidate``'s decline can still be taken back in the chat."""
    if candidate.offer_status != OfferStatus.DECLINED.value or candidate.id is None:
        return False
    if candidate.offer_decline_reason == REJECTED_BY_MANAGER:
        return False
    replied = candidate.offer_replied_at
    if replied is None or now - replied > timedelta(hours=undo_hours):
        return False
    if candidate.forget_requested_at is not None:
        return False
    return await outcomes.get_outcome(session=session, candidate_id=candidate.id) is None


async def check_unanswered_offers(db: Database, services: Services, now: datetime) -> None:
    """Tell each HR, once, about an offer still unanswered OFFER_UNANSWERED_DAYS after it
    was first shown (the offer date, or binding when later), from DIGEST_HOUR on."""
    settings = services.settings
    tz = settings.timezone
    if not staff_hours(now, settings):
        return
    local = now.astimezone(tz)
    days = settings.offer_unanswered_days
    today = local.date()
    async with db.session() as session:
        for candidate in await people.offers_unanswered(
            session=session,
            bound_before=now - timedelta(days=days),
            offered_before=today - timedelta(days=days - 1),
        ):
            start = journey_start(candidate, tz)
            if start is None or (today - start).days < days or candidate.hr_id is None:
                continue
            hr = await people.get_staff(session=session, staff_id=candidate.hr_id)
            if hr is None:
                continue
            i18n = services.i18n
            lang = hr.language
            text = i18n.t(
                lang,
                "offer.hr_unanswered",
                name=candidate.name,
                department=candidate.department or "-",
                days=(today - start).days,
            )
            button = Button(i18n.t(lang, "score.alert_button"), f"st:{candidate.id}")
            await alert_staff(
                session,
                hr,
                Outgoing(text, (button,)),
                f"offer_unanswered:{candidate.id}:{start.isoformat()}",
                now,
            )
