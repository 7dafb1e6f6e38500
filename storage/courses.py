"""Pre-training course results."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CourseResult


async def course_results_of(*, session: AsyncSession, candidate_id: int) -> Sequence[CourseResult]:
    stmt = select(CourseResult).where(CourseResult.candidate_id == candidate_id)
    return (await session.exec(stmt)).all()
