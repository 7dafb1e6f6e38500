"""When journey slots are due for a candidate: pure date arithmetic, no queries.

A slot (content/journey.yaml) becomes an :class:`Occurrence` on a date: days after the
offer, training, onboarding date or document deadline; a weekday; a birthday; a
holiday; the day a manager's welcome reaches the department's newcomers. The planner
(bot/pushes/planner.py) decides what to send for the occurrences open now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.people.progress import journey_start
from content.calendar import china_holiday
from content.models import JourneySlot
from storage.models import Candidate, OfferStatus, WelcomeMessage

# Pushes within this window count against the weekly cap.
CAP_WINDOW = timedelta(days=7)

_DATE_ANCHORS = {
    "offer": "offer_date",
    "training": "training_date",
    "onboarding": "onboarding_date",
    "doc_deadline": "doc_deadline",
    "decision_day": "offer_delay_until",
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One slot on one date for one candidate: due from ``due`` until ``lapse``."""

    slot: JourneySlot
    key: str  # "team_intro", "weekly_news:2026-06-05", "birthday:2026", "mid_autumn:2026"
    day: date
    due: datetime
    lapse: datetime

    def dedupe_key(self, candidate_id: int) -> str:
        return f"push:{candidate_id}:{self.key}"


def _birthday_in(birthday: date, year: int) -> date:
    """This year's birthday; 29 February is celebrated on the 28th in other years."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def _slot_dates(
    slot: JourneySlot,
    candidate: Candidate,
    today: date,
    welcomes: Mapping[str, date],
    tz: ZoneInfo,
) -> Iterable[tuple[str, date]]:
    """(slot key, date) of every occurrence of ``slot`` that may be open around ``today``."""
    if slot.anchor == "manager_welcome":
        recorded = welcomes.get(candidate.department or "")
        if recorded is not None and candidate.offer_date is not None:
            day = max(candidate.offer_date + timedelta(days=slot.days), recorded)
            if candidate.bound_at is not None:
                day = max(day, candidate.bound_at.astimezone(tz).date())
            yield slot.id, day
    elif slot.anchor in _DATE_ANCHORS:
        base: date | None = getattr(candidate, _DATE_ANCHORS[slot.anchor])
        if slot.anchor == "offer":
            base = journey_start(candidate, tz)
        if base is not None:
            yield slot.id, base + timedelta(days=slot.days)
    elif slot.anchor in _SHARED_ANCHORS:
        yield from _shared_dates(slot, today)
    elif slot.anchor == "birthday":
        if candidate.birthday is None:
            return
        for year in (today.year - 1, today.year):
            yield f"{slot.id}:{year}", _birthday_in(candidate.birthday, year)


# Anchors whose dates are the same for everyone (on the same local day).
_SHARED_ANCHORS = frozenset({"weekly", "holiday"})


def _shared_dates(slot: JourneySlot, today: date) -> Iterable[tuple[str, date]]:
    """(slot key, date) of a weekly or holiday slot around ``today``."""
    if slot.anchor == "weekly":
        if slot.weekday is None:
            return
        latest = today - timedelta(days=(today.weekday() - WEEKDAYS.index(slot.weekday)) % 7)
        for weeks in range(slot.max_delay_days // 7 + 2):
            day = latest - timedelta(weeks=weeks)
            yield f"{slot.id}:{day.isoformat()}", day
    elif slot.anchor == "holiday" and slot.holiday:
        for year in (today.year - 1, today.year):
            found = china_holiday(slot.holiday, year)
            if found is not None:
                yield f"{slot.id}:{year}", found.day


def offer_fits(slot: JourneySlot, candidate: Candidate) -> bool:
    """Whether the offer state allows ``slot`` (when_accepted, when_offer_unanswered)."""
    if slot.when_accepted and candidate.offer_status != OfferStatus.ACCEPTED.value:
        return False
    return not (slot.when_offer_unanswered and candidate.offer_status != OfferStatus.OFFERED.value)


def due_on(slot: JourneySlot, day: date, tz: ZoneInfo) -> datetime:
    """When ``slot`` is due on ``day``: its ``at``, local time."""
    hour, minute = (int(part) for part in slot.at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def occurrences(
    candidate: Candidate,
    journey: Sequence[JourneySlot],
    now: datetime,
    tz: ZoneInfo,
    welcomes: Mapping[str, date] | None = None,
) -> list[Occurrence]:
    """The slot occurrences open at ``now``: due, and not yet lapsed.

    An occurrence is due at its date's ``at`` (local time) and lapses at the end
    of the local day ``max_delay_days`` after its date. Nothing is open from the
    candidate's first day on. ``welcomes``: the day each department's manager
    recorded their welcome (for the ``manager_welcome`` anchor). For many candidates
    at one moment, :class:`OpenSlots` does the same with less work.
    """
    return OpenSlots(journey, now).of(candidate, tz, welcomes)


@dataclass(frozen=True, slots=True)
class _ZoneDay:
    """The journey on one local day in one time zone: each slot with its open
    occurrences when they are the same for everyone (weekly, holiday), else None."""

    today: date
    slots: tuple[tuple[JourneySlot, tuple[Occurrence, ...] | None], ...]


class OpenSlots:
    """:func:`occurrences` for many candidates at one moment (the planner's tick).

    What does not depend on the candidate, the weekly and holiday occurrences and the
    local day, is worked out once per time zone; dates days away from being open are
    skipped before the exact check.
    """

    def __init__(self, journey: Sequence[JourneySlot], now: datetime) -> None:
        self.journey = journey
        self.now = now
        self._zones: dict[ZoneInfo, _ZoneDay] = {}

    def _zone(self, tz: ZoneInfo) -> _ZoneDay:
        zone = self._zones.get(tz)
        if zone is None:
            today = self.now.astimezone(tz).date()
            slots: list[tuple[JourneySlot, tuple[Occurrence, ...] | None]] = []
            for slot in self.journey:
                if slot.anchor in _SHARED_ANCHORS:
                    found: list[Occurrence] = []
                    for key, day in _shared_dates(slot, today):
                        self._add_if_open(found, slot, key, day, today, tz)
                    slots.append((slot, tuple(found)))
                else:
                    slots.append((slot, None))
            zone = self._zones[tz] = _ZoneDay(today, tuple(slots))
        return zone

    def _add_if_open(
        self,
        found: list[Occurrence],
        slot: JourneySlot,
        key: str,
        day: date,
        today: date,
        tz: ZoneInfo,
    ) -> None:
        # Most dates are days away from being open: skip them before the exact check
        # (a day's margin either way, so no time zone offset can make it wrong).
        ahead = (day - today).days
        if ahead > 1 or -ahead > slot.max_delay_days + 1:
            return
        due = due_on(slot, day, tz)
        lapse = datetime.combine(day + timedelta(days=slot.max_delay_days + 1), time(), tzinfo=tz)
        if due <= self.now < lapse:
            found.append(Occurrence(slot, key, day, due, lapse))

    def of(
        self, candidate: Candidate, tz: ZoneInfo, welcomes: Mapping[str, date] | None = None
    ) -> list[Occurrence]:
        """The candidate's occurrences open now, in journey order (see :func:`occurrences`)."""
        zone = self._zone(tz)
        today = zone.today
        if candidate.onboarding_date is not None and today >= candidate.onboarding_date:
            return []  # the journey ends on day one
        bases: dict[str, date | None] = {
            anchor: getattr(candidate, name) for anchor, name in _DATE_ANCHORS.items()
        }
        bases["offer"] = journey_start(candidate, tz)
        found: list[Occurrence] = []
        for slot, shared in zone.slots:
            if shared is not None:
                found.extend(shared)
            elif slot.anchor in bases:
                base = bases[slot.anchor]
                if base is not None:
                    self._add_if_open(
                        found, slot, slot.id, base + timedelta(days=slot.days), today, tz
                    )
            else:
                for key, day in _slot_dates(slot, candidate, today, welcomes or {}, tz):
                    self._add_if_open(found, slot, key, day, today, tz)
        return found


def welcome_days(welcome: WelcomeMessage | None, tz: ZoneInfo) -> dict[str, date]:
    """The local day a department's welcome was first recorded, for occurrences()."""
    if welcome is None:
        return {}
    return {welcome.department: welcome.created_at.astimezone(tz).date()}


def upcoming_promises(
    candidate: Candidate,
    journey: Sequence[JourneySlot],
    now: datetime,
    tz: ZoneInfo,
    welcomes: Mapping[str, date] | None = None,
) -> list[datetime]:
    """When the candidate's date-bound pushes of the next CAP_WINDOW are due (not yet open)."""
    ahead = (now + CAP_WINDOW).astimezone(tz).date()
    found = []
    for slot in journey:
        if not slot.date_bound or slot.transactional:
            continue
        if not offer_fits(slot, candidate):
            continue  # it will not be sent, so nothing makes room for it
        for _, day in _slot_dates(slot, candidate, ahead, welcomes or {}, tz):
            due = due_on(slot, day, tz)
            if now < due <= now + CAP_WINDOW:
                found.append(due)
    return found
