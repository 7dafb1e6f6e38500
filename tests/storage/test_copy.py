"""``storage.copy``: an installation moved SQLite → PostgreSQL and back, row for row.

Each test makes its own scratch PostgreSQL databases (the run's shared test
database is busy with the rest of the suite) and drops them afterwards.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, null, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from storage import (
    audit,
    cache,
    dialogs,
    events,
    interactions,
    invites,
    links,
    migrate,
    outbox,
    questions,
    scores,
)
from storage.copy import CopyFailed, CopyRefused, app_tables, copy_database
from storage.db import Database
from storage.models import (
    CheckIn,
    DialogStatus,
    InboundEvent,
    OutboxCategory,
    ScoreSnapshot,
)
from tests.bot.runtime.test_cli import cli
from tests.storage.factories import make_candidate, make_identity, make_staff, pk

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 1, 10, 30, 15, 123456, tzinfo=SHANGHAI)

ScratchPG = Callable[[], Awaitable[str]]


@pytest.fixture
async def scratch_pg(postgres_url: str) -> AsyncIterator[ScratchPG]:
    """Makes empty PostgreSQL databases (not migrated); drops them when the test ends."""
    admin = create_async_engine(postgres_url, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    async def make() -> str:
        name = f"preboard_copy_{uuid.uuid4().hex[:12]}"
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(postgres_url).set(database=name).render_as_string(hide_password=False)

    yield make
    async with admin.connect() as conn:
        for name in made:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def empty_url(dialect: str, tmp_path: Path, scratch_pg: ScratchPG) -> str:
    """A database with no schema yet: a SQLite path not created, or a new PostgreSQL one."""
    if dialect == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.db'}"
    return await scratch_pg()


async def migrated_url(
    dialect: str, tmp_path: Path, scratch_pg: ScratchPG, sqlite_template: Path
) -> str:
    if dialect == "sqlite":
        target = tmp_path / f"{uuid.uuid4().hex[:8]}.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite+aiosqlite:///{target}"
    url = await scratch_pg()
    db = Database(url)
    await migrate.upgrade(db.engine)
    await db.dispose()
    return url


async def seed(url: str) -> None:
    """A small but realistic installation, written through the storage functions."""
    db = Database(url)
    at = NOW
    async with db.session() as s:
        hr = await make_staff(s, now=at, name="王芳", role="hr", department="研发")
        manager = await make_staff(s, now=at, name="Li Lei", role="manager", department="研发")
        await make_staff(s, now=at, name="Admin", role="admin")
        await make_identity(s, now=at, user_id="hr-1", platform="telegram", staff_id=pk(hr))
        for n in range(12):
            when = at + timedelta(hours=n, microseconds=n)
            c = await make_candidate(
                s,
                now=when,
                name=f"候选人{n}",
                phone=f"1380013{n:04d}",
                department="研发" if n % 2 else None,
                hr_id=pk(hr),
                manager_id=pk(manager) if n % 3 else None,
                onboarding_date=date(2026, 7, 1) + timedelta(days=n),
                tags=["校招", f"t{n}"] if n % 2 else [],
                offer_replied_at=when if n % 4 == 0 else None,
            )
            cid = pk(c)
            ident = await make_identity(s, now=when, user_id=f"u{n}", candidate_id=cid)
            invite = await invites.create_invite(
                session=s, candidate_id=cid, code=f"CODE{n:04d}", now=when, ttl=timedelta(days=60)
            )
            if n % 2:
                await invites.use_invite(session=s, invite=invite, identity_id=pk(ident), now=when)
            await interactions.record_interaction(
                session=s, identity=ident, kind="message", detail="你好 👋", at=when
            )
            await outbox.enqueue(
                session=s,
                kind="text",
                payload={"text": f"欢迎 {n}", "buttons": [["ok", "好的"]], "n": n, "x": None},
                due_at=when,
                now=when,
                candidate_id=cid,
                dedupe_key=f"welcome:{cid}",
                category=OutboxCategory.PUSH.value,
                expires_at=when + timedelta(days=1) if n % 2 else None,
            )
            for day in range(2):
                await scores.save(
                    session=s,
                    snapshot=ScoreSnapshot(
                        candidate_id=cid,
                        at=when + timedelta(days=day),
                        score=50 + n,
                        band="medium",
                        interaction=10,
                        training=20,
                        feedback=5,
                        completeness=n,
                        external=0,
                        reasons=[{"code": "silent", "days": n}, {"code": "ok", "why": "按时"}],
                    ),
                )
            s.add(CheckIn(candidate_id=cid, week=date(2026, 6, 1), answer="fine", at=when))
            q = await questions.add_question(
                session=s, candidate_id=cid, text="几点到？", faq_id=None, score=0.125 * n, now=when
            )
            if n % 3 == 0:
                await questions.open_ticket(
                    session=s,
                    candidate_id=cid,
                    hr_id=pk(hr),
                    text=q.text,
                    question_id=pk(q),
                    now=when,
                )
            await links.create_token(
                session=s, candidate_id=cid, item_id="i1", url="https://e.x/a?b=1", now=when
            )
            await dialogs.save_dialog(
                session=s,
                dialog=None,
                person=f"c:{cid}",
                flow="survey",
                state="q2",
                data={"ratings": {"q1": 5}, "note": "还行"},
                status=DialogStatus.ACTIVE,
                now=when,
            )
        await events.store_inbound_event(
            session=s, platform="telegram", event_id="1", payload={"update_id": 1}, now=at
        )
        s.add(InboundEvent(platform="telegram", event_id="2", payload=None, received_at=at))
        await s.exec(  # an SQL NULL, where the ORM writes the JSON value null
            insert(InboundEvent).values(
                platform="wecom", event_id="3", payload=null(), received_at=at
            )
        )
        await cache.cache_set(session=s, key="token:wecom", value="abc", expires_at=at)
        await audit.record(
            session=s, staff_id=pk(hr), actor="王芳", action="export", now=at, detail="csv"
        )
    await db.dispose()


async def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, as Python values."""
    db = Database(url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.engine.connect() as conn:
        for table in app_tables():
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows]
        out["<sql null payloads>"] = [
            tuple(r)
            for r in await conn.execute(
                text("SELECT event_id FROM inbound_events WHERE payload IS NULL")
            )
        ]
    await db.dispose()
    return out


DIRECTIONS = [("sqlite", "postgresql"), ("postgresql", "sqlite")]


@pytest.mark.parametrize(("src", "dst"), DIRECTIONS, ids=["sqlite-to-pg", "pg-to-sqlite"])
async def test_copy_keeps_every_row_and_column(
    src: str, dst: str, tmp_path: Path, scratch_pg: ScratchPG, sqlite_template: Path
) -> None:
    source = await migrated_url(src, tmp_path, scratch_pg, sqlite_template)
    destination = await empty_url(dst, tmp_path, scratch_pg)
    await seed(source)
    before = await dump(source)

    report = await copy_database(source, destination, batch_size=5)  # several batches a table

    after = await dump(destination)
    assert after == before
    assert await dump(source) == before  # the source is only read
    assert after["<sql null payloads>"] == [("3",)]
    assert report.source == src and report.destination == dst
    assert list(report.counts) == [t.name for t in SQLModel.metadata.sorted_tables]
    assert report.counts == {t.name: len(before[t.name]) for t in app_tables()}
    assert report.counts["score_snapshots"] == 24
    assert report.lines()[-1] == (
        f"copied {len(app_tables())} tables, {report.total:,} rows from {src} to {dst}"
    )
    # The timestamps are the same instants, read back in UTC.
    assert before["staff"][0][-1] == NOW.astimezone(UTC)


@pytest.mark.parametrize(("src", "dst"), DIRECTIONS, ids=["sqlite-to-pg", "pg-to-sqlite"])
async def test_new_rows_after_a_copy_take_the_next_ids(
    src: str, dst: str, tmp_path: Path, scratch_pg: ScratchPG, sqlite_template: Path
) -> None:
    source = await migrated_url(src, tmp_path, scratch_pg, sqlite_template)
    destination = await empty_url(dst, tmp_path, scratch_pg)
    await seed(source)
    await copy_database(source, destination)

    db = Database(destination)
    async with db.session() as s:
        staff = await make_staff(s, now=NOW, name="新HR")
        candidate = await make_candidate(s, now=NOW, name="新人", phone="13900000000")
        row = await outbox.enqueue(
            session=s, kind="text", payload={"t": 1}, due_at=NOW, now=NOW, staff_id=pk(staff)
        )
        await scores.save(
            session=s,
            snapshot=ScoreSnapshot(
                candidate_id=pk(candidate),
                at=NOW,
                score=1,
                band="high",
                interaction=0,
                training=0,
                feedback=0,
                completeness=0,
                external=0,
            ),
        )
    await db.dispose()
    assert (pk(staff), pk(candidate), row) == (4, 13, 13)


async def test_empty_tables_restart_their_sequences(
    tmp_path: Path, scratch_pg: ScratchPG, sqlite_template: Path
) -> None:
    source = await migrated_url("sqlite", tmp_path, scratch_pg, sqlite_template)
    destination = await empty_url("postgresql", tmp_path, scratch_pg)
    report = await copy_database(source, destination)
    assert report.total == 0
    db = Database(destination)
    async with db.session() as s:
        assert pk(await make_staff(s, now=NOW)) == 1
    await db.dispose()


@pytest.mark.parametrize("dst", ["sqlite", "postgresql"])
async def test_a_destination_with_rows_is_refused_and_left_alone(
    dst: str, tmp_path: Path, scratch_pg: ScratchPG, sqlite_template: Path
) -> None:
    src = "postgresql" if dst == "sqlite" else "sqlite"
    source = await migrated_url(src, tmp_path, scratch_pg, sqlite_template)
    destination = await migrated_url(dst, tmp_path, scratch_pg, sqlite_template)
    await seed(source)
    db = Database(destination)
    async with db.session() as s:
        await make_staff(s, now=NOW, name="已有")
    await db.dispose()
    before = await dump(destination)

    with pytest.raises(CopyRefused, match=r"not empty \(staff hold rows\)"):
        await copy_database(source, destination)
    assert await dump(destination) == before


async def test_a_source_behind_the_migrations_is_refused(
    tmp_path: Path, scratch_pg: ScratchPG
) -> None:
    old = tmp_path / "old.db"
    engine = create_async_engine(f"sqlite+aiosqlite:///{old}")
    await migrate.upgrade(engine, "0005")
    await engine.dispose()
    destination = await scratch_pg()

    with pytest.raises(CopyRefused, match=r"at migration 0005, not 0006.*db upgrade"):
        await copy_database(f"sqlite+aiosqlite:///{old}", destination)
    admin = create_async_engine(destination)
    async with admin.connect() as conn:
        tables = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        )
        assert tables.all() == []  # not even migrated
    await admin.dispose()


async def test_a_failure_part_way_leaves_the_destination_empty(
    tmp_path: Path, scratch_pg: ScratchPG, sqlite_template: Path
) -> None:
    source = await migrated_url("sqlite", tmp_path, scratch_pg, sqlite_template)
    await seed(source)
    with sqlite3.connect(make_url(source).database or "") as raw:  # foreign keys off here
        raw.execute(
            "INSERT INTO invites (code, candidate_id, created_at, expires_at) "
            "VALUES ('ORPHAN', 999, '2026-06-01 00:00:00', '2026-07-01 00:00:00')"
        )
    destination = await empty_url("postgresql", tmp_path, scratch_pg)

    failed = r'^copying invites failed, no row was written: insert or update on table "invites"'
    with pytest.raises(CopyFailed, match=failed):
        await copy_database(source, destination, batch_size=3)
    after = await dump(destination)  # migrated by the copy, but without a row
    assert all(rows == [] for rows in after.values())


async def test_the_same_database_twice_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/a.db"
    with pytest.raises(CopyRefused, match="same database"):
        await copy_database(url, url.replace("+aiosqlite", ""))


async def test_db_copy_on_the_command_line(
    tmp_path: Path, scratch_pg: ScratchPG, sqlite_template: Path
) -> None:
    source = await migrated_url("sqlite", tmp_path, scratch_pg, sqlite_template)
    await seed(source)
    destination = await scratch_pg()
    plain_source = source.replace("+aiosqlite", "")  # plain URLs get the async drivers

    result = cli(tmp_path, "db", "copy", plain_source, destination)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith(f"copied {len(app_tables())} tables, ")
    assert lines[-1].endswith(" rows from sqlite to postgresql")
    assert any(line.split() == ["score_snapshots", "24"] for line in lines)

    again = cli(tmp_path, "db", "copy", plain_source, destination)
    assert again.returncode == 2
    [message] = again.stderr.strip().splitlines()
    assert "is not empty" in message
    assert not (tmp_path / "x.db").exists()  # DATABASE_URL was not touched
