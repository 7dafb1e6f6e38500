"""The async engine and sessions for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be reached or is too busy now (try
    again later), not that a query is wrong."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | ConnectionError):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated)
    return isinstance(exc, OSError) or (
        type(exc).__module__.startswith("asyncpg.exceptions")
        and ("Connection" in type(exc).__name__ or "CannotConnectNow" in type(exc).__name__)
    )


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout, foreign keys, and ``BEGIN IMMEDIATE`` for every transaction.

    pysqlite's own transaction handling starts transactions lazily and as
    DEFERRED, so two writers can dead-end on the lock upgrade; taking the write
    lock at BEGIN makes them queue on the busy timeout instead.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Build the async engine; for SQLite, create the file's folder first."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _prepare_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


class WriterGate:
    """One SQLite transaction at a time in this process, urgent ones first.

    Every SQLite transaction here takes the write lock at BEGIN, so only one runs at a
    time anyway; left to the busy timeout, waiting ones poll and the order is luck. The
    gate queues them in the event loop instead, and lets an urgent one (the webhook's
    inbox commit, which a platform is waiting on) go before everything queued.
    """

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._held and not self._urgent and not self._normal:
            self._held = True
            return
        queue = self._urgent if urgent else self._normal
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the gate just as we were cancelled: pass it on
            elif turn in queue:
                queue.remove(turn)
            raise

    def release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # the gate passes straight to the next in line
                    return
        self._held = False


class Database:
    """Owns the engine and hands out sessions; one per process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        self._gate = WriterGate() if self.engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block ends without error.

        On SQLite, transactions of this process wait their turn at the
        :class:`WriterGate` (``urgent``: before the others waiting)."""
        gate = self._gate
        if gate is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        await gate.acquire(urgent=urgent)
        try:
            async with self._sessions() as session, session.begin():
                yield session
        finally:
            gate.release()

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
