"""Survey answers: stored with empty texts as None, listed per candidate oldest first."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FixedClock
from storage.db import Database
from storage.surveys import add_survey_response, survey_responses_of
from tests.storage.factories import make_candidate, pk


async def test_add_survey_response_normalises_texts(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    ratings = {"hr": 5, "process": 4}
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now))
        full = await add_survey_response(
            session=session,
            candidate_id=cid,
            ratings=ratings,
            looking_forward="f" * 1200,
            open_questions="什么时候发工牌？",
            other_offers="yes",
            now=now,
        )
        ratings["hr"] = 1  # the response keeps its own copy
        bare = await add_survey_response(
            session=session,
            candidate_id=cid,
            ratings={},
            looking_forward="",
            open_questions=None,
            other_offers=None,
            now=now + timedelta(days=1),
        )
    assert full.id is not None and bare.id is not None
    async with database.session() as session:
        stored = await survey_responses_of(session=session, candidate_id=cid)
    assert [r.id for r in stored] == [full.id, bare.id]
    first, second = stored
    assert first.ratings == {"hr": 5, "process": 4}
    assert first.looking_forward == "f" * 1000
    assert first.open_questions == "什么时候发工牌？"
    assert first.other_offers == "yes" and first.created_at == now
    assert second.ratings == {}
    assert second.looking_forward is None and second.open_questions is None
    assert second.other_offers is None


async def test_survey_responses_of_orders_by_time_and_filters(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        a = pk(await make_candidate(session, now=t0, name="甲"))
        b = pk(await make_candidate(session, now=t0, name="乙"))
        for cid, days, rating in ((a, 3, 3), (a, 1, 1), (b, 2, 9), (a, 1, 11), (a, 2, 2)):
            await add_survey_response(
                session=session,
                candidate_id=cid,
                ratings={"overall": rating},
                looking_forward=None,
                open_questions=None,
                other_offers="no",
                now=t0 + timedelta(days=days),
            )
    async with database.session() as session:
        of_a = await survey_responses_of(session=session, candidate_id=a)
        of_b = await survey_responses_of(session=session, candidate_id=b)
        of_none = await survey_responses_of(session=session, candidate_id=b + 1)
    # By time; the same time in the order saved.
    assert [r.ratings["overall"] for r in of_a] == [1, 11, 2, 3]
    assert [r.ratings["overall"] for r in of_b] == [9]
    assert list(of_none) == []
