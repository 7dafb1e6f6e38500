"""/forget: every row about one candidate goes, an anonymous outcome stays, others untouched."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import FixedClock
from storage import (
    checkins,
    courses,
    dialogs,
    documents,
    events,
    forget,
    invites,
    links,
    outbox,
    outcomes,
    pushes,
    questions,
    scores,
)
from storage.db import Database
from storage.dialogs import DialogKey
from storage.forget import StoredFile
from storage.interactions import record_interaction
from storage.models import (
    Candidate,
    DialogStatus,
    Identity,
    Invite,
    Outcome,
    ScoreSnapshot,
    WelcomeMessage,
)
from storage.surveys import add_survey_response
from storage.welcomes import save_welcome
from tests.storage.factories import make_candidate, make_identity, make_staff, pk


async def _everything_about(session: AsyncSession, cid: int, user: str, clock: FixedClock) -> int:
    """One row in every table for candidate ``cid`` with the chat account ``user``; its id."""
    now = clock.now()
    identity = await make_identity(session, now=now, user_id=user, candidate_id=cid)
    iid = pk(identity)
    await invites.create_invite(
        session=session, candidate_id=cid, code=f"C{cid}", now=now, ttl=timedelta(days=9)
    )
    await invites.record_bind_failure(
        session=session, platform="memory", user_id=user, code="BAD", now=now
    )
    await record_interaction(session=session, identity=identity, kind="message", detail="", at=now)
    row_id = await outbox.enqueue(
        session=session, kind="text", payload={}, due_at=now, now=now, candidate_id=cid
    )
    await outbox.enqueue(
        session=session, kind="text", payload={}, due_at=now, now=now, identity_id=iid
    )
    await pushes.add_receipts(
        session=session, candidate_id=cid, item_ids=["i1"], slot="d1", outbox_id=row_id, now=now
    )
    question = await questions.add_question(
        session=session, candidate_id=cid, text="?", faq_id=None, score=None, now=now
    )
    await questions.open_ticket(
        session=session,
        candidate_id=cid,
        hr_id=None,
        text="?",
        question_id=pk(question),
        now=now,
    )
    await links.create_token(session=session, candidate_id=cid, item_id="x", url="u", now=now)
    await courses.start_course_attempt(session=session, candidate_id=cid, course_id="c", now=now)
    await add_survey_response(
        session=session,
        candidate_id=cid,
        ratings={},
        looking_forward=None,
        open_questions=None,
        other_offers=None,
        now=now,
    )
    await checkins.record_checkin(
        session=session, candidate_id=cid, week=now.date(), answer="fine", now=now
    )
    await documents.submit_document(
        session=session,
        candidate_id=cid,
        item="id_card",
        sha256=f"{cid}" * 64,
        mime_type="image/png",
        size=1,
        file_name=None,
        now=now,
    )
    await documents.submit_document(
        session=session,
        candidate_id=cid,
        item="photo",
        sha256="s" * 64,  # the same file for everyone
        mime_type="image/jpeg",
        size=1,
        file_name=None,
        now=now,
    )
    for person in (DialogKey(candidate_id=cid).person, DialogKey(identity_id=iid).person):
        await dialogs.save_dialog(
            session=session,
            dialog=None,
            person=person,
            flow="offer",
            state="s",
            data={},
            status=DialogStatus.ACTIVE,
            now=now,
        )
    await events.store_inbound_event(
        session=session,
        platform="memory",
        event_id=f"ev-{user}",
        payload={"sender": ["memory", user, user, "name"]},
        now=now,
    )
    for days, value in ((-1, 30), (0, 44)):
        await scores.save(
            session=session,
            snapshot=ScoreSnapshot(
                candidate_id=cid,
                at=now + timedelta(days=days),
                score=value,
                band="low",
                interaction=1,
                training=2,
                feedback=3,
                completeness=4,
                external=5,
            ),
        )
    return iid


EXPECTED = {
    "content_receipts": 1,
    "outbox": 2,
    "tickets": 1,
    "questions": 1,
    "interactions": 1,
    "invites": 1,
    "link_tokens": 1,
    "score_snapshots": 2,
    "course_results": 1,
    "survey_responses": 1,
    "checkins": 1,
    "documents": 2,
    "dialogs": 2,
    "inbound_events": 1,
    "bind_failures": 1,
    "identities": 1,
    "candidates": 1,
}


async def _count(session: AsyncSession, model: type[SQLModel]) -> int:
    return len((await session.exec(select(model))).all())


async def test_forget_deletes_every_row_and_keeps_an_anonymous_outcome(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        hr = pk(await make_staff(session, now=now))
        gone = pk(await make_candidate(session, now=now, name="gone", department="研发中心"))
        kept = pk(await make_candidate(session, now=now, name="kept"))
        gone_iid = await _everything_about(session, gone, "u-gone", clock)
        await _everything_about(session, kept, "u-kept", clock)
        # The forgotten account redeemed the kept candidate's second invite.
        other_invite = await invites.create_invite(
            session=session, candidate_id=kept, code="SHARED", now=now, ttl=timedelta(days=9)
        )
        await invites.use_invite(
            session=session, invite=other_invite, identity_id=gone_iid, now=now
        )
    async with database.session() as session:
        assert await forget.preview(session=session, candidate_id=gone) == EXPECTED
        candidate = await session.get(Candidate, gone)
        assert candidate is not None
        report = await forget.forget_candidate(
            session=session, candidate=candidate, recorded_by=hr, now=now
        )
    assert report.counts == EXPECTED
    assert report.summary().startswith("content_receipts=1 outbox=2 tickets=1")
    # The shared photo is still used by the kept candidate; the ID card file is not.
    assert report.orphan_files == [StoredFile(f"{gone}" * 64, "image/png")]
    async with database.session() as session:
        assert await session.get(Candidate, gone) is None
        left = await forget.preview(session=session, candidate_id=gone)
        kept_rows = await forget.preview(session=session, candidate_id=kept)
        outcome_rows = (await session.exec(select(Outcome))).all()
        shared = await invites.get_invite(session=session, code="SHARED")
        identities = (await session.exec(select(Identity))).all()
        invite_count = await _count(session, Invite)
    assert set(left.values()) == {0}
    assert kept_rows == {**EXPECTED, "invites": 2}  # their own and the shared one
    assert [
        (o.candidate_id, o.outcome, o.department, o.recorded_by, o.score) for o in outcome_rows
    ] == [(None, forget.FORGOTTEN, "研发中心", hr, 44)]
    assert outcome_rows[0].features == {
        "interaction": 1,
        "training": 2,
        "feedback": 3,
        "completeness": 4,
        "external": 5,
    }
    assert shared is not None and shared.used_by_identity_id is None and shared.used_at == now
    assert [i.user_id for i in identities] == ["u-kept"]
    assert invite_count == 2


async def test_forget_detaches_a_recorded_outcome_and_spares_welcome_files(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        boss = pk(await make_staff(session, now=now, role="manager"))
        cand = await make_candidate(session, now=now, name="j", department="销售部")
        cid = pk(cand)
        await documents.submit_document(
            session=session,
            candidate_id=cid,
            item="photo",
            sha256="w" * 64,
            mime_type="image/jpeg",
            size=1,
            file_name=None,
            now=now,
        )
        await save_welcome(
            session=session,
            department="销售部",
            staff_id=boss,
            kind="photo",
            text=None,
            file_path=f"files/{'w' * 64}.jpg",
            file_name=None,
            mime_type="image/jpeg",
            now=now,
        )
        await outcomes.record_outcome(
            session=session,
            candidate_id=cid,
            outcome=outcomes.RENEGED,
            reason="涨薪",
            department="销售部",
            recorded_by=boss,
            score=20,
            features={"interaction": 9},
            now=now - timedelta(days=1),
        )
    async with database.session() as session:
        candidate = await session.get(Candidate, cid)
        assert candidate is not None
        report = await forget.forget_candidate(
            session=session, candidate=candidate, recorded_by=None, now=now
        )
    assert report.orphan_files == []  # the welcome still shows that picture
    assert report.summary() == "documents=1 candidates=1"
    async with database.session() as session:
        rows = (await session.exec(select(Outcome))).all()
        welcomes = await _count(session, WelcomeMessage)
    assert [(o.candidate_id, o.outcome, o.reason, o.score, o.features) for o in rows] == [
        (None, "reneged", "涨薪", 20, {"interaction": 9})
    ]
    assert welcomes == 1
