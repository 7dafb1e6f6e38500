"""Push planning queries: mute, who is plannable, receipts, caps state, welcomes, names."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.core.clock import FixedClock
from storage import outbox, outcomes, pushes
from storage.db import Database
from storage.models import Candidate, ContentReceipt, OfferStatus
from storage.pushes import ScheduledRow
from storage.welcomes import save_welcome
from tests.storage.factories import make_candidate, make_identity, make_staff, pk


async def test_set_muted_and_plannable_candidates(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:

        async def bound(name: str, **fields: Any) -> int:
            cand = await make_candidate(session, now=now, name=name, **fields)
            await make_identity(session, now=now, user_id=name, candidate_id=pk(cand))
            return pk(cand)

        a = await bound("a")
        await make_candidate(session, now=now, name="unbound")
        await bound("pending", offer_status=OfferStatus.PENDING_APPROVAL)
        await bound("declined", offer_status=OfferStatus.DECLINED)
        await bound("forget", forget_requested_at=now)
        decided = await bound("decided")
        delayed = await bound("delayed", offer_status=OfferStatus.DELAYED)
        c = await bound("c", offer_status=OfferStatus.ACCEPTED)
        await outcomes.record_outcome(
            session=session,
            candidate_id=decided,
            outcome=outcomes.JOINED,
            reason=None,
            department=None,
            recorded_by=None,
            score=None,
            features={},
            now=now,
        )
        await pushes.set_muted(session=session, candidate_id=a, muted=True, now=now)
    async with database.session() as session:
        muted = await session.get(Candidate, a)
        assert muted is not None and muted.muted_at == now
        await pushes.set_muted(
            session=session, candidate_id=a, muted=False, now=now + timedelta(days=1)
        )
    async with database.session() as session:
        unmuted = await session.get(Candidate, a)
        everyone = await pushes.plannable_candidates(session=session, after_id=0, limit=10)
        first = await pushes.plannable_candidates(session=session, after_id=0, limit=2)
        rest = await pushes.plannable_candidates(session=session, after_id=delayed, limit=10)
    assert unmuted is not None and unmuted.muted_at is None
    assert unmuted.updated_at == now + timedelta(days=1)
    # Muted candidates stay plannable: transactional reminders still reach them.
    assert [x.id for x in everyone] == [a, delayed, c]
    assert [x.id for x in first] == [a, delayed]
    assert [x.id for x in rest] == [c]


async def test_receipts_are_recorded_once(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        a = pk(await make_candidate(session, now=now, name="a"))
        b = pk(await make_candidate(session, now=now, name="b"))
        await pushes.add_receipts(
            session=session, candidate_id=a, item_ids=["x", "y"], slot="d1", outbox_id=None, now=now
        )
        # Again, with one new item: the old ones are left alone, no error.
        await pushes.add_receipts(
            session=session, candidate_id=a, item_ids=["y", "z"], slot="d2", outbox_id=None, now=now
        )
    async with database.session() as session:
        received = await pushes.receipts_of(session=session, candidate_ids=[a, b])
        slots = {r.item_id: r.slot for r in (await session.exec(select(ContentReceipt))).all()}
    assert received == {a: {"x", "y", "z"}, b: set()}
    assert slots == {"x": "d1", "y": "d1", "z": "d2"}


async def test_scheduled_state_counts_live_scheduled_rows(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    since = t0 - timedelta(days=7)
    async with database.session() as session:
        a = pk(await make_candidate(session, now=t0, name="a"))
        b = pk(await make_candidate(session, now=t0, name="b"))

        async def row(
            candidate: int, category: str | None, days: int, key: str | None = None
        ) -> int:
            row_id = await outbox.enqueue(
                session=session,
                kind="text",
                payload={},
                due_at=t0 + timedelta(days=days),
                now=t0,
                candidate_id=candidate,
                category=category,
                dedupe_key=key,
            )
            assert row_id is not None
            return row_id

        await row(a, "push", -1, key="push:a:1")
        await row(a, "reminder", 2)
        await row(a, "push", -8)  # before ``since``
        await row(a, "broadcast", 0)  # no cap
        await row(a, None, 0, key="reply:a")  # a reply: no cap, but its key is used
        failed = await row(a, "push", 0)
        expired = await row(a, "push", 0)
        sent = await row(b, "push", 0, key="push:b:1")
        await outbox.mark_failed(session=session, row_id=failed, error="x", retry_at=None)
        await outbox.mark_expired(session=session, row_id=expired)
        await outbox.mark_sent(session=session, row_id=sent, now=t0)
    async with database.session() as session:
        used, rows = await pushes.scheduled_state(
            session=session,
            keys=["push:a:1", "reply:a", "push:b:1", "push:a:2"],
            candidate_ids=[a, b],
            since=since,
        )
        nothing = await pushes.scheduled_state(
            session=session, keys=[], candidate_ids=[b + 10], since=since
        )
    assert used == {"push:a:1", "reply:a", "push:b:1"}
    assert sorted(rows[a], key=lambda r: r.due_at) == [
        ScheduledRow(a, "push", t0 - timedelta(days=1)),
        ScheduledRow(a, "reminder", t0 + timedelta(days=2)),
    ]
    assert rows[b] == [ScheduledRow(b, "push", t0)]  # sent rows count
    assert nothing == (set(), {b + 10: []})


async def test_welcomes_for_and_staff_names(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        boss = pk(await make_staff(session, now=now, name="李强", role="manager"))
        hr = pk(await make_staff(session, now=now, name="王芳"))
        for department in ("研发中心", "销售部"):
            await save_welcome(
                session=session,
                department=department,
                staff_id=boss,
                kind="text",
                text=f"欢迎来到{department}",
                file_path=None,
                file_name=None,
                mime_type=None,
                now=now,
            )
    async with database.session() as session:
        welcomes = await pushes.welcomes_for(
            session=session, departments=["研发中心", "研发中心", "市场部"]
        )
        names = await pushes.staff_names(session=session, staff_ids=[boss, hr, hr, hr + 100])
        none = await pushes.staff_names(session=session, staff_ids=[])
    assert {d: w.text for d, w in welcomes.items()} == {"研发中心": "欢迎来到研发中心"}
    assert names == {boss: "李强", hr: "王芳"}
    assert none == {}
