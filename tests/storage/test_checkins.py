"""Weekly check-in answers: one per candidate and week, the last tap wins."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.core.clock import FixedClock
from storage import checkins
from storage.db import Database
from tests.storage.factories import make_candidate, pk

MONDAY = date(2026, 6, 1)


async def test_one_answer_a_week_and_the_last_wins(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now))
        other = pk(await make_candidate(session, now=now, name="李四"))
        assert await checkins.record_checkin(
            session=session, candidate_id=cid, week=MONDAY, answer="fine", now=now
        )
    async with database.session() as session:
        later = now + timedelta(hours=1)
        assert not await checkins.record_checkin(
            session=session, candidate_id=cid, week=MONDAY, answer="worried", now=later
        )
        next_week = MONDAY + timedelta(days=7)
        await checkins.record_checkin(
            session=session,
            candidate_id=cid,
            week=next_week,
            answer="question",
            now=now + timedelta(days=7),
        )
        await checkins.record_checkin(
            session=session, candidate_id=other, week=MONDAY, answer="fine", now=now
        )
    async with database.session() as session:
        found = await checkins.checkins_since(session=session, candidate_ids=[cid], since=now)
        recent = await checkins.checkins_since(
            session=session, candidate_ids=[cid, other], since=now + timedelta(days=1)
        )
    assert [(c.week, c.answer) for c in found] == [(MONDAY, "worried"), (next_week, "question")]
    assert [c.answer for c in recent] == ["question"]


async def test_unknown_answers_are_refused(database: Database, clock: FixedClock) -> None:
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=clock.now()))
        with pytest.raises(ValueError):
            await checkins.record_checkin(
                session=session, candidate_id=cid, week=MONDAY, answer="maybe", now=clock.now()
            )
