"""Outcomes: insert or replace, expiring scheduled messages, and the lists built on them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.core.clock import FixedClock
from storage import outbox, outcomes
from storage.db import Database
from storage.models import Outbox, Outcome
from tests.storage.factories import make_candidate, make_staff, pk


async def test_record_outcome_validates_inserts_then_replaces(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        hr = pk(await make_staff(session, now=t0))
        cid = pk(await make_candidate(session, now=t0))
        assert await outcomes.get_outcome(session=session, candidate_id=cid) is None
        features = {"interaction": 40}
        row, created = await outcomes.record_outcome(
            session=session,
            candidate_id=cid,
            outcome=outcomes.RENEGED,
            reason="r" * 600,
            department="研发中心",
            recorded_by=hr,
            score=35,
            features=features,
            now=t0,
        )
        features["interaction"] = 0  # the row keeps its own copy
    assert created
    assert row.outcome == "reneged" and row.reason == "r" * 500
    assert row.features == {"interaction": 40}
    t1 = t0 + timedelta(days=1)
    async with database.session() as session:
        with pytest.raises(ValueError, match="unknown outcome"):
            await outcomes.record_outcome(
                session=session,
                candidate_id=cid,
                outcome="forgotten",  # only /forget writes that, never through here
                reason=None,
                department=None,
                recorded_by=None,
                score=None,
                features={},
                now=t1,
            )
        again, created_again = await outcomes.record_outcome(
            session=session,
            candidate_id=cid,
            outcome=outcomes.JOINED,
            reason="",
            department=None,
            recorded_by=None,
            score=None,
            features={},
            now=t1,
        )
    assert not created_again
    assert again.id == row.id
    async with database.session() as session:
        stored = await outcomes.get_outcome(session=session, candidate_id=cid)
        count = len((await session.exec(select(Outcome))).all())
    assert count == 1
    assert stored is not None
    assert (stored.outcome, stored.reason, stored.department) == ("joined", None, None)
    assert (stored.recorded_by, stored.score, stored.features, stored.at) == (None, None, {}, t1)


async def test_record_outcome_expires_only_pending_scheduled_messages(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now, name="甲"))
        other = pk(await make_candidate(session, now=now, name="乙"))
        rows: dict[str, int] = {}
        for name, candidate, category in (
            ("push", cid, "push"),
            ("reminder", cid, "reminder"),
            ("broadcast", cid, "broadcast"),
            ("alert", cid, "alert"),
            ("reply", cid, None),
            ("sent_push", cid, "push"),
            ("other_push", other, "push"),
        ):
            row_id = await outbox.enqueue(
                session=session,
                kind="text",
                payload={},
                due_at=now + timedelta(days=1),
                now=now,
                candidate_id=candidate,
                category=category,
            )
            assert row_id is not None
            rows[name] = row_id
        await outbox.mark_sent(session=session, row_id=rows["sent_push"], now=now)
    async with database.session() as session:
        await outcomes.record_outcome(
            session=session,
            candidate_id=cid,
            outcome=outcomes.JOINED,
            reason=None,
            department=None,
            recorded_by=None,
            score=None,
            features={},
            now=now,
        )
    async with database.session() as session:
        stored = {r.id: r for r in (await session.exec(select(Outbox))).all()}
    assert {name: stored[row_id].status for name, row_id in rows.items()} == {
        "push": "expired",
        "reminder": "expired",
        "broadcast": "pending",
        "alert": "pending",
        "reply": "pending",
        "sent_push": "sent",
        "other_push": "pending",
    }
    assert stored[rows["push"]].last_error == "outcome recorded"
    assert stored[rows["broadcast"]].last_error is None


async def test_list_outcomes_and_candidates_with_outcome(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        a = pk(await make_candidate(session, now=t0, name="甲"))
        b = pk(await make_candidate(session, now=t0, name="乙"))
        c = pk(await make_candidate(session, now=t0, name="丙"))
        for cid, outcome, days in ((a, outcomes.JOINED, 3), (b, outcomes.RENEGED, 1)):
            await outcomes.record_outcome(
                session=session,
                candidate_id=cid,
                outcome=outcome,
                reason=None,
                department=None,
                recorded_by=None,
                score=None,
                features={},
                now=t0 + timedelta(days=days),
            )
        # An anonymous outcome (left behind by /forget).
        session.add(Outcome(candidate_id=None, outcome="forgotten", at=t0 + timedelta(days=2)))
    async with database.session() as session:
        every = await outcomes.list_outcomes(session=session)
        some = await outcomes.list_outcomes(session=session, candidate_ids=[a, c])
        none = await outcomes.list_outcomes(session=session, candidate_ids=[])
        with_all = await outcomes.candidates_with_outcome(session=session)
        with_some = await outcomes.candidates_with_outcome(session=session, candidate_ids=[b, c])
        with_none = await outcomes.candidates_with_outcome(session=session, candidate_ids=[])
    assert [(o.candidate_id, o.outcome) for o in every] == [
        (b, "reneged"),
        (None, "forgotten"),
        (a, "joined"),
    ]
    assert [o.candidate_id for o in some] == [a]
    assert list(none) == []
    assert with_all == {a, b}
    assert with_some == {b}
    assert with_none == set()
