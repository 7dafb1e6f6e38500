"""Report queries: last interactions and interaction times, scoped to candidates or not."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FixedClock
from storage import reports
from storage.db import Database
from storage.interactions import record_interaction
from tests.storage.factories import make_candidate, make_identity, make_staff, pk


async def test_last_interactions_and_times(database: Database, clock: FixedClock) -> None:
    t0 = clock.now()
    async with database.session() as session:
        a = pk(await make_candidate(session, now=t0, name="a"))
        b = pk(await make_candidate(session, now=t0, name="b"))
        quiet = pk(await make_candidate(session, now=t0, name="q"))
        acc_a = await make_identity(session, now=t0, user_id="a", candidate_id=a)
        acc_b = await make_identity(session, now=t0, user_id="b", candidate_id=b)
        staff = await make_identity(
            session, now=t0, user_id="s", staff_id=pk(await make_staff(session, now=t0))
        )
        for identity, hours in ((acc_a, 5), (acc_a, 1), (acc_b, 3), (staff, 9), (acc_a, -30)):
            await record_interaction(
                session=session,
                identity=identity,
                kind="message",
                detail="",
                at=t0 + timedelta(hours=hours),
            )
    async with database.session() as session:
        last_all = await reports.last_interactions(session=session, candidate_ids=None)
        last_some = await reports.last_interactions(session=session, candidate_ids=[b, quiet])
        last_none = await reports.last_interactions(session=session, candidate_ids=[])
        times_all = await reports.interaction_times(session=session, candidate_ids=None, since=t0)
        times_a = await reports.interaction_times(
            session=session, candidate_ids=iter([a, a]), since=t0 + timedelta(hours=1)
        )
        times_none = await reports.interaction_times(session=session, candidate_ids=[], since=t0)
    # Staff activity never counts; a candidate without interactions is absent.
    assert last_all == {a: t0 + timedelta(hours=5), b: t0 + timedelta(hours=3)}
    assert last_some == {b: t0 + timedelta(hours=3)}
    assert last_none == {}
    assert list(times_all) == [
        (a, t0 + timedelta(hours=1)),
        (b, t0 + timedelta(hours=3)),
        (a, t0 + timedelta(hours=5)),
    ]
    assert list(times_a) == [(a, t0 + timedelta(hours=1)), (a, t0 + timedelta(hours=5))]
    assert list(times_none) == []
