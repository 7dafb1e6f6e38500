"""Documents: one per checklist item, resubmission, review, and the review queue."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FixedClock
from storage import documents
from storage.db import Database
from storage.models import DocumentStatus
from tests.storage.factories import make_candidate, make_staff, pk


async def test_submit_creates_then_replaces_the_items_document(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=t0))
        first, replaced = await documents.submit_document(
            session=session,
            candidate_id=cid,
            item="id_card",
            sha256="a" * 64,
            mime_type="image/jpeg",
            size=1234,
            file_name="身份证.jpg",
            now=t0,
        )
    assert replaced is None
    assert first.status == DocumentStatus.SUBMITTED.value
    assert (first.sha256, first.mime_type, first.size) == ("a" * 64, "image/jpeg", 1234)
    assert first.file_name == "身份证.jpg" and first.submitted_at == t0
    t1 = t0 + timedelta(hours=1)
    async with database.session() as session:
        same, replaced_same = await documents.submit_document(
            session=session,
            candidate_id=cid,
            item="id_card",
            sha256="a" * 64,
            mime_type="image/jpeg",
            size=1234,
            file_name="",
            now=t1,
        )
    assert same.id == first.id
    assert replaced_same is None  # the same file again replaces nothing
    assert same.file_name is None and same.submitted_at == t1
    t2 = t0 + timedelta(hours=2)
    async with database.session() as session:
        new, replaced_old = await documents.submit_document(
            session=session,
            candidate_id=cid,
            item="id_card",
            sha256="b" * 64,
            mime_type="application/pdf",
            size=99,
            file_name="f" * 250 + ".pdf",
            now=t2,
        )
        diploma, replaced_none = await documents.submit_document(
            session=session,
            candidate_id=cid,
            item="diploma",
            sha256="a" * 64,
            mime_type="image/png",
            size=5,
            file_name=None,
            now=t2,
        )
    assert new.id == first.id and replaced_old == "a" * 64
    assert diploma.id != first.id and replaced_none is None
    async with database.session() as session:
        docs = {d.item: d for d in await documents.documents_of(session=session, candidate_id=cid)}
        none = await documents.documents_of(session=session, candidate_id=cid + 1)
    assert set(docs) == {"id_card", "diploma"}
    card = docs["id_card"]
    assert (card.sha256, card.mime_type, card.size) == ("b" * 64, "application/pdf", 99)
    assert card.file_name == "f" * 200
    assert card.submitted_at == t2
    assert list(none) == []


async def test_review_then_resubmit_clears_the_review(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        hr = pk(await make_staff(session, now=t0))
        cid = pk(await make_candidate(session, now=t0, hr_id=hr))
        doc, _ = await documents.submit_document(
            session=session,
            candidate_id=cid,
            item="photo",
            sha256="a" * 64,
            mime_type="image/png",
            size=1,
            file_name=None,
            now=t0,
        )
    reviewed_at = t0 + timedelta(hours=5)
    async with database.session() as session:
        loaded = await documents.get_document(session=session, document_id=pk(doc))
        assert loaded is not None
        await documents.review_document(
            session=session,
            document=loaded,
            approved=False,
            reviewer_id=hr,
            reason="r" * 600,
            now=reviewed_at,
        )
        assert await documents.get_document(session=session, document_id=pk(doc) + 1) is None
    async with database.session() as session:
        rejected = await documents.get_document(session=session, document_id=pk(doc))
        assert rejected is not None
        assert rejected.status == DocumentStatus.REJECTED.value
        assert rejected.reject_reason == "r" * 500
        assert rejected.reviewer_id == hr and rejected.reviewed_at == reviewed_at
        await documents.review_document(
            session=session,
            document=rejected,
            approved=True,
            reviewer_id=hr,
            reason="ignored when approving",
            now=reviewed_at,
        )
    async with database.session() as session:
        approved = await documents.get_document(session=session, document_id=pk(doc))
        assert approved is not None
        assert approved.status == DocumentStatus.APPROVED.value
        assert approved.reject_reason is None
        await documents.review_document(
            session=session,
            document=approved,
            approved=False,
            reviewer_id=None,
            reason=None,
            now=reviewed_at,
        )
        assert approved.reject_reason == ""
        resubmitted, _ = await documents.submit_document(
            session=session,
            candidate_id=cid,
            item="photo",
            sha256="c" * 64,
            mime_type="image/png",
            size=2,
            file_name=None,
            now=reviewed_at + timedelta(hours=1),
        )
    assert resubmitted.status == DocumentStatus.SUBMITTED.value
    assert resubmitted.reviewed_at is None
    assert resubmitted.reviewer_id is None
    assert resubmitted.reject_reason is None


async def test_awaiting_review_oldest_first_paged_and_per_hr(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        hr_a = pk(await make_staff(session, now=t0, name="甲HR"))
        hr_b = pk(await make_staff(session, now=t0, name="乙HR"))
        of_a = pk(await make_candidate(session, now=t0, name="甲", hr_id=hr_a))
        of_b = pk(await make_candidate(session, now=t0, name="乙", hr_id=hr_b))
        nobodys = pk(await make_candidate(session, now=t0, name="丙"))

        async def submit(cid: int, item: str, hours: int) -> int:
            doc, _ = await documents.submit_document(
                session=session,
                candidate_id=cid,
                item=item,
                sha256=item[0] * 64,
                mime_type="image/png",
                size=1,
                file_name=None,
                now=t0 + timedelta(hours=hours),
            )
            return pk(doc)

        a_late = await submit(of_a, "diploma", 3)
        a_early = await submit(of_a, "id_card", 1)
        b_mid = await submit(of_b, "id_card", 2)
        none_doc = await submit(nobodys, "id_card", 4)
        a_done = await submit(of_a, "photo", 0)
        done = await documents.get_document(session=session, document_id=a_done)
        assert done is not None
        await documents.review_document(
            session=session, document=done, approved=True, reviewer_id=hr_a, reason=None, now=t0
        )
    async with database.session() as session:
        rows, total = await documents.awaiting_review(session=session, hr_id=None, limit=10)
        page, page_total = await documents.awaiting_review(
            session=session, hr_id=None, limit=2, offset=1
        )
        mine, mine_total = await documents.awaiting_review(session=session, hr_id=hr_a, limit=10)
        empty, empty_total = await documents.awaiting_review(
            session=session, hr_id=hr_b + 100, limit=10
        )
    assert [d.id for d, _ in rows] == [a_early, b_mid, a_late, none_doc]
    assert [c.name for _, c in rows] == ["甲", "乙", "甲", "丙"]
    assert total == 4
    assert [d.id for d, _ in page] == [b_mid, a_late]
    assert page_total == 4  # the total ignores the page
    assert [d.id for d, _ in mine] == [a_early, a_late]
    assert mine_total == 2
    assert list(empty) == [] and empty_total == 0
