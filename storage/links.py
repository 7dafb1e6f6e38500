"""Tracked links: a token per (candidate, link) that records clicks before redirecting."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Interaction, LinkToken


async def create_token(
    *, session: AsyncSession, candidate_id: int | None, item_id: str | None, url: str, now: datetime
) -> str:
    """A new unguessable token for ``url``."""
    token = secrets.token_urlsafe(12)
    session.add(
        LinkToken(token=token, candidate_id=candidate_id, item_id=item_id, url=url, created_at=now)
    )
    return token


async def click(*, session: AsyncSession, token: str, now: datetime) -> LinkToken | None:
    """Count a click (and log it as the candidate's interaction); None for an unknown token."""
    link = await session.get(LinkToken, token)
    if link is None:
        return None
    await session.exec(
        update(LinkToken).where(col(LinkToken.token) == token).values(clicks=LinkToken.clicks + 1)
    )
    if link.candidate_id is not None:
        session.add(
            Interaction(
                candidate_id=link.candidate_id, kind="click", detail=link.item_id or "", at=now
            )
        )
    return link
