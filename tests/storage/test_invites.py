"""Invite codes (open, used, expired) and the failed binding attempts behind the lockout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.core.clock import FixedClock
from storage import invites
from storage.db import Database
from storage.models import BindFailure, Invite
from tests.storage.factories import make_candidate, make_identity, pk

TTL = timedelta(days=60)


async def test_create_and_get_invite(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now))
        invite = await invites.create_invite(
            session=session, candidate_id=cid, code="ABCDE23456", now=now, ttl=TTL
        )
    assert invite.id is not None
    async with database.session() as session:
        got = await invites.get_invite(session=session, code="ABCDE23456")
        other_case = await invites.get_invite(session=session, code="abcde23456")
        missing = await invites.get_invite(session=session, code="NOPE")
    assert got is not None
    assert got.candidate_id == cid
    assert got.created_at == now and got.expires_at == now + TTL
    assert got.used_at is None and got.used_by_identity_id is None
    assert other_case is None  # codes are normalised before they get here
    assert missing is None


async def test_invite_codes_are_unique(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now))
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            for _ in range(2):
                await invites.create_invite(
                    session=session, candidate_id=cid, code="SAME", now=now, ttl=TTL
                )


async def test_open_invite_is_the_newest_unused_unexpired(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now))
        other = pk(await make_candidate(session, now=now, name="李四"))
        older = await invites.create_invite(
            session=session, candidate_id=cid, code="OLD", now=now, ttl=TTL
        )
        newer = await invites.create_invite(
            session=session, candidate_id=cid, code="NEW", now=now, ttl=timedelta(days=1)
        )
        await invites.create_invite(
            session=session, candidate_id=other, code="OTHER", now=now, ttl=TTL
        )
    async with database.session() as session:

        async def open_code(at: timedelta) -> str | None:
            found = await invites.open_invite_for(session=session, candidate_id=cid, now=now + at)
            return None if found is None else found.code

        assert await open_code(timedelta()) == "NEW"
        assert await open_code(timedelta(days=1) - timedelta(seconds=1)) == "NEW"
        # Expired at the very instant of ``expires_at``.
        assert await open_code(timedelta(days=1)) == "OLD"
        assert await open_code(TTL) is None
        identity = await make_identity(session, now=now, user_id="u1")
        assert await invites.use_invite(
            session=session, invite=newer, identity_id=pk(identity), now=now
        )
        assert await open_code(timedelta()) == "OLD"
        assert await invites.use_invite(
            session=session, invite=older, identity_id=pk(identity), now=now
        )
        assert await open_code(timedelta()) is None
        never = await invites.open_invite_for(session=session, candidate_id=other + 1, now=now)
    assert never is None


async def test_use_invite_only_once(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now))
        first = await make_identity(session, now=now, user_id="u1")
        second = await make_identity(session, now=now, user_id="u2")
        invite = await invites.create_invite(
            session=session, candidate_id=cid, code="ONCE", now=now, ttl=TTL
        )
    used_at = now + timedelta(minutes=3)
    async with database.session() as session:
        assert await invites.use_invite(
            session=session, invite=invite, identity_id=pk(first), now=used_at
        )
    async with database.session() as session:
        assert not await invites.use_invite(
            session=session, invite=invite, identity_id=pk(second), now=used_at
        )
    async with database.session() as session:
        stored = await session.get(Invite, pk(invite))
    assert stored is not None
    assert stored.used_at == used_at
    assert stored.used_by_identity_id == pk(first)


async def test_invites_overview_pairs_every_candidate_with_their_newest_open_invite(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        a = pk(await make_candidate(session, now=now, name="甲"))
        b = pk(await make_candidate(session, now=now, name="乙"))
        c = pk(await make_candidate(session, now=now, name="丙"))
        d = pk(await make_candidate(session, now=now, name="丁"))
        await invites.create_invite(session=session, candidate_id=a, code="A1", now=now, ttl=TTL)
        await invites.create_invite(session=session, candidate_id=a, code="A2", now=now, ttl=TTL)
        expired = now - TTL - timedelta(days=1)
        await invites.create_invite(
            session=session, candidate_id=b, code="B1", now=expired, ttl=TTL
        )
        used = await invites.create_invite(
            session=session, candidate_id=c, code="C1", now=now, ttl=TTL
        )
        identity = await make_identity(session, now=now, user_id="u1", candidate_id=c)
        await invites.use_invite(session=session, invite=used, identity_id=pk(identity), now=now)
    async with database.session() as session:
        rows = await invites.invites_overview(session=session, now=now)
    assert [(cand.id, inv.code if inv else None) for cand, inv in rows] == [
        (a, "A2"),
        (b, None),
        (c, None),
        (d, None),
    ]


async def test_bind_failures_since_oldest_first_per_account(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        for minutes, platform, user in (
            (5, "telegram", "42"),
            (1, "telegram", "42"),
            (3, "telegram", "42"),
            (2, "wecom", "42"),
            (4, "telegram", "43"),
        ):
            await invites.record_bind_failure(
                session=session,
                platform=platform,
                user_id=user,
                code="X" * 80,
                now=t0 + timedelta(minutes=minutes),
            )
    async with database.session() as session:
        all_of_42 = await invites.recent_bind_failures(
            session=session, platform="telegram", user_id="42", since=t0
        )
        since_3 = await invites.recent_bind_failures(
            session=session, platform="telegram", user_id="42", since=t0 + timedelta(minutes=3)
        )
        none = await invites.recent_bind_failures(
            session=session, platform="feishu", user_id="42", since=t0
        )
        codes = {f.code for f in (await session.exec(select(BindFailure))).all()}
    assert list(all_of_42) == [t0 + timedelta(minutes=m) for m in (1, 3, 5)]
    assert list(since_3) == [t0 + timedelta(minutes=3), t0 + timedelta(minutes=5)]
    assert list(none) == []
    assert codes == {"X" * 64}


async def test_failures_everywhere_counts_tries_and_accounts(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        assert await invites.failures_everywhere(session=session, since=now) == (0, 0)
        for user, minutes_ago in [("a", 1), ("a", 2), ("b", 3), ("c", 30)]:
            await invites.record_bind_failure(
                session=session,
                platform="telegram",
                user_id=user,
                code="WRONGWRONG",
                now=now - timedelta(minutes=minutes_ago),
            )
        await invites.record_bind_failure(
            session=session, platform="wecom", user_id="a", code="X", now=now
        )
    async with database.session() as session:
        recent = await invites.failures_everywhere(
            session=session, since=now - timedelta(minutes=15)
        )
        everything = await invites.failures_everywhere(
            session=session, since=now - timedelta(hours=1)
        )
    # The same user id on two platforms is two accounts.
    assert recent == (4, 3)
    assert everything == (5, 4)
