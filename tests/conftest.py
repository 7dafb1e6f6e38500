"""Shared fixtures: every storage-touching test runs on SQLite and on PostgreSQL.

PostgreSQL comes from TEST_POSTGRES_URL (default: the local trust-auth server).
Each test run creates its own database and drops it at the end, so runs never
collide. Without the server the PostgreSQL cases are skipped with the reason,
unless REQUIRE_POSTGRES=1, which makes them fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.settings import Settings
from bot.runtime.app import App
from content import ContentPack, load_content
from run_bot import build_app
from storage import migrate
from storage.db import Database

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
START = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _pg_admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG)


async def _create_pg_database() -> str:
    admin = create_async_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"preboard_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    engine = create_async_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    return url


async def _drop_pg_database(url: str) -> None:
    admin = create_async_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = make_url(url).database
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        url = asyncio.run(asyncio.wait_for(_create_pg_database(), 30))
    except Exception as exc:  # unreachable server, auth, ...
        reason = f"PostgreSQL at {_pg_admin_url()} unavailable: {type(exc).__name__}: {exc}"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    yield url
    asyncio.run(_drop_pg_database(url))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "preboard.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite+aiosqlite:///{target}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    if db.dialect == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
def content_pack() -> ContentPack:
    return load_content()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        data_dir=tmp_path / "data",
        admin_ids=["memory:root"],
    )


@pytest.fixture
async def app(
    settings: Settings, database: Database, clock: FixedClock, content_pack: ContentPack
) -> AsyncIterator[App]:
    yield build_app(settings, clock=clock, content=content_pack, db=database)


@pytest.fixture
def chat(app: App, clock: FixedClock) -> MemoryAdapter:
    adapter = MemoryAdapter(clock)
    app.add_adapter(adapter)
    return adapter
