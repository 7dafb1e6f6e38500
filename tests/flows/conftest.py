"""Fixtures for dialog tests: a second process on the same database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.settings import Settings
from bot.runtime.app import App
from content import ContentPack
from run_bot import build_app
from storage.db import Database

Restart = Callable[[], Awaitable[tuple[App, MemoryAdapter]]]


@pytest.fixture
async def restart(
    settings: Settings, database: Database, clock: FixedClock, content_pack: ContentPack
) -> AsyncIterator[Restart]:
    """Build a fresh app (a new process: new engine, new memory) on the same database."""
    made: list[Database] = []

    async def make() -> tuple[App, MemoryAdapter]:
        db = Database(database.url)
        made.append(db)
        app = build_app(settings, clock=clock, content=content_pack, db=db)
        chat = MemoryAdapter(clock)
        app.add_adapter(chat)
        return app, chat

    yield make
    for db in made:
        await db.dispose()
