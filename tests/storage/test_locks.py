"""Row locks: FOR UPDATE on PostgreSQL only, and a candidate re-read under the lock."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from bot.core.clock import FixedClock
from storage.db import Database
from storage.locks import lock_candidate, locked
from storage.models import Candidate
from tests.storage.factories import make_candidate, pk


async def test_locked_adds_for_update_only_on_postgres(database: Database) -> None:
    async with database.session() as session:
        assert session.bind is not None
        dialect = session.bind.dialect
        stmt = select(Candidate).where(Candidate.id == 1)
        plain = str(locked(session, stmt).compile(dialect=dialect))
        skipping = str(locked(session, stmt, skip_locked=True).compile(dialect=dialect))
    if database.dialect == "postgresql":
        assert plain.endswith("FOR UPDATE")
        assert skipping.endswith("FOR UPDATE SKIP LOCKED")
    else:
        assert "FOR UPDATE" not in plain and "FOR UPDATE" not in skipping
        assert plain == str(stmt.compile(dialect=dialect))


async def test_lock_candidate_rereads_the_row(database: Database, clock: FixedClock) -> None:
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=clock.now(), name="张三"))
    async with database.session() as session:
        assert await lock_candidate(session=session, candidate_id=cid + 1000) is None
        loaded = await session.get(Candidate, cid)
        assert loaded is not None and loaded.name == "张三"
        # A change the identity map does not know about (as if another process wrote it).
        conn = await session.connection()
        await conn.execute(text("UPDATE candidates SET name = '李四' WHERE id = :id"), {"id": cid})
        assert loaded.name == "张三"
        relocked = await lock_candidate(session=session, candidate_id=cid)
        assert relocked is loaded
        assert relocked.name == "李四"


async def test_a_locked_candidate_blocks_a_second_locker(
    database: Database, clock: FixedClock
) -> None:
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=clock.now()))
    if database.dialect != "postgresql":
        # SQLite: BEGIN IMMEDIATE serialises whole transactions; the lock is a plain read.
        async with database.session() as session:
            found = await lock_candidate(session=session, candidate_id=cid)
        assert found is not None and found.id == cid
        return
    async with database.session() as first:
        assert await lock_candidate(session=first, candidate_id=cid) is not None
        async with database.session() as second:
            # A plain read is not blocked by the row lock.
            assert (await second.get(Candidate, cid)) is not None
            await (await second.connection()).execute(text("SET LOCAL lock_timeout = '50ms'"))
            with pytest.raises(DBAPIError, match="lock timeout"):
                await lock_candidate(session=second, candidate_id=cid)
            await second.rollback()
    async with database.session() as third:
        assert await lock_candidate(session=third, candidate_id=cid) is not None
