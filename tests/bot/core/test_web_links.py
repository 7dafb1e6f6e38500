"""Tracked links: ``GET /r/{token}`` records a click and redirects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlmodel import select

from bot.core.clock import FixedClock
from bot.core.web import WebServer
from bot.runtime.app import App
from storage import links
from storage.models import Interaction, LinkToken
from tests.bot.helpers import add_candidate


@pytest.fixture
async def server(app: App, clock: FixedClock) -> AsyncIterator[WebServer]:
    srv = WebServer(app.db, "127.0.0.1", 0, clock=clock)
    await srv.start()
    yield srv
    await srv.stop()


async def _token(app: App, url: str, candidate_id: int | None, item: str = "team-intro") -> str:
    async with app.db.session() as session:
        return await links.create_token(
            session=session, candidate_id=candidate_id, item_id=item, url=url, now=app.clock.now()
        )


async def _get(server: WebServer, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{server.bound_port}{path}"
        async with http.get(url, allow_redirects=False) as resp:
            return resp.status, resp.headers.get("Location", ""), await resp.text()


async def test_click_is_recorded_and_redirected(
    app: App, server: WebServer, clock: FixedClock
) -> None:
    candidate, _ = await add_candidate(app, "张三")
    target = "https://example.com/team?tab=ai&lang=zh"
    token = await _token(app, target, candidate.id)

    status, location, _ = await _get(server, f"/r/{token}")
    assert (status, location) == (302, target)
    assert (await _get(server, f"/r/{token}"))[:2] == (302, target)

    async with app.db.session() as session:
        link = await session.get(LinkToken, token)
        clicks = (await session.exec(select(Interaction).where(Interaction.kind == "click"))).all()
    assert link is not None and link.clicks == 2
    assert [(c.candidate_id, c.detail, c.at) for c in clicks] == [
        (candidate.id, "team-intro", clock.now())
    ] * 2


async def test_link_without_candidate_still_redirects(app: App, server: WebServer) -> None:
    token = await _token(app, "https://example.com/faq", None)
    assert (await _get(server, f"/r/{token}"))[:2] == (302, "https://example.com/faq")
    async with app.db.session() as session:
        assert not (await session.exec(select(Interaction))).all()


@pytest.mark.parametrize(
    "path",
    [
        "/r/unknownToken123",
        "/r/" + "a" * 33,  # longer than any token
        "/r/bad%20token",
        "/r/%E4%BD%A0%E5%A5%BD",
        "/r/x'%20OR%201=1",
    ],
)
async def test_unknown_or_malformed_token_is_404(app: App, server: WebServer, path: str) -> None:
    status, location, body = await _get(server, path)
    assert status == 404 and not location
    assert body == "link not found\n"


async def test_non_web_url_is_not_redirected(app: App, server: WebServer) -> None:
    token = await _token(app, "javascript:alert(1)", None)
    status, location, body = await _get(server, f"/r/{token}")
    assert status == 404 and not location and "Traceback" not in body
