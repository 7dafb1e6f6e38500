"""The interaction log: each entry names the identity and whoever it is bound to."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.core.clock import FixedClock
from storage.db import Database
from storage.interactions import record_interaction
from storage.models import Interaction
from tests.storage.factories import make_candidate, make_identity, make_staff, pk


async def test_record_interaction_copies_the_owner_and_truncates(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now))
        sid = pk(await make_staff(session, now=now))
        cand_acc = await make_identity(session, now=now, user_id="c", candidate_id=cid)
        staff_acc = await make_identity(session, now=now, user_id="s", staff_id=sid)
        loose = await make_identity(session, now=now, user_id="x")
        await record_interaction(
            session=session, identity=cand_acc, kind="message", detail="m" * 600, at=now
        )
        await record_interaction(
            session=session,
            identity=staff_acc,
            kind="tap",
            detail="offer:accept",
            at=now + timedelta(seconds=1),
        )
        await record_interaction(session=session, identity=loose, kind="message", detail="", at=now)
    async with database.session() as session:
        logged = (await session.exec(select(Interaction).order_by(col(Interaction.id)))).all()
    assert [(i.identity_id, i.candidate_id, i.staff_id, i.kind) for i in logged] == [
        (pk(cand_acc), cid, None, "message"),
        (pk(staff_acc), None, sid, "tap"),
        (pk(loose), None, None, "message"),
    ]
    assert logged[0].detail == "m" * 500
    assert logged[1].detail == "offer:accept" and logged[1].at == now + timedelta(seconds=1)
    assert logged[2].detail == "" and logged[2].at == now
