"""A candidate's readiness: the checklist, percent done and the days left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo

from sqlmodel.ext.asyncio.session import AsyncSession

from content import ContentPack
from storage import courses, documents
from storage.models import Candidate, DocumentStatus, OfferStatus


@dataclass(frozen=True, slots=True)
class Progress:
    offer_confirmed: bool
    documents_required: int
    documents_submitted: int
    documents_approved: int
    courses_total: int
    courses_passed: int
    days_to_training: int | None
    days_to_onboarding: int | None

    @property
    def percent(self) -> int:
        """Offer, each document and each course weigh one; a document awaiting review, half."""
        units = 1 + self.documents_required + self.courses_total
        done = (
            (1 if self.offer_confirmed else 0)
            + self.documents_approved
            + 0.5 * (self.documents_submitted - self.documents_approved)
            + self.courses_passed
        )
        return int(100 * done / units)

    @property
    def documents_missing(self) -> int:
        return self.documents_required - self.documents_submitted


def still_waiting(candidate: Candidate, today: date) -> bool:
    """Whether the candidate is still on their way: not declined and their first day not
    yet past (outcomes are checked by the caller, from their own table). Those who are
    not leave /risk, the digests and /team."""
    if candidate.offer_status == OfferStatus.DECLINED.value:
        return False
    return candidate.onboarding_date is None or candidate.onboarding_date >= today


def journey_start(candidate: Candidate, tz: tzinfo) -> date | None:
    """The day the journey counts from: the offer date, or the day the candidate bound
    when that is later (a late binder still gets the first weeks' messages)."""
    start = candidate.offer_date
    if candidate.bound_at is not None:
        bound = candidate.bound_at.astimezone(tz).date()
        start = bound if start is None else max(start, bound)
    return start


def offer_awaiting_reply(status: str) -> bool:
    """Whether a candidate with this offer status should be asked to reply."""
    return status in (OfferStatus.OFFERED.value, OfferStatus.DELAYED.value)


def _days_until(target: date | None, today: date) -> int | None:
    return None if target is None else (target - today).days


async def compute_progress(
    *, session: AsyncSession, candidate: Candidate, content: ContentPack, today: date
) -> Progress:
    assert candidate.id is not None
    required = {
        i.id for i in content.checklists.items_for(candidate.department, candidate.position)
    }
    docs = [
        d
        for d in await documents.documents_of(session=session, candidate_id=candidate.id)
        if d.item in required
    ]
    course_ids = {c.id for c in content.courses}
    results = await courses.course_results_of(session=session, candidate_id=candidate.id)
    return Progress(
        offer_confirmed=candidate.offer_status == OfferStatus.ACCEPTED.value,
        documents_required=len(required),
        documents_submitted=sum(1 for d in docs if d.status != DocumentStatus.REJECTED.value),
        documents_approved=sum(1 for d in docs if d.status == DocumentStatus.APPROVED.value),
        courses_total=len(course_ids),
        courses_passed=sum(1 for r in results if r.passed and r.course_id in course_ids),
        days_to_training=_days_until(candidate.training_date, today),
        days_to_onboarding=_days_until(candidate.onboarding_date, today),
    )
