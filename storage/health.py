"""What ``/metrics`` and ``/readyz`` read from the database at request time.

Each is one cheap query: the outbox's unsent rows grouped by status and category
(the ``(status, due_at)`` index covers the filter), the inbox's unprocessed rows (the
``(processed_at, received_at)`` index), and ``alembic_version``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, inspect, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.migrate import VERSION_TABLE, alembic_config, script_head
from storage.models import InboundEvent, Outbox, OutboxStatus

__all__ = ["database_revisions", "outbox_depth", "script_heads", "unprocessed_inbox"]

UNSENT = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value, OutboxStatus.FAILED.value)


async def outbox_depth(*, session: AsyncSession) -> dict[tuple[str, str], int]:
    """Unsent rows by ``(status, category)``; a row without a category (a reply or a
    notice) counts under its kind. Sent and expired rows are history, not depth."""
    category = func.coalesce(col(Outbox.category), col(Outbox.kind))
    stmt = (
        select(col(Outbox.status), category, func.count())
        .where(col(Outbox.status).in_(UNSENT))
        .group_by(col(Outbox.status), category)
    )
    rows = (await session.exec(stmt)).all()
    return {(str(status), str(cat)): int(count) for status, cat, count in rows}


async def unprocessed_inbox(*, session: AsyncSession) -> int:
    """Inbox rows not processed yet (queued, in processing, or waiting for recovery)."""
    stmt = (
        select(func.count())
        .select_from(InboundEvent)
        .where(col(InboundEvent.processed_at).is_(None))
    )
    return int((await session.exec(stmt)).one())


async def database_revisions(*, session: AsyncSession) -> list[str]:
    """The revisions in ``alembic_version`` ([] when the table is missing)."""

    def read(sync: Connection) -> list[str]:
        if not inspect(sync).has_table(VERSION_TABLE):
            return []
        rows = sync.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
        return sorted(str(row[0]) for row in rows)

    connection = await session.connection()
    return await connection.run_sync(read)


def script_heads(url: str) -> Sequence[str]:
    """The head revisions of ``storage/migrations``: read from the scripts' lines when
    they are a plain chain (no Alembic import), else asked of Alembic."""
    head = script_head()
    if head is not None:
        return [head]
    from alembic.script import ScriptDirectory

    return sorted(ScriptDirectory.from_config(alembic_config(url)).get_heads())
