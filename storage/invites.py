"""Invite codes and failed binding attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import BindFailure, Candidate, Invite


async def create_invite(
    *, session: AsyncSession, candidate_id: int, code: str, now: datetime, ttl: timedelta
) -> Invite:
    invite = Invite(code=code, candidate_id=candidate_id, created_at=now, expires_at=now + ttl)
    session.add(invite)
    await session.flush()
    return invite


async def get_invite(*, session: AsyncSession, code: str) -> Invite | None:
    return (await session.exec(select(Invite).where(Invite.code == code))).first()


async def open_invite_for(
    *, session: AsyncSession, candidate_id: int, now: datetime
) -> Invite | None:
    """The candidate's newest unused, unexpired invite."""
    stmt = (
        select(Invite)
        .where(
            Invite.candidate_id == candidate_id,
            col(Invite.used_at).is_(None),
            col(Invite.expires_at) > now,
        )
        .order_by(col(Invite.id).desc())
    )
    return (await session.exec(stmt)).first()


async def use_invite(
    *, session: AsyncSession, invite: Invite, identity_id: int, now: datetime
) -> bool:
    """Mark the invite used; False when another transaction used it first."""
    from sqlalchemy import update

    result = await session.exec(
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=now, used_by_identity_id=identity_id)
    )
    return (result.rowcount or 0) == 1


async def invites_overview(
    *, session: AsyncSession, now: datetime
) -> Sequence[tuple[Candidate, Invite | None]]:
    """Every candidate with their newest open invite (None when bound or expired)."""
    candidates = (await session.exec(select(Candidate).order_by(col(Candidate.id)))).all()
    open_invites = (
        await session.exec(
            select(Invite)
            .where(col(Invite.used_at).is_(None), col(Invite.expires_at) > now)
            .order_by(col(Invite.id))
        )
    ).all()
    newest = {invite.candidate_id: invite for invite in open_invites}
    return [(candidate, newest.get(candidate.id or 0)) for candidate in candidates]


async def record_bind_failure(
    *, session: AsyncSession, platform: str, user_id: str, code: str, now: datetime
) -> None:
    session.add(BindFailure(platform=platform, user_id=user_id, code=code[:64], at=now))
    await session.flush()


async def recent_bind_failures(
    *, session: AsyncSession, platform: str, user_id: str, since: datetime
) -> Sequence[datetime]:
    """Times of this user's failed codes since ``since``, oldest first."""
    stmt = (
        select(BindFailure.at)
        .where(
            BindFailure.platform == platform,
            BindFailure.user_id == user_id,
            col(BindFailure.at) >= since,
        )
        .order_by(col(BindFailure.at))
    )
    return (await session.exec(stmt)).all()


async def failures_everywhere(*, session: AsyncSession, since: datetime) -> tuple[int, int]:
    """Wrong codes typed by anyone since ``since``: (how many, from how many accounts)."""
    accounts = (
        select(BindFailure.platform, BindFailure.user_id)
        .where(col(BindFailure.at) >= since)
        .distinct()
        .subquery()
    )
    total = (
        await session.exec(
            select(func.count()).select_from(BindFailure).where(col(BindFailure.at) >= since)
        )
    ).one()
    distinct = (await session.exec(select(func.count()).select_from(accounts))).one()
    return int(total), int(distinct)
