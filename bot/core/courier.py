"""The courier: sends outbox rows through the platform adapters and records the outcome.

Scheduled rows follow the sender rules: a push, reminder, broadcast or staff
alert is not sent in the recipient's quiet hours (the row waits until the
morning, which is not an attempt; staff use DEFAULT_TIMEZONE), and a row past
its ``expires_at`` is marked expired instead of being sent late.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import metrics
from bot.core.clock import Clock
from bot.core.i18n import I18n
from bot.core.messages import Attachment, ChatAddress, DeliveryError, Outgoing
from bot.core.quiet import is_quiet, next_allowed
from bot.core.settings import Settings
from bot.core.text import clean, redact
from bot.core.zones import person_zone
from storage import outbox, people
from storage.db import Database
from storage.models import Outbox, OutboxCategory

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Categories that wait for the end of the recipient's quiet hours (replies never do).
QUIET_CATEGORIES = frozenset(
    {
        OutboxCategory.PUSH.value,
        OutboxCategory.REMINDER.value,
        OutboxCategory.BROADCAST.value,
        OutboxCategory.ALERT.value,
    }
)
# The deferred job (bot.core.deferred) that starts a drain once a transaction that wrote
# rows to send at once (a broadcast) has committed.
SEND = "send"
# One drain sends at most this many rows (a bound, so a drain always ends).
DRAIN_MAX_ROWS = 5000


class Transport(Protocol):
    """What the core needs of an adapter: sending, and fetching users' files."""

    @property
    def platform(self) -> str: ...

    async def send(self, to: ChatAddress, message: Outgoing) -> None: ...

    async def download(self, attachment: Attachment) -> bytes: ...


def _emptied(queue: asyncio.Queue[Claimed | None]) -> list[Claimed]:
    taken = []
    while not queue.empty():
        item = queue.get_nowait()
        if item is not None:
            taken.append(item)
    return taken


def _recipient(row: Outbox) -> tuple[str, int]:
    if row.candidate_id is not None:
        return ("candidate", row.candidate_id)
    if row.staff_id is not None:
        return ("staff", row.staff_id)
    return ("identity", row.identity_id or 0)


def backoff(attempt: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempt - 1)))


@dataclass(slots=True)
class Claimed:
    """A row this process holds the lease of, and where it goes."""

    row: Outbox
    address: ChatAddress | None


class _SentMarks:
    """Marks rows sent, many per commit: the sends that finish while one commit runs go
    in the next. Each caller waits for its own mark, so a row reported sent is sent."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._pending: list[tuple[int, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def mark(self, row_id: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row_id, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), context=contextvars.Context())
        await future

    async def idle(self) -> None:
        """Wait until every mark asked for is written (or failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self.db.session() as session:
                    await outbox.mark_sent_many(
                        session=session, ids=[i for i, _ in batch], now=self.clock.now()
                    )
            except Exception as exc:  # the lease runs out and the rows are sent again
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)


class Courier:
    """Delivers outbox rows; a row is claimed with a lease so only one process sends it.

    ``deliver`` sends given rows in order (a person's replies). ``drain`` sends what is
    due with ``concurrency`` sends in flight, so platform round trips overlap while the
    adapters' rate limiters keep each platform's pace; one recipient's rows still go
    one after another, in order. Rows are claimed in batches and marked sent in group
    commits. ``kick`` starts a drain in the background (or asks the running one to look
    again) and returns at once.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        i18n: I18n,
        settings: Settings | None = None,
        *,
        concurrency: int | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.i18n = i18n
        # Without settings (tests of the bare courier) there are no quiet hours.
        self.settings = settings
        self.concurrency = concurrency or (settings.send_concurrency if settings else 8)
        self.transports: dict[str, Transport] = {}
        self._marks = _SentMarks(db, clock)
        self._drain_lock = asyncio.Lock()
        self._again = False
        self._kicked: asyncio.Task[None] | None = None
        self._stopping = False
        self._unsent: list[int] = []  # claimed, not sent, to hand back when the drain ends
        self._recipients: weakref.WeakValueDictionary[tuple[str, int], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def register(self, transport: Transport) -> None:
        self.transports[transport.platform] = transport

    async def download(self, platform: str, attachment: Attachment) -> bytes:
        """A user's file, through the adapter of the platform it came from."""
        transport = self.transports.get(platform)
        if transport is None:
            raise LookupError(f"platform {platform} is not running here")
        return await transport.download(attachment)

    async def deliver(self, ids: Sequence[int]) -> None:
        """Send these rows now, in order."""
        if not ids:
            return
        for claimed in await self._claim(ids):
            await self._send(claimed)

    async def deliver_claimed(self, claimed: Sequence[Claimed]) -> None:
        """Send rows written already leased (a message's replies), in order."""
        for item in claimed:
            await self._send(item)

    def kick(self) -> None:
        """Drain in the background; a drain already running looks again when it ends."""
        if self._stopping:
            return
        self._again = True
        if self._kicked is None or self._kicked.done():
            self._kicked = asyncio.create_task(self._drain_kicked(), context=contextvars.Context())

    async def _drain_kicked(self) -> None:
        while self._again:
            self._again = False
            try:
                await self.drain()
            except Exception:
                log.exception("draining the outbox failed")

    async def idle(self) -> None:
        """Wait for a kicked drain to finish (shutdown, tests)."""
        while self._kicked is not None and not self._kicked.done():
            await asyncio.shield(self._kicked)

    async def drain(self, limit: int = 200, max_rows: int = DRAIN_MAX_ROWS) -> int:
        """Send every row that is due (or whose sender died); return how many were tried.

        Works in batches until nothing more is due. Each row is tried at most once per
        drain, so a row retried or deferred to "now" does not keep the drain going;
        ``max_rows`` bounds one drain. Drains in one process take turns.
        """
        async with self._drain_lock:
            return await self._drain(max(1, min(limit, self.concurrency * 2)), max_rows)

    async def _drain(self, batch: int, max_rows: int) -> int:
        queue: asyncio.Queue[Claimed | None] = asyncio.Queue(maxsize=self.concurrency)
        workers = [asyncio.create_task(self._work(queue)) for _ in range(self.concurrency)]
        tried: set[int] = set()
        finished = False
        try:
            while len(tried) < max_rows and not self._stopping:
                async with self.db.session() as session:
                    ids = await outbox.due_ids(
                        session=session,
                        now=self.clock.now(),
                        limit=min(batch, max_rows - len(tried)),
                        exclude=tried,
                    )
                if not ids:
                    break
                tried.update(ids)
                for claimed in await self._claim(ids):
                    await queue.put(claimed)
            finished = True
        finally:
            if finished:  # let the workers send what is queued, then stop
                for _ in workers:
                    await queue.put(None)
            else:  # cut off or failed: in-flight sends keep their lease, queued rows go back
                for task in workers:
                    task.cancel()
                self._unsent.extend(c.row.id for c in _emptied(queue) if c.row.id is not None)
            await asyncio.gather(*workers, return_exceptions=not finished)
            await self._release()
        return len(tried)

    async def _release(self) -> None:
        ids, self._unsent = self._unsent, []
        if not ids:
            return
        try:
            async with self.db.session() as session:
                await outbox.release(session=session, ids=ids)
        except Exception as exc:  # their leases run out instead
            log.warning("could not hand back %d claimed outbox rows: %s", len(ids), exc)

    async def stop(self) -> None:
        """Stop draining: no more rows are claimed, the sends in flight finish, rows
        claimed but not yet sent go back to the outbox for whoever drains next. A caller
        that cannot wait cancels this; then the sends in flight keep their lease."""
        self._stopping = True
        self._again = False
        task = self._kicked
        try:
            if task is not None and not task.done():
                await asyncio.shield(task)
            await self._marks.idle()
        except asyncio.CancelledError:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            raise

    async def _work(self, queue: asyncio.Queue[Claimed | None]) -> None:
        while (claimed := await queue.get()) is not None:
            if self._stopping:
                if claimed.row.id is not None:
                    self._unsent.append(claimed.row.id)
                continue
            key = _recipient(claimed.row)
            lock = self._recipients.get(key)
            if lock is None:
                lock = self._recipients[key] = asyncio.Lock()
            async with lock:  # one recipient's rows in order, one at a time
                try:
                    await self._send(claimed)
                except Exception:  # a database failure recording the outcome: lease expires
                    log.exception("outbox row %s: recording the outcome failed", claimed.row.id)

    async def _address(self, session: AsyncSession, row: Outbox) -> ChatAddress | None:
        if row.identity_id is not None:
            identity = await people.identity_by_id(session=session, identity_id=row.identity_id)
            candidates = [identity] if identity is not None else []
        else:
            candidates = list(
                await people.identities_of(
                    session=session, candidate_id=row.candidate_id, staff_id=row.staff_id
                )
            )
        usable = [i for i in candidates if not i.unreachable]
        # The platform they used last, among those this process can send on.
        for identity in usable:
            if identity.platform in self.transports:
                return ChatAddress(identity.platform, identity.user_id, identity.chat_id)
        if usable:
            first = usable[0]
            return ChatAddress(first.platform, first.user_id, first.chat_id)
        return None

    async def _quiet_zone(self, session: AsyncSession, row: Outbox) -> ZoneInfo | None:
        """The recipient's time zone when the row must respect quiet hours (staff: the default)."""
        if self.settings is None or row.category not in QUIET_CATEGORIES:
            return None
        candidate_id = row.candidate_id
        if candidate_id is None and row.identity_id is not None:
            identity = await people.identity_by_id(session=session, identity_id=row.identity_id)
            candidate_id = identity.candidate_id if identity is not None else None
        candidate = (
            await people.get_candidate(session=session, candidate_id=candidate_id)
            if candidate_id is not None
            else None
        )
        return person_zone(candidate, self.settings.default_timezone)

    async def _claim(self, ids: Sequence[int]) -> list[Claimed]:
        """Claim the rows and find where each goes, in one transaction; leave out those not
        ours to send now (taken, not due), expired, or handed back for the morning."""
        now = self.clock.now()
        ready: list[Claimed] = []
        async with self.db.session() as session:
            for row in await outbox.claim_many(session=session, ids=ids, now=now):
                assert row.id is not None
                if row.expires_at is not None and row.expires_at <= now:
                    log.info("outbox row %s expired at %s; not sent", row.id, row.expires_at)
                    await outbox.mark_expired(session=session, row_id=row.id)
                    continue
                tz = await self._quiet_zone(session, row)
                if tz is not None and self.settings is not None:
                    start, end = self.settings.quiet_hours_start, self.settings.quiet_hours_end
                    if is_quiet(now, tz, start, end):
                        until = next_allowed(now, tz, start, end)
                        log.info("outbox row %s waits for quiet hours to end (%s)", row.id, until)
                        await outbox.defer(session=session, row_id=row.id, until=until)
                        continue
                ready.append(Claimed(row, await self._address(session, row)))
        return ready

    async def _send(self, claimed: Claimed) -> None:
        row, address = claimed.row, claimed.address
        assert row.id is not None
        row_id = row.id
        error: DeliveryError | None = None
        if address is None:
            error = DeliveryError("no chat account to deliver to", permanent=True)
        elif address.platform not in self.transports:
            error = DeliveryError(f"platform {address.platform} is not running here")
        else:
            try:
                message = replace(Outgoing.from_json(row.payload), key=f"outbox:{row_id}")
                await self.transports[address.platform].send(address, message)
            except DeliveryError as exc:
                error = exc
            except Exception as exc:  # an adapter bug must not lose the row
                log.exception("sending outbox row %s failed", row_id)
                error = DeliveryError(f"{type(exc).__name__}: {exc}")
        platform = address.platform if address is not None else "none"
        if error is None:
            metrics.sent(platform, "ok")
            await self._marks.mark(row_id)
            return
        now = self.clock.now()
        follow_up: list[int] = []
        async with self.db.session() as session:
            if error.unreachable and address is not None:
                follow_up = await self._unreachable(session, address, now)
            attempts = row.attempts + 1
            give_up = error.permanent or attempts >= MAX_ATTEMPTS
            wait = (
                timedelta(seconds=error.retry_after)
                if error.retry_after is not None
                else backoff(attempts)
            )
            if error.retry_after is not None:
                metrics.rate_limited(platform)
            if error.unreachable:
                result = "unreachable"
            elif give_up:
                result = "failed"
            else:
                result = "rate_limited" if error.retry_after is not None else "retry"
                metrics.retried(platform)
            metrics.sent(platform, result)
            log.warning(
                "outbox row %s not delivered (%s)%s",
                row_id,
                error.reason,
                "; giving up" if give_up else f"; retry in {wait}",
            )
            await outbox.mark_failed(
                session=session,
                row_id=row_id,
                error=self._redact(error.reason),
                retry_at=None if give_up else now + wait,
            )
        await self.deliver(follow_up)

    def _redact(self, text: str) -> str:
        """An error as stored: configured secrets replaced, whatever the adapter said."""
        secrets = self.settings.secrets() if self.settings is not None else []
        return clean(redact(text, secrets), one_line=True)

    async def _unreachable(
        self, session: AsyncSession, address: ChatAddress, now: datetime
    ) -> list[int]:
        """Flag the identity and tell the candidate's HR, once; return the notice's row id."""
        identity = await people.mark_unreachable(
            session=session, platform=address.platform, user_id=address.user_id
        )
        if identity is None or identity.candidate_id is None:
            return []
        candidate = await people.get_candidate(session=session, candidate_id=identity.candidate_id)
        if candidate is None or candidate.hr_id is None:
            return []
        hr = await people.get_staff(session=session, staff_id=candidate.hr_id)
        if hr is None:
            return []
        platform = self.i18n.t(hr.language, f"platform.{address.platform}")
        text = self.i18n.t(
            hr.language, "delivery.unreachable", name=candidate.name, platform=platform
        )
        row = await outbox.enqueue(
            session=session,
            kind="notice",
            payload=Outgoing(text).to_json(),
            due_at=now,
            now=now,
            staff_id=hr.id,
        )
        return [] if row is None else [row]
