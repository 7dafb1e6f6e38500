"""Leader election: exactly one process runs the scheduler and the sender.

With SQLite there is one process, and it is the leader. With PostgreSQL each
process keeps a dedicated connection and tries to take a session-level
advisory lock (``pg_try_advisory_lock``); the holder is the leader. When the
leader process dies, or its connection does, the server frees the lock and a
follower takes it.

Timing, for a lease ``L`` (``LEADER_LEASE_SECONDS``): the loop runs every
``L/4``; the leader checks its connection with ``SELECT 1`` and a timeout of
``L/8`` and steps down when it fails. So once the server has freed the lock
(which is when the old connection is gone), the old leader notices within
``L/4 + 2 * L/8 = L/2``. A follower that has just taken the lock waits that
long (the *grace*) before calling itself leader, so two processes never both
believe they lead; it takes over at most ``L/4 + L/2`` after the lock is
freed. The server-side TCP keepalives of the dedicated connection are set
from the lease too, so a leader cut off from the network loses the lock in
about ``L``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.engine import make_url

from bot.core import metrics
from storage import leader_lock

log = logging.getLogger(__name__)

# A fixed 64-bit key for pg_advisory_lock (advisory locks are per database).
LOCK_KEY = 0x5072_6562_6F61_7264  # "Preboard"

Callback = Callable[[], Awaitable[None]]


class Leader:
    """Tracks whether this process is the leader; calls back on election and deposition."""

    def __init__(
        self,
        database_url: str,
        *,
        lease_seconds: float,
        on_elected: Callback | None = None,
        on_deposed: Callback | None = None,
        key: int = LOCK_KEY,
        name: str = "this process",
    ) -> None:
        self.url = database_url
        self.postgres = make_url(database_url).get_backend_name() == "postgresql"
        self.lease = float(lease_seconds)
        self.interval = self.lease / 4
        self.check_timeout = self.lease / 8
        self.grace = self.interval + 2 * self.check_timeout
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.key = key
        self.name = name
        self.is_leader = False
        self._conn: Any = None  # asyncpg.Connection while connected
        self._holding = False  # the lock is ours (maybe still in the grace period)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def backend_pid(self) -> int | None:
        """The PostgreSQL backend of the dedicated connection (for tests and logs)."""
        return None if self._conn is None else int(self._conn.get_server_pid())

    async def start(self) -> None:
        """Begin campaigning; with SQLite, become leader at once."""
        self._stop.clear()
        if not self.postgres:
            await self._elect()
            return
        self._task = asyncio.create_task(self._run(), name=f"leader election ({self.name})")

    async def stop(self) -> None:
        """Stop campaigning; release the lock (a clean hand-over) and step down."""
        self._stop.set()
        if self._task is not None:
            # The loop notices the stop between steps; every step is bounded by timeouts.
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.interval + self.lease)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self._conn is not None and self._holding:
            try:
                await leader_lock.unlock(self._conn, self.key, timeout=self.check_timeout)
                await asyncio.wait_for(self._conn.close(), self.check_timeout)
            except Exception:
                log.debug("releasing the leader lock failed; closing the connection", exc_info=True)
        await self._lose(reason="stopped")

    # ---- the loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("leader election: %s: %s", type(exc).__name__, exc)
                await self._lose(reason=f"{type(exc).__name__}")
            if await self._sleep(self.interval):
                return

    async def _step(self) -> None:
        if self._holding:
            if not await self._healthy():
                await self._lose(reason="lost the database connection")
            return
        if self._conn is None or self._conn.is_closed():
            self._conn = None
            self._conn = await leader_lock.connect(self.url, timeout=max(self.interval, 1.0))
            await self._keepalives()
        got = await leader_lock.try_lock(self._conn, self.key, timeout=self.interval)
        if not got:
            return
        self._holding = True
        log.info("%s took the leader lock; waiting %.1fs before leading", self.name, self.grace)
        if await self._sleep(self.grace):
            return
        if await self._healthy():
            await self._elect()
        else:
            await self._lose(reason="lost the database connection")

    async def _keepalives(self) -> None:
        """Let the server notice a vanished leader within about one lease (TCP only)."""
        idle = max(1, int(self.lease / 2))
        probe = max(1, int(self.lease / 6))
        with contextlib.suppress(Exception):
            await leader_lock.set_keepalives(self._conn, idle=idle, probe=probe)

    async def _healthy(self) -> bool:
        if self._conn is None or self._conn.is_closed():
            return False
        try:
            return await leader_lock.ping(self._conn, timeout=self.check_timeout)
        except Exception:
            return False

    async def _sleep(self, seconds: float) -> bool:
        """Wait, or return True early when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()

    # ---- transitions --------------------------------------------------------------------

    async def _elect(self) -> None:
        self.is_leader = True
        metrics.leader(True)
        log.info("%s is now the leader", self.name)
        await self._call(self.on_elected)

    async def _lose(self, *, reason: str) -> None:
        """Drop the connection (and with it the lock); step down if leading."""
        conn, self._conn = self._conn, None
        self._holding = False
        if conn is not None and not conn.is_closed():
            conn.terminate()
        if self.is_leader:
            self.is_leader = False
            metrics.leader(False)
            log.info("%s stepped down as leader (%s)", self.name, reason)
            await self._call(self.on_deposed)

    async def _call(self, callback: Callback | None) -> None:
        if callback is None:
            return
        try:
            await callback()
        except Exception:
            log.exception("leader callback %s failed", getattr(callback, "__name__", callback))
