"""Queries behind HR's reports: last interactions and interaction activity over time.

``candidate_ids`` limits a query to one HR's candidates; None means everyone
(an admin's view), which also keeps huge ``IN`` lists out of the SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Interaction


def _scope(stmt: Any, candidate_ids: Iterable[int] | None) -> Any:
    if candidate_ids is None:
        return stmt.where(col(Interaction.candidate_id).is_not(None))
    return stmt.where(col(Interaction.candidate_id).in_(sorted(set(candidate_ids))))


async def last_interactions(
    *, session: AsyncSession, candidate_ids: Iterable[int] | None
) -> dict[int, datetime]:
    """Each candidate's latest interaction (message, tap or click); absent when none."""
    if candidate_ids is not None:
        candidate_ids = list(candidate_ids)
        if not candidate_ids:
            return {}
    stmt = _scope(
        select(Interaction.candidate_id, func.max(Interaction.at)), candidate_ids
    ).group_by(col(Interaction.candidate_id))
    return {int(cid): at for cid, at in (await session.exec(stmt)).all() if cid is not None}


async def interaction_times(
    *, session: AsyncSession, candidate_ids: Iterable[int] | None, since: datetime
) -> Sequence[tuple[int, datetime]]:
    """(candidate, time) of every interaction of these candidates since ``since``."""
    if candidate_ids is not None:
        candidate_ids = list(candidate_ids)
        if not candidate_ids:
            return []
    stmt = _scope(select(Interaction.candidate_id, Interaction.at), candidate_ids)
    stmt = stmt.where(col(Interaction.at) >= since).order_by(col(Interaction.at))
    return [(int(cid), at) for cid, at in (await session.exec(stmt)).all() if cid is not None]
