"""The morning digest's queries: one HR's active candidates and what waits for them."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FixedClock
from storage import digest, documents, outcomes, questions
from storage.db import Database
from storage.digest import Waiting
from storage.interactions import record_interaction
from storage.models import OfferStatus
from tests.storage.factories import make_candidate, make_identity, make_staff, pk


async def test_active_candidates_and_last_interactions(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        hr = pk(await make_staff(session, now=t0))
        other_hr = pk(await make_staff(session, now=t0, name="赵敏"))
        a = pk(await make_candidate(session, now=t0, name="a", hr_id=hr))
        await make_candidate(session, now=t0, name="d", hr_id=hr, offer_status=OfferStatus.DECLINED)
        joined = pk(await make_candidate(session, now=t0, name="j", hr_id=hr))
        pending = pk(
            await make_candidate(
                session, now=t0, name="p", hr_id=hr, offer_status=OfferStatus.PENDING_APPROVAL
            )
        )
        await make_candidate(session, now=t0, name="o", hr_id=other_hr)
        await outcomes.record_outcome(
            session=session,
            candidate_id=joined,
            outcome=outcomes.JOINED,
            reason=None,
            department=None,
            recorded_by=None,
            score=None,
            features={},
            now=t0,
        )
        acc = await make_identity(session, now=t0, user_id="a", candidate_id=a)
        for hours in (2, 7, 1):
            await record_interaction(
                session=session,
                identity=acc,
                kind="tap",
                detail="",
                at=t0 + timedelta(hours=hours),
            )
    async with database.session() as session:
        active = await digest.active_candidates(session=session, hr_id=hr)
        last = await digest.last_interactions(session=session, candidate_ids=[a, pending])
        empty = await digest.last_interactions(session=session, candidate_ids=[])
    assert [c.id for c in active] == [a, pending]
    assert last == {a: t0 + timedelta(hours=7)}
    assert empty == {}


async def test_documents_waiting_and_tickets_overdue(database: Database, clock: FixedClock) -> None:
    t0 = clock.now()
    async with database.session() as session:
        hr = pk(await make_staff(session, now=t0))
        other_hr = pk(await make_staff(session, now=t0, name="赵敏"))
        mine = pk(await make_candidate(session, now=t0, name="m", hr_id=hr))
        theirs = pk(await make_candidate(session, now=t0, name="t", hr_id=other_hr))
        for cid, item, hours in ((mine, "a", 3), (mine, "b", 1), (mine, "c", 0), (theirs, "a", -5)):
            doc, _ = await documents.submit_document(
                session=session,
                candidate_id=cid,
                item=item,
                sha256=item * 64,
                mime_type="image/png",
                size=1,
                file_name=None,
                now=t0 + timedelta(hours=hours),
            )
            if item == "c":
                await documents.review_document(
                    session=session,
                    document=doc,
                    approved=True,
                    reviewer_id=hr,
                    reason=None,
                    now=t0,
                )
        for cid, owner, hours in (
            (mine, hr, 2),
            (mine, hr, 4),
            (mine, hr, 30),
            (theirs, other_hr, 0),
        ):
            await questions.open_ticket(
                session=session,
                candidate_id=cid,
                hr_id=owner,
                text="?",
                question_id=None,
                now=t0 + timedelta(hours=hours),
            )
        answered = await questions.open_ticket(
            session=session, candidate_id=mine, hr_id=hr, text="?", question_id=None, now=t0
        )
        await questions.answer_ticket(
            session=session, ticket=answered, answer="ok", staff_id=hr, now=t0
        )
    cut = t0 + timedelta(hours=24)
    async with database.session() as session:
        docs = await digest.documents_waiting(session=session, hr_id=hr)
        no_docs = await digest.documents_waiting(session=session, hr_id=other_hr + 1)
        tickets = await digest.tickets_overdue(session=session, hr_id=hr, created_before=cut)
        no_tickets = await digest.tickets_overdue(session=session, hr_id=hr, created_before=t0)
    assert docs == Waiting(2, t0 + timedelta(hours=1))
    assert no_docs == Waiting(0, None)
    assert tickets == Waiting(2, t0 + timedelta(hours=2))
    assert no_tickets == Waiting(0, None)
