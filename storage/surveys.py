"""Satisfaction survey answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import SurveyResponse


async def add_survey_response(
    *,
    session: AsyncSession,
    candidate_id: int,
    ratings: dict[str, int],
    looking_forward: str | None,
    open_questions: str | None,
    other_offers: str | None,
    now: datetime,
) -> SurveyResponse:
    """Store one answered survey; ``other_offers`` is "yes", "no" or None (not said)."""
    response = SurveyResponse(
        candidate_id=candidate_id,
        ratings=dict(ratings),
        looking_forward=(looking_forward or "")[:1000] or None,
        open_questions=(open_questions or "")[:1000] or None,
        other_offers=other_offers,
        created_at=now,
    )
    session.add(response)
    await session.flush()
    return response


async def survey_responses_of(
    *, session: AsyncSession, candidate_id: int
) -> Sequence[SurveyResponse]:
    """A candidate's answered surveys, oldest first."""
    stmt = (
        select(SurveyResponse)
        .where(SurveyResponse.candidate_id == candidate_id)
        .order_by(col(SurveyResponse.created_at), col(SurveyResponse.id))
    )
    return (await session.exec(stmt)).all()
