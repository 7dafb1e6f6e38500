"""Score history: newest per candidate, history windows, and the calibration rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.clock import FixedClock
from storage import outcomes, scores
from storage.db import Database
from storage.models import ScoreSnapshot
from tests.storage.factories import make_candidate, pk


def _snapshot(candidate_id: int, at: datetime, score: int, band: str = "medium") -> ScoreSnapshot:
    return ScoreSnapshot(
        candidate_id=candidate_id,
        at=at,
        score=score,
        band=band,
        interaction=score,
        training=score - 1,
        feedback=score - 2,
        completeness=score - 3,
        external=score - 4,
        reasons=[{"code": "silent", "days": 4}],
    )


async def test_save_keeps_every_field(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now))
        saved = await scores.save(session=session, snapshot=_snapshot(cid, now, 70, "high"))
    assert saved.id is not None
    async with database.session() as session:
        stored = await session.get(ScoreSnapshot, pk(saved))
    assert stored is not None
    assert (stored.candidate_id, stored.at, stored.score, stored.band) == (cid, now, 70, "high")
    assert (stored.interaction, stored.training, stored.feedback) == (70, 69, 68)
    assert (stored.completeness, stored.external) == (67, 66)
    assert stored.reasons == [{"code": "silent", "days": 4}]


async def test_latest_per_candidate(database: Database, clock: FixedClock) -> None:
    t0 = clock.now()
    async with database.session() as session:
        a = pk(await make_candidate(session, now=t0, name="甲"))
        b = pk(await make_candidate(session, now=t0, name="乙"))
        c = pk(await make_candidate(session, now=t0, name="丙"))
        for day, score in enumerate((50, 60, 55)):
            await scores.save(
                session=session, snapshot=_snapshot(a, t0 + timedelta(days=day), score)
            )
        await scores.save(session=session, snapshot=_snapshot(b, t0, 80))
    async with database.session() as session:
        everyone = await scores.latest(session=session)
        only_b_c = await scores.latest(session=session, candidate_ids=[b, c])
        nobody = await scores.latest(session=session, candidate_ids=[])
        newest_a = await scores.latest_of(session=session, candidate_id=a)
        newest_c = await scores.latest_of(session=session, candidate_id=c)
    assert {cid: s.score for cid, s in everyone.items()} == {a: 55, b: 80}
    assert everyone[a].at == t0 + timedelta(days=2)
    assert {cid: s.score for cid, s in only_b_c.items()} == {b: 80}
    assert nobody == {}
    assert newest_a is not None and newest_a.score == 55
    assert newest_c is None


async def test_history_since_oldest_first(database: Database, clock: FixedClock) -> None:
    t0 = clock.now()
    async with database.session() as session:
        a = pk(await make_candidate(session, now=t0, name="甲"))
        b = pk(await make_candidate(session, now=t0, name="乙"))
        # Saved out of order; two at the same time keep their save order.
        for hours, score in ((48, 3), (0, 1), (24, 2), (24, 22)):
            await scores.save(
                session=session, snapshot=_snapshot(a, t0 + timedelta(hours=hours), score)
            )
        await scores.save(session=session, snapshot=_snapshot(b, t0 + timedelta(hours=30), 9))
    async with database.session() as session:
        full = await scores.history(session=session, candidate_id=a, since=t0)
        recent = await scores.history(session=session, candidate_id=a, since=t0 + timedelta(days=1))
        future = await scores.history(session=session, candidate_id=a, since=t0 + timedelta(days=3))
    assert [s.score for s in full] == [1, 2, 22, 3]
    assert [s.score for s in recent] == [2, 22, 3]  # ``since`` is inclusive
    assert list(future) == []


async def test_calibration_rows_list_outcomes_in_time_order(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        a = pk(await make_candidate(session, now=t0, name="甲"))
        b = pk(await make_candidate(session, now=t0, name="乙"))
        assert await scores.calibration_rows(session=session) == []
        await outcomes.record_outcome(
            session=session,
            candidate_id=a,
            outcome=outcomes.RENEGED,
            reason=None,
            department=None,
            recorded_by=None,
            score=None,
            features={},
            now=t0 + timedelta(days=2),
        )
        await outcomes.record_outcome(
            session=session,
            candidate_id=b,
            outcome=outcomes.JOINED,
            reason=None,
            department="研发中心",
            recorded_by=None,
            score=81,
            features={"interaction": 90, "training": 70},
            now=t0 + timedelta(days=1),
        )
    async with database.session() as session:
        rows = await scores.calibration_rows(session=session)
    assert rows == [
        ("joined", 81, {"interaction": 90, "training": 70}),
        ("reneged", None, {}),
    ]
