"""The interaction log that feeds the stability score."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Identity, Interaction


async def record_interaction(
    *, session: AsyncSession, identity: Identity, kind: str, detail: str, at: datetime
) -> None:
    session.add(
        Interaction(
            identity_id=identity.id,
            candidate_id=identity.candidate_id,
            staff_id=identity.staff_id,
            kind=kind,
            detail=detail[:500],
            at=at,
        )
    )
