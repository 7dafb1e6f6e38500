"""From an inbound message to committed state and queued replies.

One message is one transaction: the delivery is claimed (a redelivery stops
here), the identity touched, the interaction logged, the handler run and its
replies written to the outbox, all committed together. Only then are the
replies sent, so a crash never leaves a reply for a step that did not happen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.context import Context, Services, resolve_actor
from bot.delivery import Courier
from bot.messages import Incoming, Outgoing
from bot.router import Parsed
from storage import events, interactions, outbox, people
from storage.db import Database

log = logging.getLogger(__name__)

# Runs before command routing; returns True when it handled the message.
Interceptor = Callable[[Context, Parsed], Awaitable[bool]]
# Runs for text that is not a command; returns True when it handled the message.
TextHandler = Callable[[Context], Awaitable[bool]]


class Dispatcher:
    """Routes inbound messages to handlers by role and command."""

    def __init__(self, *, db: Database, services: Services, courier: Courier) -> None:
        self.db = db
        self.services = services
        self.courier = courier
        self.interceptors: list[Interceptor] = []
        self.text_handlers: list[TextHandler] = []

    async def handle(self, message: Incoming) -> None:
        """Process one delivery; safe to call again with the same delivery."""
        try:
            ids = await self._process(message)
        except Exception:
            log.exception("handling %s event %s failed", message.sender.platform, message.event_id)
            ids = await self._apologise(message)
        await self.courier.deliver(ids)

    async def _process(self, message: Incoming) -> list[int]:
        services = self.services
        now = services.clock.now()
        sender = message.sender
        async with self.db.session() as session:
            fresh = await events.claim_inbound_event(
                session=session, platform=sender.platform, event_id=message.event_id, now=now
            )
            if not fresh:
                log.info("duplicate %s event %s ignored", sender.platform, message.event_id)
                return []
            identity = await people.touch_identity(
                session=session,
                platform=sender.platform,
                user_id=sender.user_id,
                chat_id=sender.chat_id,
                display_name=sender.display_name,
                now=now,
            )
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
            return await self._enqueue(ctx)

    async def _route(self, ctx: Context) -> None:
        router = self.services.router
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
        found = self.services.router.payload_handler(payload)
        if found is None:
            ctx.reply(ctx.t("common.button_expired"))
            return
        handler, roles, args = found
        if ctx.actor.role not in roles:
            ctx.reply(ctx.t("common.not_allowed"))
            return
        await handler(ctx, args)

    async def _enqueue(self, ctx: Context) -> list[int]:
        ids: list[int] = []
        for reply in ctx.replies:
            row = await outbox.enqueue(
                session=ctx.session,
                kind="reply",
                payload=reply.to_json(),
                due_at=ctx.now,
                now=ctx.now,
                identity_id=ctx.actor.identity.id,
            )
            if row is not None:
                ids.append(row)
        for notice in ctx.notices:
            row = await outbox.enqueue(
                session=ctx.session,
                kind="notice",
                payload=notice.message.to_json(),
                due_at=ctx.now,
                now=ctx.now,
                candidate_id=notice.candidate_id,
                staff_id=notice.staff_id,
            )
            if row is not None:
                ids.append(row)
        return ids

    async def _apologise(self, message: Incoming) -> list[int]:
        """After a handler error: claim the delivery and tell the person, in a fresh transaction."""
        services = self.services
        now = services.clock.now()
        sender = message.sender
        try:
            async with self.db.session() as session:
                await events.claim_inbound_event(
                    session=session, platform=sender.platform, event_id=message.event_id, now=now
                )
                identity = await people.touch_identity(
                    session=session,
                    platform=sender.platform,
                    user_id=sender.user_id,
                    chat_id=sender.chat_id,
                    display_name=sender.display_name,
                    now=now,
                )
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
            return []
        return [row] if row is not None else []
