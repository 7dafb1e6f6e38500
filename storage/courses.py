"""Pre-training course results."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CourseResult


async def course_results_of(*, session: AsyncSession, candidate_id: int) -> Sequence[CourseResult]:
    stmt = select(CourseResult).where(CourseResult.candidate_id == candidate_id)
    return (await session.exec(stmt)).all()


async def get_course_result(
    *, session: AsyncSession, candidate_id: int, course_id: str
) -> CourseResult | None:
    stmt = select(CourseResult).where(
        CourseResult.candidate_id == candidate_id, CourseResult.course_id == course_id
    )
    return (await session.exec(stmt)).first()


async def start_course_attempt(
    *, session: AsyncSession, candidate_id: int, course_id: str, now: datetime
) -> CourseResult:
    """Note that the candidate began a course's questions; ``started_at`` keeps the first start."""
    result = await get_course_result(
        session=session, candidate_id=candidate_id, course_id=course_id
    )
    if result is None:
        result = CourseResult(candidate_id=candidate_id, course_id=course_id)
    if result.started_at is None:
        result.started_at = now
    session.add(result)
    await session.flush()
    return result


async def record_course_attempt(
    *,
    session: AsyncSession,
    candidate_id: int,
    course_id: str,
    score: int,
    total: int,
    passing_score: int,
    points: int,
    now: datetime,
) -> tuple[CourseResult, int]:
    """Count a finished attempt, keep the best score, award the points on the first pass.

    ``completed_at`` is when the course was first passed. Returns the result and the
    points this attempt awarded (0 unless it is the course's first pass).
    """
    result = await get_course_result(
        session=session, candidate_id=candidate_id, course_id=course_id
    )
    if result is None:
        result = CourseResult(candidate_id=candidate_id, course_id=course_id, started_at=now)
    if result.attempts == 0 or score > result.score:
        result.score = score
        result.total = total
    result.attempts += 1
    awarded = 0
    if score >= passing_score:
        if not result.passed:
            result.passed = True
            result.completed_at = now
        if result.points_awarded == 0:
            result.points_awarded = awarded = points
    session.add(result)
    await session.flush()
    return result, awarded
