"""The migrations build the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from storage import migrate
from storage.db import Database


async def test_models_match_migrations(database: Database) -> None:
    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with database.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_ping(database: Database) -> None:
    assert await database.ping()


def test_script_head_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate.alembic_config("")).get_heads()
    assert [migrate.script_head()] == heads


def _scripts(folder: Path, chain: dict[str, str]) -> None:
    (folder / "versions").mkdir(parents=True)
    for name, body in chain.items():
        (folder / "versions" / f"{name}.py").write_text(body, encoding="utf-8")


def _head_of(folder: Path, monkeypatch: pytest.MonkeyPatch) -> str | None:
    monkeypatch.setattr(migrate, "MIGRATIONS", folder)
    migrate.script_head.cache_clear()
    try:
        return migrate.script_head()
    finally:
        migrate.script_head.cache_clear()


SCRIPT = 'revision: str = "{rev}"\ndown_revision: str | None = {down}\ndepends_on = None\n'


def test_script_head_gives_up_on_anything_but_a_plain_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    _scripts(
        plain, {"a": SCRIPT.format(rev="a", down="None"), "b": SCRIPT.format(rev="b", down='"a"')}
    )
    assert _head_of(plain, monkeypatch) == "b"
    merge = tmp_path / "merge"
    _scripts(
        merge,
        {
            "a": SCRIPT.format(rev="a", down="None"),
            "b": SCRIPT.format(rev="b", down='"a"'),
            "c": SCRIPT.format(rev="c", down='"a"'),
            "d": SCRIPT.format(rev="d", down='("b", "c")'),
        },
    )
    assert _head_of(merge, monkeypatch) is None
    two_heads = tmp_path / "two"
    _scripts(
        two_heads,
        {
            "a": SCRIPT.format(rev="a", down="None"),
            "b": SCRIPT.format(rev="b", down='"a"'),
            "c": SCRIPT.format(rev="c", down='"a"'),
        },
    )
    assert _head_of(two_heads, monkeypatch) is None
    odd = tmp_path / "odd"
    _scripts(odd, {"a": "revision = make_revision()\ndown_revision = None\ndepends_on = None\n"})
    assert _head_of(odd, monkeypatch) is None


async def test_upgrade_at_head_does_not_run_alembic(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("alembic ran on a database already at head")

    monkeypatch.setattr(command, "upgrade", refuse)
    await migrate.upgrade(database.engine)


async def test_upgrade_from_an_older_revision_runs_alembic(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await migrate.upgrade(db.engine, "0005")
        await migrate.upgrade(db.engine)
        async with db.engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await db.dispose()
    assert [row[0] for row in version] == [migrate.script_head()]
    assert "checkins" in tables


async def test_processes_starting_together_on_postgres_migrate_once(postgres_url: str) -> None:
    """Three engines (three processes starting at once) upgrade a fresh PostgreSQL
    database: one migrates under the advisory lock, the others wait and find the head."""
    import asyncio
    import uuid

    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"preboard_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(
        make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(database=name)
    engines = [create_async_engine(url) for _ in range(3)]
    try:
        await asyncio.gather(*(migrate.upgrade(engine) for engine in engines))
        async with engines[0].connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert [row[0] for row in version] == [migrate.script_head()]
    finally:
        for engine in engines:
            await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
