"""Managers' welcomes: one per department, versioned, and the day-slot head counts."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from bot.core.clock import FixedClock
from storage import people
from storage.db import Database
from storage.models import OfferStatus, WelcomeMessage
from storage.welcomes import count_day_slot, get_welcome, save_welcome
from tests.storage.factories import make_staff, pk


async def test_save_welcome_creates_then_replaces_with_the_next_version(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        boss = pk(await make_staff(session, now=t0, role="manager", department="研发中心"))
        deputy = pk(await make_staff(session, now=t0, role="manager", department="研发中心"))
        assert await get_welcome(session=session, department="研发中心") is None
        first = await save_welcome(
            session=session,
            department="研发中心",
            staff_id=boss,
            kind="voice",
            text=None,
            file_path="welcome/abc.ogg",
            file_name="hello.ogg",
            mime_type="audio/ogg",
            now=t0,
        )
    assert first.version == 1
    assert first.created_at == t0 and first.updated_at == t0
    t1 = t0 + timedelta(days=2)
    async with database.session() as session:
        second = await save_welcome(
            session=session,
            department="研发中心",
            staff_id=deputy,
            kind="text",
            text="欢迎加入！",
            file_path=None,
            file_name=None,
            mime_type=None,
            now=t1,
        )
        third = await save_welcome(
            session=session,
            department="销售部",
            staff_id=boss,
            kind="text",
            text="hi",
            file_path=None,
            file_name=None,
            mime_type=None,
            now=t1,
        )
    assert second.id == first.id
    assert third.id != first.id and third.version == 1
    async with database.session() as session:
        stored = await get_welcome(session=session, department="研发中心")
        total = len((await session.exec(select(WelcomeMessage))).all())
        assert await get_welcome(session=session, department="市场部") is None
    assert total == 2
    assert stored is not None
    assert stored.version == 2
    assert (stored.staff_id, stored.kind, stored.text) == (deputy, "text", "欢迎加入！")
    assert (stored.file_path, stored.file_name, stored.mime_type) == (None, None, None)
    assert stored.created_at == t0 and stored.updated_at == t1


async def test_count_day_slot_splits_ahead_and_past(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    cut = date(2026, 6, 10)
    async with database.session() as session:
        for offer_date, extra in (
            (cut, {}),  # on the cut: still ahead
            (cut + timedelta(days=5), {}),
            (cut - timedelta(days=1), {}),
            (cut - timedelta(days=30), {"offer_status": OfferStatus.ACCEPTED}),
            (cut, {"offer_status": OfferStatus.DECLINED}),
            (cut - timedelta(days=1), {"offer_status": OfferStatus.DECLINED}),
            (cut, {"forget_requested_at": now}),
            (None, {}),
            (cut, {"department": "销售部"}),
        ):
            fields: dict[str, object] = {
                "name": "张三",
                "department": "研发中心",
                "offer_date": offer_date,
            }
            fields.update(extra)
            await people.save_candidate(session=session, candidate=None, fields=fields, now=now)
    async with database.session() as session:
        counts = await count_day_slot(session=session, department="研发中心", slot_date_from=cut)
        later = await count_day_slot(
            session=session, department="研发中心", slot_date_from=cut + timedelta(days=6)
        )
        other = await count_day_slot(session=session, department="销售部", slot_date_from=cut)
        empty = await count_day_slot(session=session, department="市场部", slot_date_from=cut)
    assert counts == (2, 2)
    assert later == (0, 4)
    assert other == (1, 0)
    assert empty == (0, 0)
