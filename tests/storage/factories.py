"""Rows the storage tests build on: staff, candidates and chat identities, made in a session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import people
from storage.models import Candidate, Identity, Staff


def pk(row: SQLModel) -> int:
    """The primary key of a flushed row."""
    value = getattr(row, "id", None)
    assert isinstance(value, int)
    return value


async def make_staff(
    session: AsyncSession,
    *,
    now: datetime,
    name: str = "王芳",
    role: str = "hr",
    department: str | None = None,
) -> Staff:
    return await people.add_staff(
        session=session, name=name, role=role, department=department, now=now
    )


async def make_candidate(
    session: AsyncSession, *, now: datetime, name: str = "张三", **fields: Any
) -> Candidate:
    """A candidate with ``fields`` applied (department, hr_id, offer_status, ...)."""
    return await people.save_candidate(
        session=session, candidate=None, fields={"name": name, **fields}, now=now
    )


async def make_identity(
    session: AsyncSession,
    *,
    now: datetime,
    user_id: str,
    platform: str = "memory",
    candidate_id: int | None = None,
    staff_id: int | None = None,
) -> Identity:
    """A chat account seen at ``now``, bound to the candidate or staff member when given."""
    identity = await people.touch_identity(
        session=session,
        platform=platform,
        user_id=user_id,
        chat_id=f"chat-{user_id}",
        display_name=user_id,
        now=now,
    )
    if candidate_id is not None or staff_id is not None:
        await people.bind_identity(
            session=session, identity=identity, candidate_id=candidate_id, staff_id=staff_id
        )
    return identity
