"""The outbox: every message the bot sends is a row here first.

A row is claimed for sending with a lease (``status='sending'``,
``lease_until``) in its own short transaction, sent outside any transaction,
then marked sent. A process that dies mid-send leaves the lease to expire and
the row is sent again: at-least-once, with duplicates only for sends that were
in flight.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage._upsert import insert_ignore
from storage.models import Outbox, OutboxStatus

SEND_LEASE = timedelta(seconds=60)


async def enqueue(
    *,
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime,
    now: datetime,
    identity_id: int | None = None,
    candidate_id: int | None = None,
    staff_id: int | None = None,
    dedupe_key: str | None = None,
    category: str | None = None,
    expires_at: datetime | None = None,
    leased: bool = False,
) -> int | None:
    """Add a message; with a ``dedupe_key`` already present, add nothing and return None.

    ``leased``: the row is written already claimed for sending (a reply the writer sends
    itself right after its commit); if the writer dies first, the lease runs out and
    whoever drains next sends it."""
    if identity_id is None and candidate_id is None and staff_id is None:
        raise ValueError("an outbox row needs a recipient")
    stmt = insert_ignore(session, Outbox).values(
        kind=kind,
        payload=payload,
        due_at=due_at,
        created_at=now,
        identity_id=identity_id,
        candidate_id=candidate_id,
        staff_id=staff_id,
        dedupe_key=dedupe_key,
        category=category,
        expires_at=expires_at,
        status=OutboxStatus.SENDING.value if leased else OutboxStatus.PENDING.value,
        lease_until=now + SEND_LEASE if leased else None,
        attempts=0,
    )
    row = (await session.exec(stmt)).first()
    return None if row is None else int(row[0])


async def enqueue_many(
    *, session: AsyncSession, rows: Sequence[dict[str, Any]], now: datetime
) -> int:
    """Add many messages in one statement per thousand (a broadcast); each row gives
    ``kind``, ``payload``, ``due_at`` and a recipient, and may give ``dedupe_key``,
    ``category`` and ``expires_at``. Rows whose ``dedupe_key`` is present already are
    left out; returns how many were added."""
    added = 0
    base = {
        "created_at": now,
        "identity_id": None,
        "candidate_id": None,
        "staff_id": None,
        "dedupe_key": None,
        "category": None,
        "expires_at": None,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
    }
    for start in range(0, len(rows), 1000):
        chunk = [{**base, **row} for row in rows[start : start + 1000]]
        if any(
            r["identity_id"] is None and r["candidate_id"] is None and r["staff_id"] is None
            for r in chunk
        ):
            raise ValueError("an outbox row needs a recipient")
        result = await session.exec(insert_ignore(session, Outbox).values(chunk))
        added += len(result.all())
    return added


def _claimable(now: datetime) -> Any:
    return or_(
        and_(col(Outbox.status) == OutboxStatus.PENDING.value, col(Outbox.due_at) <= now),
        and_(col(Outbox.status) == OutboxStatus.SENDING.value, col(Outbox.lease_until) < now),
    )


async def keys_used(*, session: AsyncSession, keys: list[str]) -> set[str]:
    """Which of ``keys`` an outbox row already carries."""
    if not keys:
        return set()
    stmt = select(Outbox.dedupe_key).where(col(Outbox.dedupe_key).in_(keys))
    return {key for key in (await session.exec(stmt)).all() if key is not None}


async def claim(*, session: AsyncSession, row_id: int, now: datetime) -> Outbox | None:
    """Take the row for sending unless it is sent, not yet due, or leased by someone else."""
    result = await session.exec(
        update(Outbox)
        .where(col(Outbox.id) == row_id, _claimable(now))
        .values(status=OutboxStatus.SENDING.value, lease_until=now + SEND_LEASE)
    )
    if (result.rowcount or 0) != 1:
        return None
    return await session.get(Outbox, row_id, populate_existing=True)


async def claim_many(*, session: AsyncSession, ids: Sequence[int], now: datetime) -> list[Outbox]:
    """Take those of ``ids`` that are claimable, in one statement; returned in ``ids`` order."""
    if not ids:
        return []
    claimed = await session.exec(
        update(Outbox)
        .where(col(Outbox.id).in_(list(ids)), _claimable(now))
        .values(status=OutboxStatus.SENDING.value, lease_until=now + SEND_LEASE)
        .returning(col(Outbox.id))
    )
    taken = {int(row[0]) for row in claimed.all()}
    if not taken:
        return []
    rows = await session.exec(
        select(Outbox).where(col(Outbox.id).in_(taken)).execution_options(populate_existing=True)
    )
    by_id = {row.id: row for row in rows.all()}
    return [by_id[i] for i in ids if i in by_id]


async def due_ids(
    *,
    session: AsyncSession,
    now: datetime,
    limit: int = 100,
    exclude: Collection[int] = (),
) -> Sequence[int]:
    """Ids of rows ready to send (due, or with an expired lease), oldest first.

    ``exclude`` skips rows the caller already tried in this round.
    """
    stmt = select(Outbox.id).where(_claimable(now))
    if exclude:
        stmt = stmt.where(col(Outbox.id).not_in(list(exclude)))
    stmt = stmt.order_by(col(Outbox.due_at), col(Outbox.id)).limit(limit)
    return [int(i) for i in (await session.exec(stmt)).all() if i is not None]


async def mark_sent(*, session: AsyncSession, row_id: int, now: datetime) -> None:
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id) == row_id)
        .values(
            status=OutboxStatus.SENT.value,
            sent_at=now,
            lease_until=None,
            attempts=Outbox.attempts + 1,
        )
    )


async def mark_sent_many(*, session: AsyncSession, ids: Collection[int], now: datetime) -> None:
    """Mark rows sent in one statement (the courier's group commit)."""
    if not ids:
        return
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id).in_(list(ids)))
        .values(
            status=OutboxStatus.SENT.value,
            sent_at=now,
            lease_until=None,
            attempts=Outbox.attempts + 1,
        )
    )


async def mark_failed(
    *, session: AsyncSession, row_id: int, error: str, retry_at: datetime | None
) -> None:
    """Record a failed attempt; retry at ``retry_at``, or give up when it is None."""
    values: dict[str, Any] = {
        "attempts": Outbox.attempts + 1,
        "last_error": error[:500],
        "lease_until": None,
    }
    if retry_at is None:
        values["status"] = OutboxStatus.FAILED.value
    else:
        values["status"] = OutboxStatus.PENDING.value
        values["due_at"] = retry_at
    await session.exec(update(Outbox).where(col(Outbox.id) == row_id).values(**values))


async def defer(*, session: AsyncSession, row_id: int, until: datetime) -> None:
    """Give a claimed row back, due again at ``until`` (quiet hours); not an attempt."""
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id) == row_id)
        .values(status=OutboxStatus.PENDING.value, due_at=until, lease_until=None)
    )


async def release(*, session: AsyncSession, ids: Collection[int]) -> None:
    """Hand claimed rows back unsent (a stopping courier); not an attempt."""
    if not ids:
        return
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id).in_(list(ids)), col(Outbox.status) == OutboxStatus.SENDING.value)
        .values(status=OutboxStatus.PENDING.value, lease_until=None)
    )


async def mark_expired(*, session: AsyncSession, row_id: int) -> None:
    """Drop a row whose content expired before it could be sent."""
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id) == row_id)
        .values(status=OutboxStatus.EXPIRED.value, last_error="expired", lease_until=None)
    )
