"""Copy an installation's rows between databases (``run_bot.py db copy SRC_URL DST_URL``).

Moves a deployment from SQLite to PostgreSQL or back. Every table of the app's
metadata is copied in foreign-key order, primary keys kept, through SQLAlchemy
Core with the same ``Table`` objects, so the custom column types
(``storage.types.UTCDateTime``) and JSON columns round-trip on both dialects.

The source must be at the migration head; the destination is brought to the
head with :func:`storage.migrate.upgrade` and must hold no rows. The rows go in
batches inside one transaction on the destination, so a failure leaves it empty.
On PostgreSQL the id sequences are then moved past the copied ids. Files under
``DATA_DIR`` are not the database's business: they stay where they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Insert,
    Row,
    Select,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    literal,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

from storage import migrate
from storage import models as _models  # noqa: F401  (registers the tables)
from storage.db import create_engine

BATCH_SIZE = 1_000
DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


class CopyRefused(Exception):
    """The copy was not started (bad URL, source not migrated, destination not empty)."""


class CopyFailed(Exception):
    """The copy failed part-way; the destination's transaction was rolled back."""


@dataclass
class CopyReport:
    """What was copied: the row count of each table, in copy order."""

    source: str  # dialect names
    destination: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        width = max((len(name) for name in self.counts), default=0)
        rows = [f"  {name:<{width}}  {n:>9,}" for name, n in self.counts.items()]
        summary = (
            f"copied {len(self.counts)} tables, {self.total:,} rows "
            f"from {self.source} to {self.destination}"
        )
        return [*rows, summary]


def app_tables() -> list[Table]:
    """Every table of the app, parents before the tables that refer to them."""
    return list(SQLModel.metadata.sorted_tables)


def async_url(url: str) -> URL:
    """``url`` with the async driver the app uses (``sqlite://`` → ``sqlite+aiosqlite://``)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise CopyRefused(f"not a database URL: {url!r}") from exc
    backend = "postgresql" if parsed.get_backend_name() == "postgres" else parsed.get_backend_name()
    if backend not in DRIVERS:
        raise CopyRefused(f"unsupported database {parsed.drivername!r}: use SQLite or PostgreSQL")
    return parsed.set(drivername=DRIVERS[backend])


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def reason(exc: BaseException) -> str:
    """The driver's complaint in ``exc``, on one line."""
    if isinstance(exc, DBAPIError):  # asyncpg's: "<class 'asyncpg...Error'>: message"
        text = re.sub(r"^<class '[\w.]+'>: ", "", str(exc.orig))
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def head_revision() -> str | None:
    return ScriptDirectory.from_config(migrate.alembic_config("")).get_current_head()


def _current_revision(sync_conn: Connection) -> str | None:
    return MigrationContext.configure(sync_conn).get_current_revision()


async def check_source(conn: AsyncConnection, url: URL) -> None:
    """Refuse a source that is not at the migration head."""
    current = await conn.run_sync(_current_revision)
    head = head_revision()
    if current != head:
        raise CopyRefused(
            f"the source {shown(url)} is at migration {current or 'none'}, not {head}: "
            f"run `DATABASE_URL=... python run_bot.py db upgrade` on it first"
        )


async def tables_with_rows(conn: AsyncConnection, tables: Sequence[Table]) -> list[str]:
    """The names of those ``tables`` that exist in the database and hold a row."""
    existing = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    full = []
    for table in tables:
        if table.name not in existing:
            continue
        if (await conn.execute(select(literal(1)).select_from(table).limit(1))).first():
            full.append(table.name)
    return full


async def check_destination_empty(conn: AsyncConnection, url: URL) -> None:
    full = await tables_with_rows(conn, app_tables())
    if full:
        raise CopyRefused(
            f"the destination {shown(url)} is not empty ({', '.join(full)} hold rows): "
            "copy only into an empty database"
        )


def _nullable_json(table: Table) -> list[Column[Any]]:
    return [c for c in table.columns if isinstance(c.type, JSON) and c.nullable]


def _param(key: str) -> str:
    return f"{key}__json"


def _null_flag(key: str) -> str:
    return f"{key}__is_null"


def select_statement(table: Table) -> Select[Any]:
    """All of ``table`` in primary-key order, with an ``IS NULL`` flag per nullable JSON column
    (read back, SQL NULL and the JSON value ``null`` are both None)."""
    flags = [c.is_(None).label(_null_flag(c.key)) for c in _nullable_json(table)]
    return select(table, *flags).order_by(*table.primary_key.columns)


def insert_statement(table: Table) -> Insert:
    """An INSERT of whole rows; nullable JSON columns take SQL NULL and JSON ``null`` apart."""
    columns = _nullable_json(table)
    if not columns:
        return insert(table)
    return insert(table).values(
        {c.key: bindparam(_param(c.key), type_=JSON(none_as_null=True)) for c in columns}
    )


def insert_params(table: Table, row: Row[Any]) -> dict[str, Any]:
    """``row`` (from :func:`select_statement`) as parameters for :func:`insert_statement`."""
    values = row._asdict()
    for c in _nullable_json(table):
        value, is_null = values.pop(c.key), values.pop(_null_flag(c.key))
        values[_param(c.key)] = None if is_null else JSON.NULL if value is None else value
    return values


async def copy_table(
    src: AsyncConnection, dst: AsyncConnection, table: Table, batch_size: int
) -> int:
    """Copy every row of ``table``, ``batch_size`` at a time, in primary-key order."""
    stmt = select_statement(table).execution_options(yield_per=batch_size)
    result = await src.stream(stmt)
    ins = insert_statement(table)
    copied = 0
    async for rows in result.partitions(batch_size):
        await dst.execute(ins, [insert_params(table, row) for row in rows])
        copied += len(rows)
    return copied


async def fix_sequences(conn: AsyncConnection, tables: Sequence[Table]) -> None:
    """On PostgreSQL, move each id sequence to the largest copied id (or restart it)."""
    if conn.dialect.name != "postgresql":
        return  # SQLite takes max(rowid) + 1 by itself
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        top = func.max(column)
        sequence = func.pg_get_serial_sequence(table.fullname, column.name)
        await conn.execute(
            select(func.setval(sequence, func.coalesce(top, 1), top.is_not(None))).select_from(
                table
            )
        )


async def copy_rows(src: AsyncConnection, dst: AsyncConnection, batch_size: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    tables = app_tables()
    for table in tables:
        try:
            counts[table.name] = await copy_table(src, dst, table, batch_size)
        except DBAPIError as exc:
            raise CopyFailed(
                f"copying {table.name} failed, no row was written: {reason(exc)}"
            ) from exc
    await fix_sequences(dst, tables)
    return counts


async def _connect(engine: AsyncEngine, url: URL, role: str) -> AsyncConnection:
    """A connection to ``engine``; on PostgreSQL one that reads a single consistent state."""
    try:
        conn = await engine.connect()
    except Exception as exc:  # asyncpg raises its own errors on connect, unwrapped
        raise CopyRefused(f"cannot reach the {role} {shown(url)}: {reason(exc)}") from exc
    if engine.dialect.name == "postgresql":
        await conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def _same_database(a: URL, b: URL) -> bool:
    if a.get_backend_name() == b.get_backend_name() == "sqlite":
        return Path(a.database or "").resolve() == Path(b.database or "").resolve()
    return a == b


def _check_sqlite_source(url: URL) -> None:
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        raise CopyRefused(f"no SQLite database at {url.database!r}")


async def _prepare_destination(engine: AsyncEngine, url: URL) -> None:
    """Refuse a destination with rows, then migrate it to the head."""
    conn = await _connect(engine, url, "destination")
    try:
        await check_destination_empty(conn, url)
    finally:
        await conn.close()
    try:
        await migrate.upgrade(engine)
    except CommandError as exc:
        raise CopyRefused(f"cannot migrate the destination {shown(url)}: {reason(exc)}") from exc


async def copy_database(
    source_url: str, destination_url: str, *, batch_size: int = BATCH_SIZE
) -> CopyReport:
    """Copy every row from ``source_url`` into the empty database at ``destination_url``."""
    src_url, dst_url = async_url(source_url), async_url(destination_url)
    if _same_database(src_url, dst_url):
        raise CopyRefused("the source and the destination are the same database")
    _check_sqlite_source(src_url)
    source = create_engine(src_url.render_as_string(hide_password=False))
    destination = create_engine(dst_url.render_as_string(hide_password=False))
    try:
        report = CopyReport(source.dialect.name, destination.dialect.name)
        src = await _connect(source, src_url, "source")
        try:
            async with src.begin():
                await check_source(src, src_url)
                await _prepare_destination(destination, dst_url)
                async with destination.begin() as dst:
                    await check_destination_empty(dst, dst_url)
                    report.counts = await copy_rows(src, dst, batch_size)
        finally:
            await src.close()
        return report
    except SQLAlchemyError as exc:
        raise CopyFailed(f"copy failed, no row was written: {reason(exc)}") from exc
    finally:
        await source.dispose()
        await destination.dispose()
