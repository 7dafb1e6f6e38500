"""The score's raw rows: which candidates are active, and the facts gathered per candidate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.clock import FixedClock
from storage import courses, documents, outbox, outcomes, questions, scores, signals
from storage.db import Database
from storage.interactions import record_interaction
from storage.models import Candidate, OfferStatus, ScoreSnapshot
from storage.surveys import add_survey_response
from tests.storage.factories import make_candidate, make_identity, pk

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_start_of_and_local_midnight() -> None:
    created = datetime(2026, 6, 1, 2, tzinfo=UTC)
    imported = Candidate(name="x", created_at=created)
    assert signals.start_of(imported, SHANGHAI) == created
    later_offer = Candidate(name="x", created_at=created, offer_date=date(2026, 6, 3))
    # Midnight in Shanghai is 16:00 UTC the day before.
    assert signals.start_of(later_offer, SHANGHAI) == datetime(2026, 6, 2, 16, tzinfo=UTC)
    earlier_offer = Candidate(name="x", created_at=created, offer_date=date(2026, 5, 1))
    assert signals.start_of(earlier_offer, SHANGHAI) == created
    late_evening = datetime(2026, 6, 1, 17, tzinfo=UTC)  # 01:00 on June 2 in Shanghai
    assert signals.local_midnight(late_evening, SHANGHAI) == datetime(2026, 6, 1, 16, tzinfo=UTC)
    assert signals.local_midnight(late_evening, UTC) == datetime(2026, 6, 1, tzinfo=UTC)


async def test_active_among_and_unscored_active(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        a = pk(await make_candidate(session, now=now, name="a"))
        scored = pk(await make_candidate(session, now=now, name="s"))
        old_score = pk(await make_candidate(session, now=now, name="o"))
        pending = pk(
            await make_candidate(
                session, now=now, name="p", offer_status=OfferStatus.PENDING_APPROVAL
            )
        )
        declined = pk(
            await make_candidate(session, now=now, name="d", offer_status=OfferStatus.DECLINED)
        )
        forget = pk(await make_candidate(session, now=now, name="f", forget_requested_at=now))
        decided = pk(await make_candidate(session, now=now, name="j"))
        last = pk(
            await make_candidate(session, now=now, name="z", offer_status=OfferStatus.DELAYED)
        )
        for n, cid in enumerate((a, scored, old_score, pending, declined, forget, decided, last)):
            await make_identity(session, now=now, user_id=f"u{n}", candidate_id=cid)
        unbound = pk(await make_candidate(session, now=now, name="never bound"))
        await outcomes.record_outcome(
            session=session,
            candidate_id=decided,
            outcome=outcomes.RENEGED,
            reason=None,
            department=None,
            recorded_by=None,
            score=None,
            features={},
            now=now,
        )
        for cid, at in ((scored, now), (old_score, now - timedelta(seconds=1))):
            await scores.save(
                session=session,
                snapshot=ScoreSnapshot(
                    candidate_id=cid,
                    at=at,
                    score=50,
                    band="medium",
                    interaction=50,
                    training=50,
                    feedback=50,
                    completeness=50,
                    external=50,
                ),
            )
    async with database.session() as session:
        asked = (a, scored, pending, declined, forget, decided, last, unbound, unbound + 1)
        active = {c.id for c in await signals.active_among(session=session, candidate_ids=asked)}
        flags = {cid: cid in active for cid in asked}
        todo = await signals.unscored_active(session=session, since=now, after_id=0, limit=10)
        page = await signals.unscored_active(session=session, since=now, after_id=a, limit=1)
    assert flags == {
        a: True,
        scored: True,
        pending: False,
        declined: False,
        forget: False,
        decided: False,
        last: True,
        unbound: False,  # not reached yet: not scored
        unbound + 1: False,
    }
    assert [c.id for c in todo] == [a, old_score, last]
    assert [c.id for c in page] == [old_score]


async def test_gather_facts_reads_each_table_within_its_window(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    window_start = now - timedelta(days=7)
    sent_start = window_start - timedelta(days=2)
    drop_start = now - timedelta(days=7)
    async with database.session() as session:
        busy = await make_candidate(
            session,
            now=now - timedelta(days=20),
            name="busy",
            phone="+8613800000000",
            tags=["校招", "海外"],
            offer_status=OfferStatus.ACCEPTED,
        )
        idle = await make_candidate(session, now=now, name="idle", email="i@x.cn")
        cid = pk(busy)
        acc = await make_identity(session, now=now, user_id="busy", candidate_id=cid)
        for days, kind in ((-1, "message"), (-8, "tap"), (1, "click")):
            await record_interaction(
                session=session, identity=acc, kind=kind, detail="", at=now + timedelta(days=days)
            )
        for days in (-1, -8, -10):
            row_id = await outbox.enqueue(
                session=session, kind="text", payload={}, due_at=now, now=now, candidate_id=cid
            )
            assert row_id is not None
            await outbox.mark_sent(session=session, row_id=row_id, now=now + timedelta(days=days))
        await outbox.enqueue(
            session=session, kind="text", payload={}, due_at=now, now=now, candidate_id=cid
        )
        await courses.record_course_attempt(
            session=session,
            candidate_id=cid,
            course_id="culture",
            score=8,
            total=10,
            passing_score=6,
            points=10,
            now=now - timedelta(days=1),
        )
        for days, offers, forward in ((-3, "no", "见同事"), (-1, "yes", None)):
            await add_survey_response(
                session=session,
                candidate_id=cid,
                ratings={"hr": 4},
                looking_forward=forward,
                open_questions="团队氛围？",
                other_offers=offers,
                now=now + timedelta(days=days),
            )
        for days in (-2, -9):
            await questions.add_question(
                session=session,
                candidate_id=cid,
                text="?",
                faq_id=None,
                score=None,
                now=now + timedelta(days=days),
            )
        await documents.submit_document(
            session=session,
            candidate_id=cid,
            item="id_card",
            sha256="a" * 64,
            mime_type="image/png",
            size=1,
            file_name=None,
            now=now,
        )
        for days, value in ((-1, 61), (-8, 40), (0, 99)):
            await scores.save(
                session=session,
                snapshot=ScoreSnapshot(
                    candidate_id=cid,
                    at=now + timedelta(days=days),
                    score=value,
                    band="medium",
                    interaction=0,
                    training=0,
                    feedback=0,
                    completeness=0,
                    external=0,
                ),
            )
    async with database.session() as session:
        facts = await signals.gather_facts(
            session=session,
            candidates=[busy, idle],
            now=now,
            required_items={cid: frozenset({"id_card", "diploma"})},
            courses_assigned=3,
            tz=SHANGHAI,
            window_start=window_start,
            sent_start=sent_start,
            drop_start=drop_start,
        )
    got = facts[cid]
    assert got.start == now - timedelta(days=20)
    assert got.interactions == [(now - timedelta(days=1), "message")]
    assert got.last_interaction_at == now - timedelta(days=1)  # the future click is ignored
    assert sorted(got.sent_at) == [now - timedelta(days=8), now - timedelta(days=1)]
    assert got.courses_assigned == 3
    assert got.courses == [
        signals.CourseFact(
            passed=True,
            score=8,
            total=10,
            started_at=now - timedelta(days=1),
            completed_at=now - timedelta(days=1),
        )
    ]
    assert got.survey == signals.SurveyFact(
        ratings={"hr": 4}, other_offers="yes", text="团队氛围？"
    )
    assert got.questions_at == [now - timedelta(days=2)]
    assert got.documents_required == frozenset({"id_card", "diploma"})
    assert got.documents == {"id_card": "submitted"}
    assert (got.has_phone, got.has_email, got.bound) == (True, False, True)
    assert got.tags == ("校招", "海外")
    assert got.offer_status == "accepted"
    assert got.recent_scores == [61]  # earlier ones dropped, the one at ``now`` not yet
    quiet = facts[pk(idle)]
    assert quiet.start == now
    assert quiet.interactions == [] and quiet.last_interaction_at is None
    assert quiet.sent_at == [] and quiet.courses == [] and quiet.survey is None
    assert quiet.documents_required == frozenset() and quiet.documents == {}
    assert (quiet.has_phone, quiet.has_email, quiet.bound) == (False, True, False)
    assert quiet.recent_scores == []


async def test_candidates_past_their_first_day_are_not_scored(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    today = now.date()
    async with database.session() as session:
        waiting = pk(await make_candidate(session, now=now, onboarding_date=today))
        joined = pk(
            await make_candidate(
                session, now=now, name="李四", onboarding_date=today - timedelta(days=1)
            )
        )
        undated = pk(await make_candidate(session, now=now, name="王五"))
        for cid in (waiting, joined, undated):
            await make_identity(session, now=now, user_id=f"u{cid}", candidate_id=cid)
    async with database.session() as session:
        asked = (waiting, joined, undated)
        active = {
            c.id
            for c in await signals.active_among(session=session, candidate_ids=asked, today=today)
        }
        flags = {cid: cid in active for cid in asked}
        todo = await signals.unscored_active(
            session=session, since=now, after_id=0, limit=10, today=today
        )
        without_today = await signals.active_among(session=session, candidate_ids=[joined])
    assert flags == {waiting: True, joined: False, undated: True}
    assert [c.id for c in todo] == [waiting, undated]
    assert without_today  # callers that do not say what day it is see the old rule
