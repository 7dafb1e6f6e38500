"""Inbound delivery de-duplication."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage._upsert import insert_ignore
from storage.models import InboundEvent


async def claim_inbound_event(
    *, session: AsyncSession, platform: str, event_id: str, now: datetime
) -> bool:
    """Record a delivery; False when it was seen before (by this or another process).

    On PostgreSQL a concurrent claim of the same id waits for the first
    transaction and then finds the row, so exactly one handler proceeds.
    """
    stmt = insert_ignore(session, InboundEvent).values(
        platform=platform, event_id=event_id, received_at=now
    )
    result = await session.exec(stmt)
    return result.first() is not None
