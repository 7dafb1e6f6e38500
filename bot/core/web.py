"""The bot's one HTTP server: health checks, metrics, platform webhooks, link redirects.

Adapters contribute routes (:class:`adapters.base.Route`); this module owns
the server, the 1 MiB body limit and the rule that no request ever sees a
traceback, nor puts one in the log unless the bot itself failed. Every request
gets a request id (:mod:`bot.core.trace`), answered in ``X-Request-Id``; the
server owns the process's :class:`~bot.core.metrics.Metrics` (``/metrics``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http import HttpProcessingError

from bot.core import metrics as recording
from bot.core import trace
from bot.core.clock import Clock, SystemClock
from bot.core.metrics import Metrics
from storage import health, links
from storage.db import Database, is_unavailable

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
# What storage.links.create_token makes (URL-safe base64), within the column's 32 characters.
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,32}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


RETRY_AFTER_SECONDS = 5  # what a 503 asks the platform to wait
# How long /readyz and /metrics wait for the database before answering without it.
DATABASE_WAIT_SECONDS = 2.0
REQUEST_ID = "X-Request-Id"
REQUEST_ID_KEY = web.RequestKey("request_id", str)


@web.middleware
async def _trace(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind the request id (the caller's when short and safe) for everything this
    request does, including what it hands to the inbox's workers."""
    request_id = trace.accept(request.headers.get(REQUEST_ID))
    request[REQUEST_ID_KEY] = request_id
    with trace.bound(request_id):
        started = time.monotonic()
        response = await handler(request)
        log.debug(
            "%s %s %s in %.1f ms",
            request.method,
            request.path,
            response.status,
            (time.monotonic() - started) * 1000,
        )
        return response


async def _answer_request_id(request: web.Request, response: web.StreamResponse) -> None:
    request_id = request.get(REQUEST_ID_KEY)
    if request_id is not None:
        response.headers[REQUEST_ID] = request_id


def _inbound_result(status: int) -> str:
    if status == 503:
        return "unavailable"
    return "error" if status >= 500 else "refused"


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """413 for large bodies before reading them; 400 for a body that cannot be read
    (corrupt gzip or deflate, broken chunks); 503 while the database is away (one line
    in the log each, not a traceback per request); 500 without details on a bug."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return web.json_response({"error": "request body too large"}, status=413)
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except web.RequestPayloadError as exc:  # raised by request.read(): the client's fault
        log.warning("%s %s: unreadable body (%s)", request.method, request.path, exc)
        return web.json_response({"error": "unreadable request body"}, status=400)
    except Exception as exc:
        if is_unavailable(exc):
            log.warning(
                "%s %s: database unavailable (%s)", request.method, request.path, type(exc).__name__
            )
            return web.json_response(
                {"error": "temporarily unavailable"},
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        log.exception("%s %s failed", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)


class _ServerLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's request-handler log, except that a request which is not valid HTTP
    (bad header bytes, lines too long: anyone can send one; aiohttp answers 400), or
    whose unread rest of a broken body aiohttp fails to skip, is one line at INFO
    rather than an ERROR with the parser's traceback."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError | web.RequestPayloadError):
            code = getattr(exc_info, "code", 400)
            self.info("malformed HTTP request refused (%s %s)", code, type(exc_info).__name__)
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


def _not_found() -> web.Response:
    return web.Response(status=404, text="link not found\n")


class WebServer:
    """Serves ``/healthz``, ``/livez``, ``/readyz``, ``/metrics``, tracked links
    ``/r/{token}`` and whatever routes the adapters need.

    It creates the process's :class:`Metrics` (or takes ``metrics``) and installs it,
    so the core's recording reaches this server's ``/metrics``.
    """

    def __init__(
        self,
        db: Database,
        host: str,
        port: int,
        *,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        self.host = host
        self.port = port
        self.clock = clock or SystemClock()
        self.metrics = metrics or Metrics()
        recording.install(self.metrics)  # the process's: what the core records lands here
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[_trace, _guard])
        self.app.on_response_prepare.append(_answer_request_id)
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/livez", self.livez)
        self.app.router.add_get("/readyz", self.readyz)
        self.app.router.add_get("/metrics", self.metrics_page)
        self.app.router.add_get("/r/{token}", self.redirect)
        self._runner: web.AppRunner | None = None

    def add_routes(self, routes: Sequence[Any], *, platform: str | None = None) -> None:
        """Add an adapter's routes; with ``platform``, their answers are counted as that
        platform's inbound results (refused, unavailable, error) and acknowledgement time."""
        for route in routes:
            handler = route.handler if platform is None else _counted(platform, route.handler)
            self.app.router.add_route(route.method, route.path, handler)

    async def healthz(self, request: web.Request) -> web.Response:
        database = await self.db.ping()
        body = {"status": "ok" if database else "degraded", "database": database}
        return web.json_response(body, status=200 if database else 503)

    async def livez(self, request: web.Request) -> web.Response:
        """The process runs and its event loop answers; nothing else is checked."""
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        """Ready when the database answers and its schema is at the migrations' head."""
        try:
            async with asyncio.timeout(DATABASE_WAIT_SECONDS):
                async with self.db.session(urgent=True) as session:
                    revisions = await health.database_revisions(session=session)
        except Exception as exc:  # unreachable, timed out, refused: not ready, whatever it is
            reason = f"database unavailable: {type(exc).__name__}"
            log.warning("/readyz: %s", reason)
            return web.json_response({"status": "unavailable", "reason": reason}, status=503)
        heads = sorted(health.script_heads(self.db.url))
        if revisions != heads:
            body = {
                "status": "unavailable",
                "reason": "database schema is not at the migrations' head (run db upgrade)",
                "database_revision": revisions,
                "head_revision": heads,
            }
            return web.json_response(body, status=503)
        return web.json_response({"status": "ready", "revision": heads})

    async def metrics_page(self, request: web.Request) -> web.Response:
        """The Prometheus text format; the database's gauges are read now (without them,
        and ``preboard_database_up 0``, when it does not answer in time)."""
        outbox: dict[tuple[str, str], int] | None = None
        unprocessed: int | None = None
        try:
            async with asyncio.timeout(DATABASE_WAIT_SECONDS):
                async with self.db.session(urgent=True) as session:
                    outbox = await health.outbox_depth(session=session)
                    unprocessed = await health.unprocessed_inbox(session=session)
        except Exception as exc:
            if not (is_unavailable(exc) or isinstance(exc, TimeoutError)):
                raise
            log.warning("/metrics: database unavailable (%s)", type(exc).__name__)
        self.metrics.observe_storage(outbox, unprocessed)
        return web.Response(
            body=self.metrics.render(), headers={"Content-Type": recording.CONTENT_TYPE}
        )

    async def redirect(self, request: web.Request) -> web.StreamResponse:
        """A tracked link: count the click (an interaction of the candidate), then 302."""
        token = request.match_info["token"]
        if not TOKEN.fullmatch(token):
            return _not_found()
        async with self.db.session() as session:
            link = await links.click(session=session, token=token, now=self.clock.now())
        if link is None:
            return _not_found()
        if urlsplit(link.url).scheme not in ("http", "https"):
            log.warning("tracked link %s has a non-web URL; not redirecting", token)
            return _not_found()
        raise web.HTTPFound(link.url)

    async def start(self) -> None:
        server_log = _ServerLog(logging.getLogger("aiohttp.server"))
        self._runner = web.AppRunner(self.app, access_log=None, logger=server_log)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("HTTP server on http://%s:%s", self.host, self.port)

    @property
    def bound_port(self) -> int:
        """The actual port (useful when started on port 0 in tests)."""
        assert self._runner is not None
        for site in self._runner.sites:
            server = getattr(site, "_server", None)
            if server is not None and server.sockets:
                return int(server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if recording.current() is self.metrics:
            recording.install(None)


def _counted(platform: str, handler: Handler) -> Handler:
    """``handler``, with its answer time and a refused or failed answer counted."""

    async def counted(request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        status: int | None = None
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except Exception as exc:  # _guard answers it: 503 while the database is away
            status = 503 if is_unavailable(exc) else 500
            raise
        finally:
            if status is not None:  # None: cancelled (the client went away)
                recording.webhook(platform, time.monotonic() - started)
                if status >= 400:
                    recording.inbound(platform, _inbound_result(status))

    return counted
