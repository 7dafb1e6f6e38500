"""Row locks, written once: ``SELECT ... FOR UPDATE`` on PostgreSQL.

SQLite needs none: every transaction there starts with ``BEGIN IMMEDIATE``
(storage/db.py), which already serialises writers.
"""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import Candidate

T = TypeVar("T")


def locked(
    session: AsyncSession, stmt: SelectOfScalar[T], *, skip_locked: bool = False
) -> SelectOfScalar[T]:
    """``stmt`` locking the rows it reads for this transaction (PostgreSQL only).

    ``skip_locked`` lets concurrent workers each take different rows instead of queueing.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=skip_locked)
    return stmt


async def lock_candidate(*, session: AsyncSession, candidate_id: int) -> Candidate | None:
    """The candidate, re-read and locked for this transaction.

    Two approvers, or two planners, working on the same candidate queue here, so the
    second sees what the first wrote.
    """
    stmt = locked(session, select(Candidate).where(Candidate.id == candidate_id))
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


__all__ = ["lock_candidate", "locked"]
