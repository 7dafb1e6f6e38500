"""Broadcasts: the audience pool and its filters, and the record of each broadcast."""

from __future__ import annotations

from bot.core.clock import FixedClock
from storage import broadcasts, courses, documents
from storage.db import Database
from storage.models import Broadcast, OfferStatus
from tests.storage.factories import make_candidate, make_identity, make_staff, pk


async def test_audience_pool_leaves_out_declined_and_forgotten(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        hr = pk(await make_staff(session, now=now))
        other_hr = pk(await make_staff(session, now=now, name="赵敏"))
        zhao = pk(await make_candidate(session, now=now, name="zhao", hr_id=hr))
        qian = pk(
            await make_candidate(
                session, now=now, name="qian", hr_id=other_hr, offer_status=OfferStatus.ACCEPTED
            )
        )
        pending = pk(
            await make_candidate(
                session, now=now, name="sun", hr_id=hr, offer_status=OfferStatus.PENDING_APPROVAL
            )
        )
        also_zhao = pk(await make_candidate(session, now=now, name="zhao", hr_id=None))
        await make_candidate(
            session, now=now, name="li", hr_id=hr, offer_status=OfferStatus.DECLINED
        )
        await make_candidate(session, now=now, name="zhou", hr_id=hr, forget_requested_at=now)
    async with database.session() as session:
        everyone = await broadcasts.audience_pool(session=session, hr_id=None)
        mine = await broadcasts.audience_pool(session=session, hr_id=hr)
        nobody = await broadcasts.audience_pool(session=session, hr_id=other_hr + 100)
    # By name, then by id (lower-case ASCII names: the same order under any collation).
    assert [(c.name, c.id) for c in everyone] == [
        ("qian", qian),
        ("sun", pending),
        ("zhao", zhao),
        ("zhao", also_zhao),
    ]
    assert [c.id for c in mine] == [pending, zhao]
    assert list(nobody) == []


async def test_bound_candidate_ids(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        two_accounts = pk(await make_candidate(session, now=now, name="甲"))
        one_account = pk(await make_candidate(session, now=now, name="乙"))
        unbound = pk(await make_candidate(session, now=now, name="丙"))
        await make_identity(session, now=now, user_id="a1", candidate_id=two_accounts)
        await make_identity(session, now=now, user_id="a2", candidate_id=two_accounts)
        await make_identity(session, now=now, user_id="b1", candidate_id=one_account)
        await make_identity(session, now=now, user_id="stray")
    async with database.session() as session:
        asked = await broadcasts.bound_candidate_ids(
            session=session, candidate_ids=[two_accounts, unbound, one_account]
        )
        only_unbound = await broadcasts.bound_candidate_ids(
            session=session, candidate_ids=iter([unbound])
        )
        empty = await broadcasts.bound_candidate_ids(session=session, candidate_ids=[])
    assert asked == {two_accounts, one_account}
    assert only_unbound == set()
    assert empty == set()


async def test_approved_documents_and_passed_courses(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        a = pk(await make_candidate(session, now=now, name="甲"))
        b = pk(await make_candidate(session, now=now, name="乙"))
        c = pk(await make_candidate(session, now=now, name="丙"))
        for cid, item, verdict in (
            (a, "id_card", True),
            (a, "diploma", True),
            (a, "photo", False),
            (b, "id_card", None),
            (c, "id_card", True),
        ):
            doc, _ = await documents.submit_document(
                session=session,
                candidate_id=cid,
                item=item,
                sha256="0" * 64,
                mime_type="image/png",
                size=1,
                file_name=None,
                now=now,
            )
            if verdict is not None:
                await documents.review_document(
                    session=session,
                    document=doc,
                    approved=verdict,
                    reviewer_id=None,
                    reason="blurry",
                    now=now,
                )
        for cid, course, score in ((a, "culture", 9), (a, "safety", 3), (b, "culture", 8)):
            await courses.record_course_attempt(
                session=session,
                candidate_id=cid,
                course_id=course,
                score=score,
                total=10,
                passing_score=6,
                points=10,
                now=now,
            )
        await courses.start_course_attempt(
            session=session, candidate_id=c, course_id="culture", now=now
        )
    async with database.session() as session:
        approved = await broadcasts.approved_documents(session=session, candidate_ids=[a, b])
        passed = await broadcasts.passed_courses(session=session, candidate_ids=[a, b, c])
        no_docs = await broadcasts.approved_documents(session=session, candidate_ids=[])
        no_courses = await broadcasts.passed_courses(session=session, candidate_ids=[])
    assert dict(approved) == {a: {"id_card", "diploma"}}  # c was not asked about
    assert approved[b] == set()  # a defaultdict: absent candidates read as nothing
    assert dict(passed) == {a: {"culture"}, b: {"culture"}}
    assert dict(no_docs) == {} and dict(no_courses) == {}


async def test_create_broadcast_and_set_recipients(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    audience = {"department": "研发中心", "missing": ["id_card"]}
    async with database.session() as session:
        hr = pk(await make_staff(session, now=now))
        sent = await broadcasts.create_broadcast(
            session=session, staff_id=hr, text="明天培训", audience=audience, now=now
        )
        assert sent.id is not None and sent.recipients == 0
    async with database.session() as session:
        loaded = await session.get(Broadcast, pk(sent))
        assert loaded is not None
        await broadcasts.set_recipients(session=session, broadcast=loaded, recipients=12)
    async with database.session() as session:
        stored = await session.get(Broadcast, pk(sent))
    assert stored is not None
    assert (stored.staff_id, stored.text, stored.audience) == (hr, "明天培训", audience)
    assert stored.recipients == 12
    assert stored.created_at == now
