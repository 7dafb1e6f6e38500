"""One bot process: the core assembled around the parts the composition root hands in.

``run_bot.py`` builds the flow engine (``flows/``) and the platform channels
(``adapters/``) and passes them as :class:`Parts`; this module never imports
either, it only knows the protocols in :mod:`bot.core.channel` and
:mod:`bot.core.context`.

What only serving platforms needs (the web server and aiohttp, the leader election and
asyncpg, the scheduler and APScheduler) is imported by :meth:`App.run_platforms` and
:meth:`App.start_scheduling`, so the console and the other commands start without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

from bot.core.cache import SharedCache
from bot.core.channel import Channel, ConsoleFactory, PlatformFactory
from bot.core.clock import FixedClock, SystemClock
from bot.core.context import Context, FlowStarter, Services
from bot.core.courier import SEND, Courier
from bot.core.dispatcher import Dispatcher, TextHandler
from bot.core.errors import StartupError
from bot.core.i18n import I18n
from bot.core.router import Parsed, Router
from bot.core.settings import Settings
from bot.handlers import bare_code, build_router
from bot.people.demo import is_empty, seed_demo
from bot.people.importer import ImportReport
from bot.pushes import SEND_PLANNED
from bot.runtime.jobs import AFTER_ROUTE, TICK_JOBS
from bot.runtime.shutdown import Deadline, Gate
from bot.runtime.tick import TickJob, run_jobs, timed
from bot.scoring.jobs import RESCORE, rescore
from content import ContentPack, FaqMatcher, load_content
from storage import migrate
from storage.db import Database

if TYPE_CHECKING:
    from bot.runtime.leader import Leader
    from bot.runtime.scheduler import TickScheduler

log = logging.getLogger(__name__)

__all__ = ["App", "Parts", "StartupError"]

HOUSEKEEPING_SECONDS = 30


class FlowEngineLike(FlowStarter, Protocol):
    """The dialog engine: starts flows for handlers and sees messages first."""

    async def intercept(self, ctx: Context, parsed: Parsed) -> bool: ...


@dataclass(frozen=True, slots=True)
class Parts:
    """What the composition root plugs into the core."""

    router: Router  # the dialogs' commands and buttons
    flows: FlowEngineLike
    text_handlers: Sequence[TextHandler]  # free text the dialogs answer
    platforms: PlatformFactory
    console: ConsoleFactory


class App:
    """One bot process."""

    def __init__(
        self,
        settings: Settings,
        parts: Parts,
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
        self.router.include(parts.router)
        self.parts = parts
        self.flows = parts.flows
        self.courier = Courier(self.db, self.clock, self.i18n, settings)
        # Indexes the FAQ on the first question (or run_console's warm-up), not here.
        self.faq = FaqMatcher(self.content.faq)
        self.services = Services(
            settings,
            self.clock,
            self.i18n,
            self.content,
            self.router,
            self.flows,
            self.courier,
            self.faq,
        )
        self.dispatcher = Dispatcher(
            db=self.db, services=self.services, courier=self.courier, router=self.router
        )
        self.dispatcher.interceptors.append(self.flows.intercept)
        self.dispatcher.text_handlers.append(bare_code)
        self.dispatcher.text_handlers.extend(parts.text_handlers)
        self.dispatcher.after_route.extend(AFTER_ROUTE)
        self.services.deferred.register(RESCORE, functools.partial(rescore, self.db, self.services))
        self.services.deferred.register(SEND, self._send_soon)
        self.services.deferred.register(SEND_PLANNED, self._send_soon)  # sent while planning
        self.tick_jobs: list[TickJob] = list(TICK_JOBS)
        self.adapters: list[Channel] = []
        # Set by start_scheduling (run_platforms); without it this process ticks on its own.
        self.leader: Leader | None = None
        self.scheduler: TickScheduler | None = None
        self._tick_lock = asyncio.Lock()
        self._dispatcher_stopped = False

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

    def add_adapter(self, adapter: Channel) -> None:
        adapter.attach(self.dispatcher)
        self.courier.register(adapter)
        self.adapters.append(adapter)

    async def run_console(self, stdin: TextIO, stdout: TextIO, *, interactive: bool) -> None:
        from bot.runtime.console_directory import StorageDirectory

        clock = self.clock
        if not isinstance(clock, SystemClock | FixedClock):
            raise StartupError("the console needs a movable clock")
        console = self.parts.console(
            directory=StorageDirectory(self.db, clock, self.i18n),
            clock=clock,
            stdin=stdin,
            stdout=stdout,
            interactive=interactive,
            on_clock_moved=self.tick,
            tz=self.settings.timezone,
        )
        self.add_adapter(console)
        await console.start()
        await self.tick()  # the console is its own leader: due work first
        if interactive:  # index the FAQ while a person reads the prompt and types
            threading.Thread(target=self.faq.warm, name="faq-warm", daemon=True).start()
        await console.run()

    async def run_platforms(self, stop: asyncio.Event) -> None:
        """Serve every configured platform until ``stop`` is set, then stop gracefully
        (:meth:`shut_down`)."""
        from bot.core.web import RETRY_AFTER_SECONDS, WebServer

        gate = Gate(RETRY_AFTER_SECONDS)
        cache = SharedCache(self.db, self.clock)
        adapters = self.parts.platforms(self.settings, cache=cache, clock=self.clock)
        web = WebServer(self.db, self.settings.http_host, self.settings.http_port, clock=self.clock)
        web.metrics.watch_queue(lambda: self.dispatcher.workers.queued)
        for adapter in adapters:
            self.add_adapter(adapter)
            web.add_routes(gate.guard(adapter.routes()), platform=adapter.platform)
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
            await self.start_scheduling()
            while not stop.is_set():
                await self.housekeeping()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), HOUSEKEEPING_SECONDS)
        finally:
            await self.shut_down(gate)
            await web.stop()

    async def shut_down(self, gate: Gate) -> None:
        """Take no new work, then give the work in flight until SHUTDOWN_GRACE_SECONDS.

        Webhooks answer 503 from now on (requests already inside finish storing), the
        scheduler starts no tick and the courier claims no more rows, queued deliveries
        are processed and replied to, and the sends in flight finish. At the deadline
        what still runs is cut off: its deliveries stay in the inbox for recovery, the
        rows it was sending keep their lease. Leadership is released last.
        """
        deadline = Deadline(self.settings.shutdown_grace_seconds)
        log.info("shutting down: no new deliveries; %.0fs for those in flight", deadline.seconds)
        gate.close()
        for adapter in self.adapters:  # polling and sockets stop receiving first
            stop_receiving = getattr(adapter, "stop_receiving", None)
            if stop_receiving is not None:
                await deadline.within(stop_receiving())
        if self.scheduler is not None:
            self.scheduler.stop()
        await gate.drained(deadline.left())
        # The courier claims no more rows (a drain's queued ones go back to the outbox);
        # replies to the deliveries still queued are sent all the same.
        work = [self.dispatcher.drain_background(), self.courier.stop()]
        if self.scheduler is not None:
            work.append(self.scheduler.idle())
        if not await deadline.within(*work):
            log.warning(
                "shutting down: work still in flight after %.0fs (SHUTDOWN_GRACE_SECONDS) is "
                "cut off; other processes pick it up",
                deadline.seconds,
            )
            if self.scheduler is not None:
                await self.scheduler.cancel()
        await self.dispatcher.workers.stop()
        await deadline.within(self.services.deferred.stop())
        self._dispatcher_stopped = True
        await self.stop_scheduling()
        log.info("shut down: %d deliveries refused while stopping", gate.refused)

    async def start_scheduling(self) -> None:
        """Campaign for leadership; the leader runs the scheduler (ticks), others only serve."""
        from bot.runtime.leader import Leader
        from bot.runtime.scheduler import TickScheduler

        # The leader's ticks hand the sending to a background drain, so a long broadcast
        # does not hold up the next tick's jobs.
        scheduler = TickScheduler(functools.partial(self.tick, wait_for_sends=False), self.settings)
        self.scheduler = scheduler
        self.leader = Leader(
            self.settings.database_url,
            lease_seconds=self.settings.leader_lease_seconds,
            on_elected=scheduler.on_elected,
            on_deposed=scheduler.on_deposed,
        )
        await self.leader.start()

    async def stop_scheduling(self) -> None:
        """Stop ticking, let a running tick finish, and release leadership."""
        if self.scheduler is not None:
            self.scheduler.stop()
            await self.scheduler.idle()
        if self.leader is not None:
            await self.leader.stop()

    async def housekeeping(self) -> None:
        """Every process: pick up deliveries left behind by a process that died.

        Without a leader election (tests, the console, scripts) this process is
        the only one, so it also ticks; under :meth:`start_scheduling` the
        leader's scheduler does that.
        """
        try:
            await self.dispatcher.recover()
            if self.leader is None:
                await self.tick()
        except Exception:
            log.exception("housekeeping failed")

    async def tick(self, *, wait_for_sends: bool = True) -> None:
        """The periodic work: every tick job, then send whatever is due (in the
        background when not ``wait_for_sends``: the scheduler's ticks).

        Runs in the leader only. Ticks never overlap in one process; jobs
        dedupe through the database, so a tick repeated anywhere adds nothing.
        """
        async with self._tick_lock:
            await run_jobs(self.db, self.services, self.tick_jobs)
            if not wait_for_sends:
                self.courier.kick()
                return
            try:
                with timed("courier_drain"):
                    await self.courier.drain()
            except Exception:
                log.exception("draining the outbox failed")

    async def _send_soon(self, _: frozenset[int]) -> None:
        """Rows written for sending right away (a broadcast) go once committed."""
        self.courier.kick()

    async def close(self) -> None:
        await self.courier.stop()
        await self.stop_scheduling()
        if not self._dispatcher_stopped:  # shut_down has stopped it (maybe cut it off)
            await self.dispatcher.stop()
        for adapter in self.adapters:
            await adapter.stop()
        await self.db.dispose()
