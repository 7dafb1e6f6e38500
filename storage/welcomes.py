"""Managers' welcome messages, one per department (see :class:`storage.models.WelcomeMessage`)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.locks import locked
from storage.models import Candidate, OfferStatus, WelcomeMessage


async def get_welcome(*, session: AsyncSession, department: str) -> WelcomeMessage | None:
    """The department's current welcome message, or None."""
    stmt = select(WelcomeMessage).where(WelcomeMessage.department == department)
    return (await session.exec(stmt)).first()


async def save_welcome(
    *,
    session: AsyncSession,
    department: str,
    staff_id: int,
    kind: str,
    text: str | None,
    file_path: str | None,
    file_name: str | None,
    mime_type: str | None,
    now: datetime,
) -> WelcomeMessage:
    """Create or replace the department's welcome; a replacement gets the next version."""
    stmt = select(WelcomeMessage).where(WelcomeMessage.department == department)
    welcome = (await session.exec(locked(session, stmt))).first()
    if welcome is None:
        welcome = WelcomeMessage(department=department, staff_id=staff_id, kind=kind, version=0)
        welcome.created_at = now
    welcome.staff_id = staff_id
    welcome.kind = kind
    welcome.text = text
    welcome.file_path = file_path
    welcome.file_name = file_name
    welcome.mime_type = mime_type
    welcome.version = (welcome.version or 0) + 1
    welcome.updated_at = now
    session.add(welcome)
    await session.flush()
    return welcome


async def count_day_slot(
    *, session: AsyncSession, department: str, slot_date_from: date, today: date | None = None
) -> tuple[int, int]:
    """Current candidates of ``department`` whose slot day is still ahead, and those past it.

    A candidate's slot day is ``offer_date + N``; ``slot_date_from`` is today minus N,
    so offer dates on or after it still have their slot ahead. Declined candidates,
    those who asked to be forgotten, those without an offer date and (given ``today``)
    those whose first day has come are not counted.
    """
    base = (
        select(func.count())
        .select_from(Candidate)
        .where(
            Candidate.department == department,
            col(Candidate.offer_status) != OfferStatus.DECLINED.value,
            col(Candidate.forget_requested_at).is_(None),
            col(Candidate.offer_date).is_not(None),
        )
    )
    if today is not None:
        base = base.where(
            or_(col(Candidate.onboarding_date).is_(None), col(Candidate.onboarding_date) > today)
        )
    ahead = await session.exec(base.where(col(Candidate.offer_date) >= slot_date_from))
    past = await session.exec(base.where(col(Candidate.offer_date) < slot_date_from))
    return int(ahead.one()), int(past.one())
