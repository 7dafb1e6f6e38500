"""Course results: the first start, attempts, the best score and points on the first pass."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FixedClock
from storage import courses
from storage.db import Database
from tests.storage.factories import make_candidate, pk


async def test_start_keeps_the_first_start(database: Database, clock: FixedClock) -> None:
    t0 = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=t0))
        assert (
            await courses.get_course_result(session=session, candidate_id=cid, course_id="culture")
            is None
        )
        first = await courses.start_course_attempt(
            session=session, candidate_id=cid, course_id="culture", now=t0
        )
        again = await courses.start_course_attempt(
            session=session, candidate_id=cid, course_id="culture", now=t0 + timedelta(hours=1)
        )
    assert again.id == first.id
    assert again.started_at == t0
    assert (again.attempts, again.score, again.passed, again.completed_at) == (0, 0, False, None)
    async with database.session() as session:
        done, awarded = await courses.record_course_attempt(
            session=session,
            candidate_id=cid,
            course_id="culture",
            score=0,
            total=10,
            passing_score=6,
            points=20,
            now=t0 + timedelta(hours=2),
        )
    # A first attempt's score counts even when it is zero; the start stays the first one.
    assert (done.id, done.attempts, done.score, done.total, awarded) == (first.id, 1, 0, 10, 0)
    assert done.started_at == t0 and not done.passed


async def test_attempts_keep_the_best_score_and_award_points_once(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=t0))
        other = pk(await make_candidate(session, now=t0, name="李四"))

        async def attempt(score: int, hours: int, candidate: int = cid) -> tuple[int, int]:
            result, awarded = await courses.record_course_attempt(
                session=session,
                candidate_id=candidate,
                course_id="culture",
                score=score,
                total=10,
                passing_score=6,
                points=20,
                now=t0 + timedelta(hours=hours),
            )
            return result.score, awarded

        assert await attempt(4, 0) == (4, 0)
        assert await attempt(3, 1) == (4, 0)  # a worse try keeps the best
        assert await attempt(7, 2) == (7, 20)  # the first pass awards the points
        assert await attempt(9, 3) == (9, 0)  # passing again awards nothing
        assert await attempt(6, 4) == (9, 0)
        assert await attempt(8, 5, other) == (8, 20)
    async with database.session() as session:
        stored = await courses.get_course_result(
            session=session, candidate_id=cid, course_id="culture"
        )
        all_of = await courses.course_results_of(session=session, candidate_id=cid)
        none = await courses.course_results_of(session=session, candidate_id=other + 1)
    assert stored is not None
    assert (stored.attempts, stored.score, stored.total, stored.passed) == (5, 9, 10, True)
    assert stored.points_awarded == 20
    assert stored.started_at == t0  # no explicit start: the first attempt's time
    assert stored.completed_at == t0 + timedelta(hours=2)  # when it was first passed
    assert [r.course_id for r in all_of] == ["culture"]
    assert list(none) == []
