"""Keeping stability scores fresh (issue #6): daily, and after each interaction
(batched after the message's commit: :func:`after_interaction`, :func:`rescore`).

:func:`refresh` scores candidates and saves a :class:`ScoreSnapshot` (the history);
when a candidate enters the high-risk band their HR gets an alert at once, through
the outbox, at most once per candidate and local day (on working days: at a weekend
Monday's digest lists them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.context import Context, Services
from bot.core.messages import Button, Outgoing
from bot.core.quiet import is_weekend
from bot.people.approvals import alert_staff
from bot.scoring import signals
from bot.scoring.model import Score, Thresholds, compute
from bot.scoring.standing import unscored
from bot.scoring.wording import action_text, reasons_text
from storage import people, scores
from storage import signals as signal_rows
from storage.db import Database
from storage.models import Candidate, Role, ScoreSnapshot

log = logging.getLogger(__name__)

DAILY_BATCH = 500  # candidates per transaction in the daily run
RESCORE = "rescore"  # the deferred job re-scoring candidates after their messages
RESCORE_LOOKBACK = timedelta(days=2)
SAME_SNAPSHOT_WINDOW = timedelta(hours=1)  # an unchanged score is not saved again within this


def _same(snapshot: ScoreSnapshot, score: Score) -> bool:
    return (
        snapshot.score == score.score
        and snapshot.band == score.band
        and snapshot.reasons == score.reasons
        and all(getattr(snapshot, name) == value for name, value in score.indicators.items())
    )


async def refresh_many(
    session: AsyncSession,
    services: Services,
    candidates: Sequence[Candidate],
    now: datetime,
    *,
    force: bool = False,
    keep: bool = True,
) -> dict[int, ScoreSnapshot]:
    """Score ``candidates`` and save a snapshot each; alert HR on entering the high band.

    Without ``force``, a score identical to the latest snapshot of the last hour is not
    saved again (that snapshot is returned). Without ``keep`` (the daily run) the
    snapshots are written as plain rows, none is returned, and no table object is built
    but for an alert.
    """
    if not candidates:
        return {}
    settings = services.settings
    content = services.content
    required = {
        c.id: frozenset(i.id for i in content.checklists.items_for(c.department, c.position))
        for c in candidates
        if c.id is not None
    }
    gathered = await signals.gather(
        session=session,
        candidates=candidates,
        now=now,
        required_items=required,
        courses_assigned=len(content.courses),
        tz=settings.timezone,
    )
    previous = await scores.latest(session=session, candidate_ids=list(gathered))
    thresholds = Thresholds.from_settings(settings)
    weights = settings.score_weights
    saved: dict[int, ScoreSnapshot] = {}
    weekend = is_weekend(now, settings)
    today = now.astimezone(settings.timezone).date()
    fresh: list[tuple[Candidate, dict[str, Any], ScoreSnapshot | None]] = []
    for candidate in candidates:
        assert candidate.id is not None
        score = compute(gathered[candidate.id], weights, thresholds)
        before = previous.get(candidate.id)
        if (
            not force
            and before is not None
            and now - before.at < SAME_SNAPSHOT_WINDOW
            and _same(before, score)
        ):
            saved[candidate.id] = before
            continue
        row: dict[str, Any] = {
            "candidate_id": candidate.id,
            "at": now,
            "score": score.score,
            "band": score.band,
            "reasons": score.reasons,
            **score.indicators,
        }
        fresh.append((candidate, row, before))
    if keep:
        snapshots = [ScoreSnapshot(**row) for _, row, _ in fresh]
        await scores.save_many(session=session, snapshots=snapshots)
        saved.update((s.candidate_id, s) for s in snapshots)
    else:
        await scores.add_rows(session=session, rows=[row for _, row, _ in fresh])
    for candidate, row, before in fresh:
        assert candidate.id is not None
        entered_high = row["band"] == "high" and (before is None or before.band != "high")
        # At a weekend Monday's digest lists them; nobody is paged on a Sunday for this.
        if entered_high and unscored(candidate, today=today) is None and not weekend:
            snapshot = saved.get(candidate.id) or ScoreSnapshot(**row)
            await alert_high_risk(session, services, candidate, snapshot, now)
    return saved


async def refresh(
    session: AsyncSession,
    services: Services,
    candidate: Candidate,
    now: datetime,
    *,
    force: bool = False,
) -> ScoreSnapshot:
    """Score one candidate now and save the snapshot (see :func:`refresh_many`)."""
    assert candidate.id is not None
    return (await refresh_many(session, services, [candidate], now, force=force))[candidate.id]


async def alert_high_risk(
    session: AsyncSession,
    services: Services,
    candidate: Candidate,
    snapshot: ScoreSnapshot,
    now: datetime,
) -> int | None:
    """Queue the "entered the high-risk band" alert to the candidate's HR (once a day)."""
    if candidate.hr_id is None:
        return None
    hr = await people.get_staff(session=session, staff_id=candidate.hr_id)
    if hr is None:
        return None
    i18n = services.i18n
    lang = hr.language
    text = i18n.t(
        lang,
        "score.alert",
        name=candidate.name,
        department=candidate.department or "-",
        score=snapshot.score,
        reasons=reasons_text(i18n, lang, snapshot.reasons),
        action=action_text(i18n, lang, snapshot.reasons, name=candidate.name),
    )
    button = Button(i18n.t(lang, "score.alert_button"), f"st:{candidate.id}")
    day = now.astimezone(services.settings.timezone).date()
    return await alert_staff(
        session, hr, Outgoing(text, (button,)), f"score-high:{candidate.id}:{day.isoformat()}", now
    )


async def daily_recompute(db: Database, services: Services, now: datetime) -> None:
    """Score every active candidate once per local day (settings.timezone); from the
    day after their first day they are no longer scored (nor on /risk or in digests).

    Idempotent: candidates with a snapshot since local midnight are skipped, so
    running it on every tick, or in two processes, scores each one once a day.
    Batches of :data:`DAILY_BATCH` candidates, each in its own transaction.
    """
    since = signal_rows.local_midnight(now, services.settings.timezone)
    after_id = 0
    while True:
        async with db.session() as session:
            batch = await signal_rows.unscored_active(
                session=session,
                since=since,
                after_id=after_id,
                limit=DAILY_BATCH,
                today=now.astimezone(services.settings.timezone).date(),
            )
            if not batch:
                return
            await refresh_many(session, services, batch, now, force=True, keep=False)
        after_id = max(c.id or 0 for c in batch)


async def after_interaction(ctx: Context) -> None:
    """Note the candidate behind this message for re-scoring once it has committed
    (:func:`rescore`, batched with everyone else who wrote meanwhile)."""
    actor = ctx.actor
    candidate = actor.candidate
    if actor.role is not Role.CANDIDATE or candidate is None or candidate.id is None:
        return
    ctx.services.deferred.add(RESCORE, candidate.id)


async def rescore(db: Database, services: Services, candidate_ids: frozenset[int]) -> None:
    """Re-score these candidates (those still scored) in one transaction per batch."""
    now = services.clock.now()
    today = now.astimezone(services.settings.timezone).date()
    ids = sorted(candidate_ids)
    for start in range(0, len(ids), DAILY_BATCH):
        async with db.session() as session:
            batch = await signal_rows.active_among(
                session=session, candidate_ids=ids[start : start + DAILY_BATCH], today=today
            )
            await refresh_many(session, services, batch, now)


async def rescore_recent(db: Database, services: Services, now: datetime) -> None:
    """Re-score whoever interacted after their latest score (within
    :data:`RESCORE_LOOKBACK`): the catch-up for a process that died between a message's
    commit and its deferred re-scoring. Normally finds nobody."""
    today = now.astimezone(services.settings.timezone).date()
    after_id = 0
    while True:
        async with db.session() as session:
            batch = await signal_rows.interacted_since_scored(
                session=session,
                since=now - RESCORE_LOOKBACK,
                after_id=after_id,
                limit=DAILY_BATCH,
                today=today,
            )
            if not batch:
                return
            await refresh_many(session, services, batch, now)
        after_id = max(c.id or 0 for c in batch)
