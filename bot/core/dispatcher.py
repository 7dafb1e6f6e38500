"""From an inbound message to committed state and queued replies.

A delivery is first stored in the inbox (``inbound_events``); a redelivery of
the same platform event id stops there. Processing is one transaction: lock
the stored event, touch the identity, log the interaction, run the handler,
write its replies to the outbox and mark the event processed, all committed
together. Only then are the replies sent, so a crash never leaves a reply for
a step that did not happen, and a stored event whose process died is picked up
again by :meth:`Dispatcher.recover`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import metrics, trace
from bot.core.admins import notify_admins
from bot.core.context import Context, Services, resolve_actor
from bot.core.courier import Claimed, Courier
from bot.core.i18n import LANGUAGES
from bot.core.inbox import InboxWriter, Job, Workers
from bot.core.messages import ChatAddress, CommandMenu, Incoming, Outgoing, Sender
from bot.core.router import Parsed, Router
from bot.core.text import clean
from storage import events, interactions, outbox, people
from storage.db import Database, is_unavailable
from storage.models import Identity, Outbox, Role

log = logging.getLogger(__name__)

# Runs before command routing; returns True when it handled the message.
Interceptor = Callable[[Context, Parsed], Awaitable[bool]]
# Runs for text that is not a command; returns True when it handled the message.
TextHandler = Callable[[Context], Awaitable[bool]]
# Runs after the handler, in the same transaction (e.g. re-score the candidate).
AfterRoute = Callable[[Context], Awaitable[None]]

RECOVER_AFTER = timedelta(seconds=30)
MAX_ATTEMPTS = 5  # tries of a delivery whose failure cannot even be recorded, then parked


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1, 2, 4 minutes ... at most an hour, after the ``attempts``-th failure."""
    return min(timedelta(hours=1), RECOVER_AFTER * 2 ** max(0, attempts - 1))


class Dispatcher:
    """Routes inbound messages to handlers by role and command."""

    def __init__(
        self, *, db: Database, services: Services, courier: Courier, router: Router
    ) -> None:
        self.db = db
        self.router = router
        self.services = services
        self.courier = courier
        self.interceptors: list[Interceptor] = []
        self.text_handlers: list[TextHandler] = []
        self.after_route: list[AfterRoute] = []
        settings = services.settings
        self.inbox = InboxWriter(db, services.clock)
        self.workers = Workers(self._take, settings.inbox_workers, settings.inbox_backlog)
        # Messages from one person are handled one after another in this process
        # (an optimisation only: the database keeps other processes correct).
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # A worker never waits for a busy person: their next deliveries are handed over
        # to whoever is processing them (whose replies may be paced by the platform).
        self._handed: dict[tuple[str, str], deque[tuple[Job, str | None]]] = {}
        self._no_handovers = asyncio.Event()
        self._no_handovers.set()

    # ---- entry points for adapters ---------------------------------------------------

    async def handle(self, message: Incoming) -> None:
        """Store and process one delivery now (polling, console); safe to repeat."""
        platform = message.sender.platform
        with trace.bound(trace.current() or trace.new_id()):
            if await self._store(message):
                stored = time.monotonic()
                await self._process(platform, message.event_id, message)
                metrics.processed(platform, time.monotonic() - stored)
                await self.services.deferred.flush()  # whoever reads next sees its effects

    async def submit(self, message: Incoming) -> bool:
        """Store a delivery and queue it for the workers (webhooks).

        Returns once the event is durable (stored with the others that arrived with
        it, in one commit), so the webhook can be acknowledged; False when it was a
        redelivery. A full queue leaves it in the inbox for :meth:`recover`.
        """
        if not await self._store(message):
            return False
        self.workers.offer((message.sender.platform, message.event_id, message))
        return True

    async def recover(self) -> int:
        """Process events stored long ago but never processed; return how many."""
        cutoff = self.services.clock.now() - RECOVER_AFTER
        async with self.db.session() as session:
            stale = await events.stale_unprocessed(
                session=session, older_than=cutoff, now=self.services.clock.now()
            )
        for event in stale:
            if event.payload is not None:
                message = Incoming.from_json(event.payload)
                with trace.bound(trace.new_id()):  # its webhook's id was not stored
                    await self._process(event.platform, event.event_id, message)
        return len(stale)

    async def command_menus(self, platform: str) -> list[CommandMenu]:
        """Menus for platforms that show one: newcomers' and candidates' commands for
        everyone (per language), and each staff member's own in their chat."""
        i18n = self.services.i18n
        router = self.router

        def menu(roles: tuple[Role | None, ...], lang: str | None) -> tuple[tuple[str, str], ...]:
            entries = {"start": i18n.t(lang, "help.start")}
            for role in roles:
                for entry in router.help_for(role):
                    entries.setdefault(entry.name, i18n.t(lang, entry.help_key))
            return tuple(entries.items())

        menus = [
            CommandMenu(None, lang, menu((None, Role.CANDIDATE), lang))
            for lang in (None, *LANGUAGES)
        ]
        async with self.db.session() as session:
            staff = await people.staff_identities(session=session, platform=platform)
        settings = self.services.settings
        for identity, member in staff:
            admin = settings.is_admin(platform, identity.user_id)
            role = Role.ADMIN if admin else Role(member.role)
            lang = member.language
            menus.append(CommandMenu(identity.chat_id, lang, menu((role,), lang)))
        return menus

    async def drain_background(self) -> None:
        """Wait for background processing to finish (shutdown, tests)."""
        await self.workers.join()
        await self._no_handovers.wait()
        await self.services.deferred.flush()

    async def stop(self) -> None:
        """Finish what is queued and deferred, then stop the workers."""
        await self.drain_background()
        await self.workers.stop()
        await self.services.deferred.stop()

    # ---- processing ------------------------------------------------------------------

    async def _store(self, message: Incoming) -> bool:
        fresh = await self.inbox.store(message)
        metrics.inbound(message.sender.platform, "stored" if fresh else "duplicate")
        if not fresh:
            log.info("duplicate %s event %s ignored", message.sender.platform, message.event_id)
        return fresh

    async def _take(self, platform: str, event_id: str, message: Incoming) -> None:
        """A worker's job: process it, unless its sender is being processed already; then
        it is handed over and this worker is free for someone else at once."""
        key = (message.sender.platform, message.sender.user_id)
        lock = self._locks.get(key)
        if lock is not None and lock.locked():
            job = (platform, event_id, message)
            self._handed.setdefault(key, deque()).append((job, trace.current()))
            self._no_handovers.clear()
            return
        await self._process(platform, event_id, message)

    async def _process(self, platform: str, event_id: str, message: Incoming) -> None:
        key = (message.sender.platform, message.sender.user_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            try:
                await self._process_locked(platform, event_id, message)
                while handed := self._handed.get(key):
                    job, request_id = handed.popleft()
                    with trace.bound(request_id or trace.new_id()):
                        await self._process_locked(*job)
            finally:  # cut off (a stop): what was handed over waits in the inbox (recover)
                self._handed.pop(key, None)
                if not self._handed:
                    self._no_handovers.set()

    async def _process_locked(self, platform: str, event_id: str, message: Incoming) -> None:
        replies: list[Claimed] = []
        try:
            replies, ids = await self._run(platform, event_id, message)
        except Exception as exc:
            error = clean(f"{type(exc).__name__}: {exc}", one_line=True)
            if is_unavailable(exc):  # the database's fault, not the message's: try again
                log.warning(
                    "database unavailable while handling %s event %s (%s); will retry",
                    platform,
                    event_id,
                    type(exc).__name__,
                )
                await self._record_attempt(platform, event_id, message.sender, error)
                return
            log.exception("handling %s event %s failed", platform, event_id)
            apology = await self._apologise(message, error)
            if apology is None:  # not even the failure could be recorded
                await self._record_attempt(platform, event_id, message.sender, error)
            ids = apology or []
        # Inside the lock, so one person's replies arrive in the order they wrote.
        await self.courier.deliver_claimed(replies)
        await self.courier.deliver(ids)
        self.services.deferred.kick()  # e.g. re-score the sender, batched with others

    async def _run(
        self, platform: str, event_id: str, message: Incoming
    ) -> tuple[list[Claimed], list[int]]:
        """Handle the delivery in one transaction: the replies to the sender, written
        already leased (sent by this process right after the commit, with no claim of
        their own), and the ids of the other rows to send now."""
        services = self.services
        now = services.clock.now()
        async with self.db.session() as session:
            stored = await events.lock_unprocessed(
                session=session, platform=platform, event_id=event_id
            )
            if stored is None:
                return [], []  # another process (or an earlier try) handled it
            identity = await self._identity(session, message, now)
            await interactions.record_interaction(
                session=session,
                identity=identity,
                kind=message.kind,
                detail=message.payload
                or message.text
                or ",".join(a.name or a.kind for a in message.attachments),
                at=now,
            )
            actor = await resolve_actor(
                session=session, identity=identity, settings=services.settings
            )
            ctx = Context(session, services, actor, message, now)
            await self._route(ctx)
            for hook in self.after_route:
                await hook(ctx)
            replies = await self._replies(ctx)
            ids = [*await self._notices(ctx), *ctx.outbox_ids]
            await events.mark_processed(
                session=session, platform=platform, event_id=event_id, now=now
            )
            return replies, ids

    @staticmethod
    async def _identity(session: AsyncSession, message: Incoming, now: datetime) -> Identity:
        """The sender's identity, created on first contact and marked seen."""
        sender = message.sender
        return await people.touch_identity(
            session=session,
            platform=sender.platform,
            user_id=sender.user_id,
            chat_id=sender.chat_id,
            display_name=sender.display_name,
            now=now,
        )

    async def _route(self, ctx: Context) -> None:
        router = self.router
        message = ctx.message
        parsed = router.parse(message.text) if message.payload is None else Parsed(None, None, "")
        for interceptor in self.interceptors:
            if await interceptor(ctx, parsed):
                return
        if message.payload is not None:
            await self._route_payload(ctx, message.payload)
            return
        if parsed.command is not None:
            command = parsed.command
            if ctx.actor.role in command.roles:
                await command.handler(ctx, parsed.args)
            elif ctx.actor.role is None:
                ctx.reply(ctx.t("bind.required"))
            else:
                ctx.reply(ctx.t("common.not_allowed"))
            return
        if parsed.word is not None:
            ctx.reply(ctx.t("common.unknown_command", command="/" + parsed.word))
            await router.get("help").handler(ctx, "")
            return
        for handler in self.text_handlers:
            if await handler(ctx):
                return
        ctx.reply(ctx.t("common.not_understood"))

    async def _route_payload(self, ctx: Context, payload: str) -> None:
        found = self.router.payload_handler(payload)
        if found is None:
            ctx.reply(ctx.t("common.button_expired"))
            return
        handler, roles, args = found
        if ctx.actor.role not in roles:
            ctx.reply(ctx.t("common.not_allowed"))
            return
        await handler(ctx, args)

    async def _replies(self, ctx: Context) -> list[Claimed]:
        """The replies to the sender, as leased rows: their address is the identity that
        just wrote (reachable: it wrote), and replies keep no quiet hours."""
        identity = ctx.actor.identity
        address = ChatAddress(identity.platform, identity.user_id, identity.chat_id)
        claimed: list[Claimed] = []
        for reply in ctx.replies:
            payload = reply.to_json()
            row_id = await outbox.enqueue(
                session=ctx.session,
                kind="reply",
                payload=payload,
                due_at=ctx.now,
                now=ctx.now,
                identity_id=identity.id,
                leased=True,
            )
            if row_id is not None:
                row = Outbox(
                    id=row_id,
                    kind="reply",
                    payload=payload,
                    identity_id=identity.id,
                    due_at=ctx.now,
                    created_at=ctx.now,
                    attempts=0,
                )
                claimed.append(Claimed(row, address))
        return claimed

    async def _notices(self, ctx: Context) -> list[int]:
        ids: list[int] = []
        for n in ctx.notices:
            row = await outbox.enqueue(
                session=ctx.session,
                kind="notice",
                payload=n.message.to_json(),
                due_at=ctx.now,
                now=ctx.now,
                candidate_id=n.candidate_id,
                staff_id=n.staff_id,
                dedupe_key=n.dedupe_key,
            )
            if row is not None:
                ids.append(row)
        return ids

    async def _record_attempt(
        self, platform: str, event_id: str, sender: Sender, error: str
    ) -> None:
        """Count a failed try so recovery waits, and parks the event after a few."""
        try:
            async with self.db.session() as session:
                attempts = await events.record_attempt(
                    session=session,
                    platform=platform,
                    event_id=event_id,
                    error=error,
                    now=self.services.clock.now(),
                    backoff=retry_delay,
                    max_attempts=MAX_ATTEMPTS,
                )
        except Exception as exc:  # the database itself is away: recovery tries later
            log.warning(
                "could not count the failed try of %s event %s: %s", platform, event_id, exc
            )
            return
        if attempts >= MAX_ATTEMPTS:
            log.error("%s event %s parked after %s failed attempts", platform, event_id, attempts)
            who = sender.display_name or sender.user_id
            await self._tell_admins_parked(platform, event_id, who, attempts, error)

    async def _tell_admins_parked(
        self, platform: str, event_id: str, who: str, attempts: int, error: str
    ) -> None:
        """One notice per parked delivery to each admin, when the database lets us."""
        services = self.services
        now = services.clock.now()
        i18n = services.i18n

        def render(language: str | None) -> Outgoing:
            return Outgoing(
                i18n.t(
                    language,
                    "failed.parked_alert",
                    platform=i18n.t(language, f"platform.{platform}"),
                    who=who,
                    attempts=attempts,
                    error=error[:160],
                )
            )

        try:
            async with self.db.session() as session:
                ids = await notify_admins(
                    session,
                    services.settings,
                    render,
                    now=now,
                    dedupe=f"parked:{platform}:{event_id}",
                )
        except Exception as exc:  # the database is still away: /failed shows it later
            log.warning("could not tell the admins about parked event %s: %s", event_id, exc)
            return
        await self.courier.deliver(ids)

    async def _apologise(self, message: Incoming, error: str) -> list[int] | None:
        """After a handler error: mark the event processed and tell the person; None
        when that failed too."""
        services = self.services
        now = services.clock.now()
        sender = message.sender
        try:
            async with self.db.session() as session:
                await events.mark_processed(
                    session=session,
                    platform=sender.platform,
                    event_id=message.event_id,
                    now=now,
                    error=error,
                )
                identity = await self._identity(session, message, now)
                actor = await resolve_actor(
                    session=session, identity=identity, settings=services.settings
                )
                text = services.i18n.t(actor.language, "common.internal_error")
                row = await outbox.enqueue(
                    session=session,
                    kind="reply",
                    payload=Outgoing(text).to_json(),
                    due_at=now,
                    now=now,
                    identity_id=identity.id,
                )
        except Exception:
            log.exception("could not record the failure of event %s", message.event_id)
            return None
        return [row] if row is not None else []
