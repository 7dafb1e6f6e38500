"""Dialog state: person keys, versioned saves, the one active dialog, parking the others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.core.clock import FixedClock
from storage import dialogs
from storage.db import Database
from storage.dialogs import DialogKey
from storage.models import Dialog, DialogStatus


def test_dialog_key_person_prefers_candidate_then_staff_then_identity() -> None:
    assert DialogKey(candidate_id=7).person == "c:7"
    assert DialogKey(staff_id=3).person == "s:3"
    assert DialogKey(identity_id=12).person == "i:12"
    assert DialogKey(candidate_id=7, staff_id=3, identity_id=12).person == "c:7"
    assert DialogKey(staff_id=3, identity_id=12).person == "s:3"
    assert DialogKey(candidate_id=0).person == "c:0"
    with pytest.raises(ValueError, match="dialog key"):
        _ = DialogKey().person


async def test_save_creates_then_advances_with_a_new_version(
    database: Database, clock: FixedClock
) -> None:
    start = clock.now()
    data = {"step": 1}
    async with database.session() as session:
        assert await dialogs.get_dialog(session=session, person="c:1", flow="offer") is None
        created = await dialogs.save_dialog(
            session=session,
            dialog=None,
            person="c:1",
            flow="offer",
            state="ask",
            data=data,
            status=DialogStatus.ACTIVE,
            now=start,
        )
    data["step"] = 99  # the saved dialog keeps its own copy
    assert created.id is not None
    assert created.version == 1
    assert created.started_at == start and created.updated_at == start
    later = start + timedelta(minutes=5)
    async with database.session() as session:
        loaded = await dialogs.get_dialog(session=session, person="c:1", flow="offer")
        assert loaded is not None
        assert loaded.data == {"step": 1}
        advanced = await dialogs.save_dialog(
            session=session,
            dialog=loaded,
            person="c:1",
            flow="offer",
            state="confirm",
            data={"step": 2, "answer": "yes"},
            status=DialogStatus.DONE,
            now=later,
        )
    assert advanced.id == created.id
    async with database.session() as session:
        stored = await dialogs.get_dialog(session=session, person="c:1", flow="offer")
        other_flow = await dialogs.get_dialog(session=session, person="c:1", flow="survey")
        other_person = await dialogs.get_dialog(session=session, person="c:2", flow="offer")
    assert stored is not None
    assert stored.version == 2
    assert stored.state == "confirm"
    assert stored.data == {"step": 2, "answer": "yes"}
    assert stored.status == DialogStatus.DONE.value
    assert stored.started_at == start  # same run
    assert stored.updated_at == later
    assert other_flow is None and other_person is None


async def test_new_run_restarts_the_clock_but_keeps_counting_versions(
    database: Database, clock: FixedClock
) -> None:
    start = clock.now()
    again = start + timedelta(days=2)
    async with database.session() as session:
        dialog = await dialogs.save_dialog(
            session=session,
            dialog=None,
            person="s:4",
            flow="broadcast",
            state="text",
            data={},
            status=DialogStatus.DONE,
            now=start,
        )
        dialog = await dialogs.save_dialog(
            session=session,
            dialog=dialog,
            person="s:4",
            flow="broadcast",
            state="text",
            data={"a": 1},
            status=DialogStatus.ACTIVE,
            now=again,
            new_run=True,
        )
    async with database.session() as session:
        stored = await dialogs.get_dialog(session=session, person="s:4", flow="broadcast")
    assert stored is not None
    assert stored.started_at == again and stored.updated_at == again
    assert stored.version == 2
    assert stored.status == DialogStatus.ACTIVE.value


async def test_one_dialog_per_person_and_flow(database: Database, clock: FixedClock) -> None:
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            for _ in range(2):
                await dialogs.save_dialog(
                    session=session,
                    dialog=None,
                    person="c:1",
                    flow="offer",
                    state="ask",
                    data={},
                    status=DialogStatus.ACTIVE,
                    now=clock.now(),
                )
    async with database.session() as session:
        assert await dialogs.get_dialog(session=session, person="c:1", flow="offer") is None


async def _seed(database: Database, clock: FixedClock, rows: list[tuple[str, str, str]]) -> None:
    """(person, flow, status) rows, each updated a minute after the previous."""
    async with database.session() as session:
        for n, (person, flow, status) in enumerate(rows):
            await dialogs.save_dialog(
                session=session,
                dialog=None,
                person=person,
                flow=flow,
                state="s",
                data={"n": n},
                status=DialogStatus(status),
                now=clock.now() + timedelta(minutes=n),
            )


async def test_active_dialog_is_the_most_recently_updated_active_one(
    database: Database, clock: FixedClock
) -> None:
    await _seed(
        database,
        clock,
        [
            ("c:1", "offer", "active"),
            ("c:1", "survey", "active"),
            ("c:1", "quiz", "done"),
            ("c:1", "docs", "parked"),
            ("c:2", "offer", "active"),
        ],
    )
    async with database.session() as session:
        active = await dialogs.active_dialog(session=session, person="c:1")
        nobody = await dialogs.active_dialog(session=session, person="c:3")
    assert active is not None
    assert active.flow == "survey"
    assert nobody is None


async def test_park_others_parks_only_the_persons_other_active_dialogs(
    database: Database, clock: FixedClock
) -> None:
    await _seed(
        database,
        clock,
        [
            ("c:1", "offer", "active"),
            ("c:1", "survey", "active"),
            ("c:1", "quiz", "done"),
            ("c:1", "docs", "active"),
            ("c:2", "offer", "active"),
        ],
    )
    async with database.session() as session:
        await dialogs.park_others(session=session, person="c:1", keep_flow="docs")
    async with database.session() as session:
        statuses = {
            (d.person, d.flow): d.status for d in (await session.exec(select(Dialog))).all()
        }
        active = await dialogs.active_dialog(session=session, person="c:1")
    assert statuses == {
        ("c:1", "offer"): "parked",
        ("c:1", "survey"): "parked",
        ("c:1", "quiz"): "done",
        ("c:1", "docs"): "active",
        ("c:2", "offer"): "active",
    }
    assert active is not None and active.flow == "docs"


async def test_touch_dialog_keeps_in_place_changes(database: Database, clock: FixedClock) -> None:
    await _seed(database, clock, [("i:5", "bind", "active")])
    async with database.session() as session:
        dialog = await dialogs.get_dialog(session=session, person="i:5", flow="bind")
        assert dialog is not None
        dialog.status = DialogStatus.PARKED.value
        dialog.data = {"n": 0, "note": "paused"}
        await dialogs.touch_dialog(session=session, dialog=dialog)
    async with database.session() as session:
        stored = await dialogs.get_dialog(session=session, person="i:5", flow="bind")
    assert stored is not None
    assert stored.status == DialogStatus.PARKED.value
    assert stored.data == {"n": 0, "note": "paused"}
    assert stored.version == 1  # touching is not a step
