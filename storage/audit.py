"""The audit log: who viewed or exported which candidate's data, and when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEntry


async def record(
    *,
    session: AsyncSession,
    staff_id: int | None,
    actor: str,
    action: str,
    now: datetime,
    candidate_id: int | None = None,
    detail: str = "",
) -> None:
    session.add(
        AuditEntry(
            staff_id=staff_id,
            actor=actor[:100],
            action=action[:32],
            candidate_id=candidate_id,
            detail=detail[:500],
            at=now,
        )
    )


async def count(*, session: AsyncSession) -> int:
    return int((await session.exec(select(func.count()).select_from(AuditEntry))).one())


async def latest(
    *, session: AsyncSession, limit: int = 20, offset: int = 0
) -> Sequence[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return (await session.exec(stmt)).all()
