"""The push planner's rules (issue #5): what one candidate gets now, decided without queries.

:func:`decide` applies the state checks, spacing, silence, mute, the weekly cap and the
one-reminder-a-day rule to a candidate's due occurrences and picks the best unreceived
items (:func:`ranked_items`). The planner (bot/pushes/planner.py) reads the state and
writes what this decides; the rules are described in docs/pushes.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.context import Services
from bot.pushes.composer import MANAGER_WELCOME_ITEM, is_digest
from bot.pushes.slots import CAP_WINDOW, Occurrence, offer_fits, upcoming_promises, welcome_days
from bot.pushes.variables import profile_of
from content.audience import Profile, match
from content.models import ContentItem, JourneySlot
from storage.models import Candidate, OutboxCategory, WelcomeMessage
from storage.pushes import ScheduledRow

MAX_NEWS = 3
# Between binding (whose replies already welcome) and the first push, and between pushes.
MIN_GAP = timedelta(hours=2)

# ---- what to send ----------------------------------------------------------------------------


def ranked_items(
    items: Sequence[ContentItem], profile: Profile, today: date, received: set[str]
) -> list[ContentItem]:
    """The items the candidate may get, best first: (specificity, priority), then id.

    Items already received are left out, except ``repeat`` ones, which come after the
    unreceived, taking turns by week."""
    scored: list[tuple[tuple[int, int, int, str], ContentItem]] = []
    turn = today.toordinal() // 7  # recurring items take turns week by week
    repeats = sorted(item.id for item in items if item.repeat)
    for item in items:
        again = 0
        if item.id in received:
            if not item.repeat:
                continue
            again = 1 + (repeats.index(item.id) - turn) % len(repeats)
        if not item.available(today):
            continue
        if item.action == "offer" and profile.offer_awaiting is False:
            continue  # no "please confirm your offer" once it is answered
        specificity = match(item.audience, profile)
        if specificity is not None:
            scored.append(((again, -specificity, -item.priority, item.id), item))
    return [item for _, item in sorted(scored, key=lambda pair: pair[0])]


@dataclass(frozen=True, slots=True)
class Planned:
    """What one occurrence will send (items best first; the first that renders is used)."""

    occurrence: Occurrence
    category: str
    due_at: datetime
    items: tuple[ContentItem, ...] = ()
    frame: ContentItem | None = None  # digests only
    welcome: WelcomeMessage | None = None


@dataclass(slots=True)
class CandidateState:
    """What the limits and the item choice look at, for one candidate."""

    received: set[str]
    rows: list[ScheduledRow]
    welcome: WelcomeMessage | None = None
    # Titles of documents still missing; None while not looked up (then assumed some are).
    missing_documents: list[str] | None = None


@dataclass(slots=True)
class Library:
    """The content items by trigger, built once per tick."""

    by_trigger: dict[str, list[ContentItem]] = field(default_factory=dict)
    by_id: dict[str, ContentItem] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Sequence[ContentItem]) -> Library:
        library = cls()
        for item in items:
            library.by_id[item.id] = item
            if item.trigger is not None:
                library.by_trigger.setdefault(item.trigger, []).append(item)
        return library


def category_of(slot: JourneySlot) -> str:
    """REMINDER for transactional slots, PUSH for the rest."""
    return (OutboxCategory.REMINDER if slot.transactional else OutboxCategory.PUSH).value


def held_back(
    candidate: Candidate,
    slot: JourneySlot,
    rows: Sequence[ScheduledRow],
    due_at: datetime,
    tz: ZoneInfo,
    weekly_cap: int,
) -> bool:
    """Whether mute, the weekly cap or the one-reminder-a-day rule stops a row due at ``due_at``.

    Reminders: another REMINDER row on the same local day. Other pushes: /mute, or
    another PUSH row the same local day, or ``weekly_cap`` PUSH rows due in the 7 days
    before ``due_at`` (or later); date-bound ones only by /mute.
    """
    category = category_of(slot)
    if slot.transactional:
        day = due_at.astimezone(tz).date()
        return any(r.category == category and r.due_at.astimezone(tz).date() == day for r in rows)
    if candidate.muted_at is not None:
        return True
    if slot.date_bound:
        return False
    day = due_at.astimezone(tz).date()
    if any(r.category == category and r.due_at.astimezone(tz).date() == day for r in rows):
        return True  # one ordinary push a day: the week's messages are spread out
    return _pushes_within(rows, due_at) >= weekly_cap


def _pushes_within(rows: Sequence[ScheduledRow], at: datetime) -> int:
    """PUSH rows due in the CAP_WINDOW up to ``at`` (and any due later)."""
    since = at - CAP_WINDOW
    return sum(1 for r in rows if r.category == OutboxCategory.PUSH.value and r.due_at > since)


def makes_room(
    rows: Sequence[ScheduledRow], due_at: datetime, promises: Sequence[datetime], cap: int
) -> bool:
    """Whether an ordinary push at ``due_at`` would leave a date-bound one of ``promises``
    over the weekly cap: then it waits (or lapses) instead."""
    return any(
        _pushes_within(rows, promise)
        + 1
        + sum(1 for p in promises if promise - CAP_WINDOW < p <= promise)
        > cap
        for promise in promises
        if promise - CAP_WINDOW < due_at
    )


def silence_of(services: Services) -> timedelta:
    """How old a candidate's latest row may get before a push goes past the cap: a day
    less than PUSH_MAX_SILENCE_DAYS, the day it may take to arrive (quiet hours)."""
    return timedelta(days=services.settings.push_max_silence_days - 1)


def breaks_silence(
    candidate: Candidate,
    slot: JourneySlot,
    rows: Sequence[ScheduledRow],
    due_at: datetime,
    silence: timedelta,
) -> bool:
    """Whether a push held back by the weekly cap goes anyway: the candidate's latest
    scheduled row is ``silence`` old (PUSH_MAX_SILENCE_DAYS less the day it may take to
    arrive) and they have not muted pushes."""
    if slot.transactional or candidate.muted_at is not None:
        return False
    latest = max((r.due_at for r in rows), default=None)
    if latest is None:
        latest = candidate.bound_at
    return latest is not None and due_at - latest >= silence


def spaced(candidate: Candidate, rows: Sequence[ScheduledRow], now: datetime) -> datetime:
    """When a new push may go: now, but at least MIN_GAP after binding and after the
    candidate's latest scheduled row (two pushes never arrive in the same minute)."""
    due_at = now
    if candidate.bound_at is not None:
        due_at = max(due_at, candidate.bound_at + MIN_GAP)
    for row in rows:
        due_at = max(due_at, row.due_at + MIN_GAP)
    return due_at


def decide(
    candidate: Candidate,
    due: Sequence[Occurrence],
    state: CandidateState,
    library: Library,
    services: Services,
    now: datetime,
    tz: ZoneInfo,
) -> list[Planned]:
    """Apply mute, the weekly cap and one reminder a day; choose items. Nothing is written."""
    assert candidate.id is not None
    today = now.astimezone(tz).date()
    profile = profile_of(candidate)
    received = set(state.received)
    rows = list(state.rows)
    cap = services.settings.push_weekly_cap
    silence = silence_of(services)
    promises = upcoming_promises(
        candidate, services.content.journey, now, tz, welcome_days(state.welcome, tz)
    )
    plans: list[Planned] = []
    order = sorted(
        due,
        key=lambda o: (
            not o.slot.transactional,
            not o.slot.date_bound,
            -o.slot.priority,
            o.due,
            o.key,
        ),
    )
    for occurrence in order:
        slot = occurrence.slot
        if slot.when_missing_documents and state.missing_documents == []:
            continue
        if not offer_fits(slot, candidate):
            continue
        due_at = spaced(candidate, rows, now)  # the courier holds it back in quiet hours
        if not breaks_silence(candidate, slot, rows, due_at, silence):
            if held_back(candidate, slot, rows, due_at, tz, cap):
                continue
            if not (slot.date_bound or slot.transactional) and makes_room(
                rows, due_at, promises, cap
            ):
                continue
        category = category_of(slot)
        plan = _choose(occurrence, category, due_at, state, library, profile, today, received)
        if plan is None:
            continue
        plans.append(plan)
        rows.append(ScheduledRow(candidate.id, category, due_at))
        received.update(item.id for item in plan.items)
        if plan.welcome is not None:
            received.add(MANAGER_WELCOME_ITEM)
    return plans


def _choose(
    occurrence: Occurrence,
    category: str,
    due_at: datetime,
    state: CandidateState,
    library: Library,
    profile: Profile,
    today: date,
    received: set[str],
) -> Planned | None:
    slot = occurrence.slot
    if slot.anchor == "manager_welcome" or slot.prefer_manager_welcome:
        if state.welcome is not None and MANAGER_WELCOME_ITEM not in received:
            return Planned(occurrence, category, due_at, welcome=state.welcome)
        if slot.anchor == "manager_welcome":
            return None
    ranked = ranked_items(library.by_trigger.get(slot.id, []), profile, today, received)
    if is_digest(slot):
        if not ranked:
            return None
        frame = library.by_id.get(slot.digest) if slot.digest else None
        return Planned(occurrence, category, due_at, items=tuple(ranked[:MAX_NEWS]), frame=frame)
    if not ranked:
        return None
    return Planned(occurrence, category, due_at, items=tuple(ranked))
