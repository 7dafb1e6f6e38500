"""What /stats counts: the funnel, daily interaction rates and reasons for leaving."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.core.context import Context
from bot.people.progress import compute_progress
from storage import outcomes, reports
from storage.models import Candidate, OfferStatus, Outcome

RATE_DAYS = 30  # the interaction-rate chart covers this many local days
TOP_REASONS = 6  # reasons for leaving shown; the rest are one bar


@dataclass(frozen=True, slots=True)
class Funnel:
    offers: int
    accepted: int
    documents: int
    trained: int
    joined: int


async def funnel(
    ctx: Context, candidates: Sequence[Candidate], results: Sequence[Outcome]
) -> Funnel:
    """Candidates who reached each stage (each counted on its own, relative to offers).

    offers: every candidate whose offer is out (not pending approval); accepted: accepted,
    or joined; documents: every required document approved; trained: every course
    passed; joined: outcome "joined".
    """
    joined = {
        o.candidate_id
        for o in results
        if o.outcome == outcomes.JOINED and o.candidate_id is not None
    }
    offers = accepted = docs = trained = 0
    for candidate in candidates:
        if candidate.offer_status == OfferStatus.PENDING_APPROVAL.value:
            continue
        offers += 1
        accepted += int(
            candidate.offer_status == OfferStatus.ACCEPTED.value or candidate.id in joined
        )
        progress = await compute_progress(
            session=ctx.session,
            candidate=candidate,
            content=ctx.services.content,
            today=ctx.today,
        )
        docs += int(progress.documents_approved >= progress.documents_required)
        trained += int(progress.courses_passed >= progress.courses_total)
    return Funnel(offers, accepted, docs, trained, len(joined))


async def interaction_rates(
    ctx: Context, candidates: Sequence[Candidate], scope_ids: list[int] | None
) -> tuple[list[date], list[float]]:
    """For each of the last RATE_DAYS local days: share of candidates with an interaction."""
    tz = ctx.tz
    days = [ctx.today - timedelta(days=n) for n in range(RATE_DAYS - 1, -1, -1)]
    since = datetime.combine(days[0], time(0), tzinfo=tz)
    active: dict[date, set[int]] = {d: set() for d in days}
    for cid, at in await reports.interaction_times(
        session=ctx.session, candidate_ids=scope_ids, since=since
    ):
        day = at.astimezone(tz).date()
        if day in active:
            active[day].add(cid)
    known = {c.id for c in candidates}
    created = [c.created_at.astimezone(tz).date() for c in candidates]
    rates = []
    for day in days:
        existing = sum(1 for d in created if d <= day)
        rates.append(len(active[day] & known) / existing if existing else 0.0)
    return days, rates


def reneging_reasons(
    ctx: Context, candidates: Sequence[Candidate], results: Sequence[Outcome]
) -> list[tuple[str, int]]:
    """Reasons from reneged outcomes (as HR wrote them) and declined offers, most common first."""
    counts: Counter[str] = Counter()
    reneged = set()
    for outcome in results:
        if outcome.outcome == outcomes.RENEGED:
            counts[(outcome.reason or ctx.t("stats.reason_unknown")).strip()] += 1
            reneged.add(outcome.candidate_id)
    for candidate in candidates:
        if candidate.offer_status == OfferStatus.DECLINED.value and candidate.id not in reneged:
            code = candidate.offer_decline_reason or "other"
            counts[ctx.t(f"offer.reason.{code}")] += 1
    top = counts.most_common(TOP_REASONS)
    rest = sum(counts.values()) - sum(n for _, n in top)
    if rest:
        top.append((ctx.t("stats.reason_rest"), rest))
    return top
