"""Wiring: settings, database, content, router, dispatcher and the adapters, in one object."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TextIO

import flows
from adapters.base import BaseAdapter
from bot.cache import SharedCache
from bot.clock import FixedClock, SystemClock
from bot.context import Services
from bot.delivery import Courier
from bot.demo import is_empty, seed_demo
from bot.dispatcher import Dispatcher
from bot.handlers import bare_code, build_router
from bot.i18n import I18n
from bot.importer import ImportReport
from bot.settings import Settings
from bot.web import WebServer
from content import ContentPack, FaqMatcher, load_content
from flows.engine import FlowEngine
from storage import migrate
from storage.db import Database

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 30


class StartupError(Exception):
    """The bot cannot start; the message is one line for the operator."""


class App:
    """One bot process."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: SystemClock | FixedClock | None = None,
        content: ContentPack | None = None,
        db: Database | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = db or Database(settings.database_url)
        self.i18n = I18n(settings.default_language)
        self.content = content or load_content()
        self.router = build_router()
        self.router.include(flows.router)
        self.flows = FlowEngine(flows.ALL_FLOWS)
        self.courier = Courier(self.db, self.clock, self.i18n)
        self.services = Services(
            settings,
            self.clock,
            self.i18n,
            self.content,
            self.router,
            self.flows,
            self.courier,
            FaqMatcher(self.content.faq),
        )
        self.dispatcher = Dispatcher(db=self.db, services=self.services, courier=self.courier)
        self.dispatcher.interceptors.append(self.flows.intercept)
        self.dispatcher.text_handlers.append(bare_code)
        self.dispatcher.text_handlers.extend(flows.TEXT_HANDLERS)
        self.adapters: list[BaseAdapter] = []

    async def prepare(self) -> None:
        """Check the database answers and bring its schema up to date."""
        if not await self.db.ping():
            raise StartupError(
                f"cannot reach the database at {self.db.engine.url!r} (DATABASE_URL)"
            )
        await migrate.upgrade(self.db.engine)

    async def seed_demo_if_empty(self, *, console: bool) -> ImportReport | None:
        async with self.db.session() as session:
            if not await is_empty(session=session):
                return None
            now = self.clock.now()
            return await seed_demo(
                session=session,
                now=now,
                today=now.astimezone(self.settings.timezone).date(),
                ttl_days=self.settings.invite_ttl_days,
                console=console,
            )

    def add_adapter(self, adapter: BaseAdapter) -> None:
        adapter.attach(self.dispatcher)
        self.courier.register(adapter)
        self.adapters.append(adapter)

    async def run_console(self, stdin: TextIO, stdout: TextIO, *, interactive: bool) -> None:
        from adapters.console import ConsoleAdapter
        from bot.console_directory import StorageDirectory

        clock = self.clock
        if not isinstance(clock, SystemClock | FixedClock):
            raise StartupError("the console needs a movable clock")
        console = ConsoleAdapter(
            directory=StorageDirectory(self.db, clock, self.i18n),
            clock=clock,
            stdin=stdin,
            stdout=stdout,
            interactive=interactive,
            on_clock_moved=self.courier.drain_quietly,
        )
        self.add_adapter(console)
        await console.start()
        await self.courier.drain()
        await console.run()

    async def run_platforms(self, stop: asyncio.Event) -> None:
        """Serve every configured platform until ``stop`` is set."""
        from adapters import build_platform_adapters

        cache = SharedCache(self.db, self.clock)
        adapters = build_platform_adapters(self.settings, cache=cache, clock=self.clock)
        web = WebServer(self.db, self.settings.http_host, self.settings.http_port)
        for adapter in adapters:
            self.add_adapter(adapter)
            web.add_routes(adapter.routes())
        try:
            await web.start()
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {self.settings.http_host}:{self.settings.http_port} "
                f"(HTTP_HOST/HTTP_PORT): {exc.strerror}"
            ) from exc
        try:
            for adapter in adapters:
                await adapter.start()
                log.info("%s adapter started", adapter.platform)
            while not stop.is_set():
                await self.housekeeping()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), HOUSEKEEPING_SECONDS)
        finally:
            await self.dispatcher.drain_background()
            await web.stop()

    async def housekeeping(self) -> None:
        """Pick up deliveries and sends left behind by a process that died."""
        try:
            await self.dispatcher.recover()
            async with self.db.session() as session:
                ids = await flows.escalate_tickets(session, self.services, self.clock.now())
            await self.courier.deliver(ids)
            await self.courier.drain()
        except Exception:
            log.exception("housekeeping failed")

    async def close(self) -> None:
        for adapter in self.adapters:
            await adapter.stop()
        await self.db.dispose()
