"""Tracked links: unguessable tokens, click counting, and the click as an interaction."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.core.clock import FixedClock
from storage import links
from storage.db import Database
from storage.models import Interaction, LinkToken
from tests.storage.factories import make_candidate, pk


async def test_create_token_stores_the_link(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now))
        tokens = [
            await links.create_token(
                session=session,
                candidate_id=cid,
                item_id="culture-1",
                url="https://example.com/a",
                now=now,
            )
            for _ in range(20)
        ]
    assert len(set(tokens)) == 20
    assert all(len(t) == 16 and t.replace("-", "").replace("_", "").isalnum() for t in tokens)
    async with database.session() as session:
        stored = await session.get(LinkToken, tokens[0])
        count = len((await session.exec(select(LinkToken))).all())
    assert count == 20
    assert stored is not None
    assert (stored.candidate_id, stored.item_id, stored.url) == (
        cid,
        "culture-1",
        "https://example.com/a",
    )
    assert stored.created_at == now and stored.clicks == 0


async def test_click_counts_and_logs_the_candidates_interaction(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now))
        token = await links.create_token(
            session=session, candidate_id=cid, item_id="video-2", url="https://v.example/2", now=now
        )
        no_item = await links.create_token(
            session=session, candidate_id=cid, item_id=None, url="https://v.example/3", now=now
        )
        anonymous = await links.create_token(
            session=session, candidate_id=None, item_id="x", url="https://example.com", now=now
        )
    for n in range(2):
        async with database.session() as session:
            link = await links.click(session=session, token=token, now=now + timedelta(minutes=n))
        assert link is not None and link.url == "https://v.example/2"
    async with database.session() as session:
        await links.click(session=session, token=no_item, now=now)
        # Nobody to credit an anonymous link's click to; an unknown token is no link.
        assert await links.click(session=session, token=anonymous, now=now) is not None
        assert await links.click(session=session, token="no-such-token", now=now) is None
    async with database.session() as session:
        stored = await session.get(LinkToken, token)
        other = await session.get(LinkToken, no_item)
        anon = await session.get(LinkToken, anonymous)
        logged = (await session.exec(select(Interaction).order_by(col(Interaction.id)))).all()
    assert stored is not None and stored.clicks == 2
    assert other is not None and other.clicks == 1
    assert anon is not None and anon.clicks == 1
    assert [(i.candidate_id, i.kind, i.detail, i.at) for i in logged] == [
        (cid, "click", "video-2", now),
        (cid, "click", "video-2", now + timedelta(minutes=1)),
        (cid, "click", "", now),
    ]
    assert all(i.identity_id is None and i.staff_id is None for i in logged)
