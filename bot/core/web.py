"""The bot's one HTTP server: health check, platform webhooks, link redirects.

Adapters contribute routes (:class:`adapters.base.Route`); this module owns
the server, the 1 MiB body limit and the rule that no request ever sees a
traceback, nor puts one in the log unless the bot itself failed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http import HttpProcessingError

from bot.core.clock import Clock, SystemClock
from storage import links
from storage.db import Database, is_unavailable

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
# What storage.links.create_token makes (URL-safe base64), within the column's 32 characters.
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,32}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


RETRY_AFTER_SECONDS = 5  # what a 503 asks the platform to wait


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
    """Serves ``/healthz``, tracked links ``/r/{token}`` and whatever routes the adapters need."""

    def __init__(self, db: Database, host: str, port: int, *, clock: Clock | None = None) -> None:
        self.db = db
        self.host = host
        self.port = port
        self.clock = clock or SystemClock()
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[_guard])
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/r/{token}", self.redirect)
        self._runner: web.AppRunner | None = None

    def add_routes(self, routes: Sequence[Any]) -> None:
        for route in routes:
            self.app.router.add_route(route.method, route.path, route.handler)

    async def healthz(self, request: web.Request) -> web.Response:
        database = await self.db.ping()
        body = {"status": "ok" if database else "degraded", "database": database}
        return web.json_response(body, status=200 if database else 503)

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
