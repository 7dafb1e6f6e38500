"""The inbox of platform deliveries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage._upsert import insert_ignore
from storage.locks import locked
from storage.models import InboundEvent


async def store_inbound_event(
    *,
    session: AsyncSession,
    platform: str,
    event_id: str,
    payload: dict[str, Any],
    now: datetime,
) -> bool:
    """Record a delivery; False when it was stored before (by this or another process).

    On PostgreSQL a concurrent insert of the same id waits for the first
    transaction and then finds the row, so exactly one caller gets True.
    """
    stmt = insert_ignore(session, InboundEvent).values(
        platform=platform, event_id=event_id, payload=payload, received_at=now
    )
    return (await session.exec(stmt)).first() is not None


async def lock_unprocessed(
    *, session: AsyncSession, platform: str, event_id: str
) -> InboundEvent | None:
    """The stored event, locked for processing, or None when it is already processed.

    A second process asking for the same event waits here until the first
    commits, then gets None.
    """
    stmt = select(InboundEvent).where(
        InboundEvent.platform == platform,
        InboundEvent.event_id == event_id,
        col(InboundEvent.processed_at).is_(None),
    )
    return (await session.exec(locked(session, stmt))).first()


async def mark_processed(
    *,
    session: AsyncSession,
    platform: str,
    event_id: str,
    now: datetime,
    error: str | None = None,
) -> None:
    await session.exec(
        update(InboundEvent)
        .where(col(InboundEvent.platform) == platform, col(InboundEvent.event_id) == event_id)
        .values(processed_at=now, error=None if error is None else error[:500])
    )


async def record_attempt(
    *,
    session: AsyncSession,
    platform: str,
    event_id: str,
    error: str,
    now: datetime,
    backoff: Callable[[int], timedelta],
    max_attempts: int,
) -> int:
    """Count one failed try of an unprocessed event; returns the attempts so far.

    The next try waits ``backoff(attempts)``; at ``max_attempts`` the event is parked:
    marked processed with the error, never tried again.
    """
    stmt = select(InboundEvent).where(
        InboundEvent.platform == platform,
        InboundEvent.event_id == event_id,
        col(InboundEvent.processed_at).is_(None),
    )
    event = (await session.exec(locked(session, stmt))).first()
    if event is None:
        return 0
    event.attempts += 1
    event.error = error[:500]
    if event.attempts >= max_attempts:
        event.processed_at = now
        event.error = f"{PARKED} after {event.attempts} attempts: {error}"[:500]
    else:
        event.retry_at = now + backoff(event.attempts)
    session.add(event)
    return event.attempts


async def count_failed(*, session: AsyncSession) -> int:
    """Events parked after their last attempt failed."""
    stmt = select(func.count()).where(col(InboundEvent.error).startswith(PARKED))
    return int((await session.exec(stmt)).one())


PARKED = "gave up"


def _has_error() -> ColumnElement[bool]:
    return col(InboundEvent.error).is_not(None)


async def count_with_errors(*, session: AsyncSession) -> int:
    """Deliveries whose processing failed: answered with an apology, or parked."""
    return int((await session.exec(select(func.count()).where(_has_error()))).one())


async def with_errors(*, session: AsyncSession, offset: int, limit: int) -> Sequence[InboundEvent]:
    """A page of the deliveries whose processing failed, newest first."""
    stmt = (
        select(InboundEvent)
        .where(_has_error())
        .order_by(col(InboundEvent.received_at).desc(), col(InboundEvent.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return (await session.exec(stmt)).all()


async def stale_unprocessed(
    *, session: AsyncSession, older_than: datetime, now: datetime | None = None, limit: int = 100
) -> Sequence[InboundEvent]:
    """Events stored before ``older_than`` and never processed (their process died, or
    an earlier try failed and its ``retry_at`` has come)."""
    due: ColumnElement[bool] = col(InboundEvent.retry_at).is_(None)
    if now is not None:
        due = or_(due, col(InboundEvent.retry_at) <= now)
    stmt = (
        select(InboundEvent)
        .where(
            col(InboundEvent.processed_at).is_(None),
            col(InboundEvent.received_at) < older_than,
            due,
        )
        .order_by(col(InboundEvent.received_at))
        .limit(limit)
    )
    return (await session.exec(stmt)).all()
