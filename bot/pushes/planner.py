"""The push planner (issue #5): decides, for each candidate, what to send and when.

Every tick it walks the plannable candidates in batches of :data:`BATCH_SIZE`. For a
batch it first reads, with a few queries and no locks, what the rules look at (the
slots already written, recent rows, receipts, documents, course results, welcomes,
staff names) and works out which journey slots are due (pure date arithmetic) and
what :func:`bot.pushes.rules.decide` would send. Only if someone gets something does
it open one write transaction for the batch: lock those candidates, re-read what was
written for them meanwhile, decide again, render (bot/pushes/composer.py) and write
the outbox rows and their receipts in one statement each. Once the batch has
committed its rows are handed to the courier (:data:`SEND_PLANNED`), so the first
messages leave while later batches are still being planned (issue #13).

The rules are described in docs/pushes.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.context import Services
from bot.core.zones import person_zone
from bot.pushes.composer import PushComposer
from bot.pushes.rules import (
    CandidateState,
    Library,
    breaks_silence,
    decide,
    held_back,
    silence_of,
)
from bot.pushes.slots import CAP_WINDOW, Occurrence, OpenSlots, welcome_days
from bot.pushes.variables import Readiness, readiness_of
from storage import pushes
from storage.db import Database
from storage.models import Candidate, WelcomeMessage
from storage.pushes import NewPush, Receipt, ScheduledRow

log = logging.getLogger(__name__)

BATCH_SIZE = 200
# After its slot lapses, a written row may still wait this long (e.g. for the morning).
EXPIRY_GRACE = timedelta(days=1)
# The deferred job (bot.core.deferred) the planner notes its new outbox row ids under
# after each batch's commit; the app registers the courier's sending for it. Unregistered,
# the rows wait for the tick's drain.
SEND_PLANNED = "send_planned"


@dataclass(frozen=True, slots=True)
class _Tick:
    """What every batch of one tick shares: the library by trigger, the open slots."""

    library: Library
    slots: OpenSlots


@dataclass(frozen=True, slots=True)
class _Known:
    """What a batch's read phase learnt, shared by its write phase: none of it needs the
    candidates' locks (a document uploaded meanwhile changes a reminder's list, no more)."""

    welcomes: dict[str, WelcomeMessage]
    readiness: dict[int, Readiness]
    names: dict[int, str]


async def plan_pushes(db: Database, services: Services, now: datetime) -> None:
    """Write outbox rows for every journey slot that is due, for every plannable candidate."""
    if not services.content.journey:
        return
    tick = _Tick(Library.of(services.content.items), OpenSlots(services.content.journey, now))
    written = 0
    after: int | None = 0
    while after is not None:
        async with db.session() as session:
            batch = await pushes.plannable_candidates(
                session=session, after_id=after, limit=BATCH_SIZE
            )
            after = batch[-1].id if len(batch) == BATCH_SIZE else None
            work, known = await _read_batch(session, services, tick, batch, now)
        if not work:
            continue
        ids = await _write_or_split(db, services, tick, work, known, now)
        written += len(ids)
        _hand_over(services, ids)
    if written:
        log.info("planned %d pushes", written)


def _hand_over(services: Services, row_ids: Sequence[int]) -> None:
    """Give committed rows to the courier now rather than at the end of the tick."""
    for row_id in row_ids:
        services.deferred.add(SEND_PLANNED, row_id)
    services.deferred.kick()


async def _write_or_split(
    db: Database,
    services: Services,
    tick: _Tick,
    work: Sequence[Candidate],
    known: _Known,
    now: datetime,
) -> list[int]:
    """Write the batch in one transaction; if that fails, each candidate in their own, so
    one candidate's problem does not hold back the others."""
    try:
        return await _write_batch(db, services, tick, work, known, now)
    except Exception:
        if len(work) == 1:
            log.exception("planning pushes for candidate %s failed", work[0].id)
            return []
        log.exception("planning pushes for %d candidates failed; one at a time", len(work))
    ids: list[int] = []
    for candidate in work:
        ids += await _write_or_split(db, services, tick, [candidate], known, now)
    return ids


def _zone(services: Services, candidate: Candidate) -> ZoneInfo:
    return person_zone(candidate, services.settings.default_timezone)


def _open_slots(
    services: Services, tick: _Tick, candidate: Candidate, welcomes: dict[str, WelcomeMessage]
) -> list[Occurrence]:
    tz = _zone(services, candidate)
    welcome = welcomes.get(candidate.department or "")
    return tick.slots.of(candidate, tz, welcome_days(welcome, tz))


async def _due_and_state(
    session: AsyncSession,
    services: Services,
    tick: _Tick,
    candidates: Sequence[Candidate],
    welcomes: dict[str, WelcomeMessage],
    now: datetime,
    *,
    prefilter: bool,
) -> tuple[dict[int, list[Occurrence]], dict[int, list[ScheduledRow]], dict[int, set[str]]]:
    """Each candidate's open slots not yet written (with ``prefilter``, only those not
    plainly held back), their rows of the cap window and their receipts (only for those
    with a slot left): two or three queries."""
    found: dict[int, list[Occurrence]] = {}
    for candidate in candidates:
        assert candidate.id is not None
        slots = _open_slots(services, tick, candidate, welcomes)
        if slots:
            found[candidate.id] = slots
    if not found:
        return {}, {}, {}
    used, rows = await pushes.scheduled_state(
        session=session,
        keys=[o.dedupe_key(cid) for cid, slots in found.items() for o in slots],
        candidate_ids=sorted(found),
        since=now - CAP_WINDOW,
    )
    due: dict[int, list[Occurrence]] = {}
    for candidate in candidates:
        cid = candidate.id
        if cid is None or cid not in found:
            continue
        if left := [o for o in found[cid] if o.dedupe_key(cid) not in used]:
            due[cid] = left
    if prefilter:
        due = _not_held_back(services, candidates, due, rows, now)
    received = await pushes.receipts_of(session=session, candidate_ids=sorted(due)) if due else {}
    return due, rows, received


def _not_held_back(
    services: Services,
    candidates: Sequence[Candidate],
    due: dict[int, list[Occurrence]],
    rows: dict[int, list[ScheduledRow]],
    now: datetime,
) -> dict[int, list[Occurrence]]:
    """The occurrences mute, the cap and one reminder a day do not stop now (or that
    break a silence): a cheap first sieve, so that the many candidates whose digest
    waits for next week cost no further reading on every tick."""
    cap = services.settings.push_weekly_cap
    silence = silence_of(services)
    left: dict[int, list[Occurrence]] = {}
    for candidate in candidates:
        cid = candidate.id
        if cid is None or cid not in due:
            continue
        tz = _zone(services, candidate)
        mine = rows[cid]
        if kept := [
            o
            for o in due[cid]
            if not held_back(candidate, o.slot, mine, now, tz, cap)
            or breaks_silence(candidate, o.slot, mine, now, silence)
        ]:
            left[cid] = kept
    return left


async def _read_batch(
    session: AsyncSession,
    services: Services,
    tick: _Tick,
    batch: Sequence[Candidate],
    now: datetime,
) -> tuple[list[Candidate], _Known]:
    """The candidates of a batch the rules would send something now, and what was read."""
    departments = sorted({c.department for c in batch if c.department})
    welcomes = (
        await pushes.welcomes_for(session=session, departments=departments) if departments else {}
    )
    due, rows, received = await _due_and_state(
        session, services, tick, batch, welcomes, now, prefilter=True
    )
    if not due:
        return [], _Known(welcomes, {}, {})
    docs, results = await pushes.readiness_rows(session=session, candidate_ids=sorted(due))
    readiness: dict[int, Readiness] = {}
    work: list[Candidate] = []
    default_language = services.settings.default_language
    for candidate in batch:
        cid = candidate.id
        if cid is None or cid not in due:
            continue
        lang = candidate.language or default_language
        readiness[cid] = readiness_of(services.content, candidate, lang, docs[cid], results[cid])
        welcome = welcomes.get(candidate.department or "")
        state = CandidateState(received[cid], rows[cid], welcome, readiness[cid].missing_documents)
        tz = _zone(services, candidate)
        if decide(candidate, due[cid], state, tick.library, services, now, tz):
            work.append(candidate)
    if not work:
        return [], _Known(welcomes, {}, {})
    staff_ids = {i for c in work for i in (c.manager_id, c.hr_id) if i is not None}
    staff_ids.update(w.staff_id for w in welcomes.values())
    names = await pushes.staff_names(session=session, staff_ids=sorted(staff_ids))
    return work, _Known(welcomes, readiness, names)


async def _write_batch(
    db: Database,
    services: Services,
    tick: _Tick,
    work: Sequence[Candidate],
    known: _Known,
    now: datetime,
) -> list[int]:
    """Under the candidates' locks: decide again on what is written now, render, write.

    Returns the ids of the outbox rows written, once they are committed.
    """
    settings = services.settings
    new_rows: list[NewPush] = []
    items_of: dict[str, tuple[int, list[str], str]] = {}  # dedupe key: candidate, items, slot
    async with db.session() as session:
        fresh = await pushes.lock_plannable(
            session=session, candidate_ids=[c.id for c in work if c.id is not None]
        )
        due, rows, received = await _due_and_state(
            session, services, tick, fresh, known.welcomes, now, prefilter=False
        )
        for candidate in fresh:
            cid = candidate.id
            if cid is None or cid not in due or cid not in known.readiness:
                continue
            tz = _zone(services, candidate)
            welcome = known.welcomes.get(candidate.department or "")
            readiness = known.readiness[cid]
            state = CandidateState(received[cid], rows[cid], welcome, readiness.missing_documents)
            plans = decide(candidate, due[cid], state, tick.library, services, now, tz)
            if not plans:
                continue
            composer = PushComposer.of(
                session,
                services,
                candidate,
                lang=candidate.language or settings.default_language,
                tz=tz,
                now=now,
                readiness=readiness,
                names=known.names,
            )
            for plan in plans:
                occurrence = plan.occurrence
                composed = await composer.compose(
                    occurrence.slot,
                    occurrence.day,
                    occurrence.lapse + EXPIRY_GRACE,
                    items=plan.items,
                    frame=plan.frame,
                    welcome=plan.welcome,
                )
                if composed is None:
                    continue
                key = occurrence.dedupe_key(cid)
                new_rows.append(
                    NewPush(
                        candidate_id=cid,
                        dedupe_key=key,
                        payload=composed.message.to_json(),
                        category=plan.category,
                        due_at=plan.due_at,
                        expires_at=composed.expires,
                    )
                )
                items_of[key] = (cid, composed.item_ids, occurrence.key)
        added = await pushes.add_pushes(session=session, rows=new_rows, now=now)
        await pushes.add_receipts_many(
            session=session,
            receipts=[
                Receipt(cid, item_id, slot, added[key])
                for key, (cid, item_ids, slot) in items_of.items()
                if key in added
                for item_id in item_ids
            ],
            now=now,
        )
    return sorted(added.values())
