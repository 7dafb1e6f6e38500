"""The bot's one HTTP server: health check, platform webhooks, link redirects.

Adapters contribute routes (:class:`adapters.base.Route`); this module owns
the server, the 1 MiB body limit and the rule that no request ever sees a
traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from storage.db import Database

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """413 for large bodies before reading them; 500 without details on a bug."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return web.json_response({"error": "request body too large"}, status=413)
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)


class WebServer:
    """Serves ``/healthz`` and whatever routes the adapters need."""

    def __init__(self, db: Database, host: str, port: int) -> None:
        self.db = db
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[_guard])
        self.app.router.add_get("/healthz", self.healthz)
        self._runner: web.AppRunner | None = None

    def add_routes(self, routes: Sequence[Any]) -> None:
        for route in routes:
            self.app.router.add_route(route.method, route.path, route.handler)

    async def healthz(self, request: web.Request) -> web.Response:
        database = await self.db.ping()
        body = {"status": "ok" if database else "degraded", "database": database}
        return web.json_response(body, status=200 if database else 503)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
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
