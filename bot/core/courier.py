"""The courier: sends outbox rows through the platform adapters and records the outcome.

Scheduled rows follow the sender rules: a push, reminder, broadcast or staff
alert is not sent in the recipient's quiet hours (the row waits until the
morning, which is not an attempt; staff use DEFAULT_TIMEZONE), and a row past
its ``expires_at`` is marked expired instead of being sent late.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

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
# One drain sends at most this many rows (a bound, so a drain always ends).
DRAIN_MAX_ROWS = 5000


class Transport(Protocol):
    """What the core needs of an adapter: sending, and fetching users' files."""

    @property
    def platform(self) -> str: ...

    async def send(self, to: ChatAddress, message: Outgoing) -> None: ...

    async def download(self, attachment: Attachment) -> bytes: ...


def backoff(attempt: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempt - 1)))


class Courier:
    """Delivers outbox rows; a row is claimed with a lease so only one process sends it."""

    def __init__(
        self, db: Database, clock: Clock, i18n: I18n, settings: Settings | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.i18n = i18n
        # Without settings (tests of the bare courier) there are no quiet hours.
        self.settings = settings
        self.transports: dict[str, Transport] = {}

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
        for row_id in ids:
            await self._send_one(row_id)

    async def drain(self, limit: int = 200, max_rows: int = DRAIN_MAX_ROWS) -> int:
        """Send every row that is due (or whose sender died); return how many were tried.

        Works in batches of ``limit`` until nothing more is due. Each row is
        tried at most once per drain, so a row retried or deferred to "now"
        does not keep the drain going; ``max_rows`` bounds one drain.
        """
        tried: set[int] = set()
        while len(tried) < max_rows:
            async with self.db.session() as session:
                ids = await outbox.due_ids(
                    session=session,
                    now=self.clock.now(),
                    limit=min(limit, max_rows - len(tried)),
                    exclude=tried,
                )
            if not ids:
                break
            tried.update(ids)
            await self.deliver(ids)
        return len(tried)

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

    async def _claim(self, row_id: int) -> tuple[Outbox, ChatAddress | None] | None:
        """Claim the row and find where it goes, in one transaction; None when it is not
        ours to send now (taken, not due), expired, or handed back for the morning."""
        now = self.clock.now()
        async with self.db.session() as session:
            row = await outbox.claim(session=session, row_id=row_id, now=now)
            if row is None:
                return None
            if row.expires_at is not None and row.expires_at <= now:
                log.info("outbox row %s expired at %s; not sent", row_id, row.expires_at)
                await outbox.mark_expired(session=session, row_id=row_id)
                return None
            tz = await self._quiet_zone(session, row)
            if tz is not None and self.settings is not None:
                start, end = self.settings.quiet_hours_start, self.settings.quiet_hours_end
                if is_quiet(now, tz, start, end):
                    until = next_allowed(now, tz, start, end)
                    log.info("outbox row %s waits for quiet hours to end (%s)", row_id, until)
                    await outbox.defer(session=session, row_id=row_id, until=until)
                    return None
            return row, await self._address(session, row)

    async def _send_one(self, row_id: int) -> None:
        claimed = await self._claim(row_id)
        if claimed is None:
            return
        row, address = claimed
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
        now = self.clock.now()
        follow_up: list[int] = []
        async with self.db.session() as session:
            if error is not None and error.unreachable and address is not None:
                follow_up = await self._unreachable(session, address, now)
            if error is None:
                await outbox.mark_sent(session=session, row_id=row_id, now=now)
                return
            attempts = row.attempts + 1
            give_up = error.permanent or attempts >= MAX_ATTEMPTS
            wait = (
                timedelta(seconds=error.retry_after)
                if error.retry_after is not None
                else backoff(attempts)
            )
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
