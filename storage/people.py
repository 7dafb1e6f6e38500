"""Candidates, staff and chat identities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import exists, extract, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Candidate, Identity, OfferStatus, Outcome, Staff

# ---- staff -------------------------------------------------------------------------------


async def add_staff(
    *,
    session: AsyncSession,
    name: str,
    role: str,
    now: datetime,
    department: str | None = None,
    language: str | None = None,
) -> Staff:
    staff = Staff(name=name, role=role, department=department, language=language, created_at=now)
    session.add(staff)
    await session.flush()
    return staff


async def list_staff(*, session: AsyncSession) -> Sequence[Staff]:
    return (await session.exec(select(Staff).order_by(col(Staff.role), col(Staff.id)))).all()


async def staff_with_role(*, session: AsyncSession, role: str) -> Sequence[Staff]:
    stmt = select(Staff).where(Staff.role == role).order_by(col(Staff.id))
    return (await session.exec(stmt)).all()


async def staff_identities(
    *, session: AsyncSession, platform: str
) -> Sequence[tuple[Identity, Staff]]:
    """Every staff member's chat account on ``platform``."""
    stmt = (
        select(Identity, Staff)
        .join(Staff, col(Staff.id) == col(Identity.staff_id))
        .where(Identity.platform == platform)
        .order_by(col(Identity.id))
    )
    return [(identity, staff) for identity, staff in (await session.exec(stmt)).all()]


async def get_staff(*, session: AsyncSession, staff_id: int) -> Staff | None:
    return await session.get(Staff, staff_id)


async def find_staff_by_name(
    *, session: AsyncSession, name: str, roles: Sequence[str] | None = None
) -> Sequence[Staff]:
    stmt = select(Staff).where(Staff.name == name)
    if roles:
        stmt = stmt.where(col(Staff.role).in_(roles))
    return (await session.exec(stmt.order_by(col(Staff.id)))).all()


# ---- candidates --------------------------------------------------------------------------


async def get_candidate(*, session: AsyncSession, candidate_id: int) -> Candidate | None:
    return await session.get(Candidate, candidate_id)


async def find_candidate_by_contact(
    *, session: AsyncSession, phone: str | None, email: str | None
) -> Candidate | None:
    """The candidate with this phone, else with this email (the import's upsert key)."""
    if phone:
        found = (await session.exec(select(Candidate).where(Candidate.phone == phone))).first()
        if found is not None:
            return found
    if email:
        return (await session.exec(select(Candidate).where(Candidate.email == email))).first()
    return None


async def find_candidates(
    *, session: AsyncSession, name: str, hr_id: int | None = None
) -> Sequence[Candidate]:
    """Candidates whose name is ``name`` (or contains it, when none matches exactly).

    ``hr_id`` limits the search to one HR's candidates.
    """
    base = select(Candidate)
    if hr_id is not None:
        base = base.where(Candidate.hr_id == hr_id)
    exact = (
        await session.exec(base.where(Candidate.name == name).order_by(col(Candidate.id)))
    ).all()
    if exact:
        return exact
    pattern = f"%{name}%"
    return (
        await session.exec(
            base.where(col(Candidate.name).like(pattern)).order_by(col(Candidate.id))
        )
    ).all()


async def list_candidates(
    *, session: AsyncSession, hr_id: int | None = None
) -> Sequence[Candidate]:
    stmt = select(Candidate)
    if hr_id is not None:
        stmt = stmt.where(Candidate.hr_id == hr_id)
    return (await session.exec(stmt.order_by(col(Candidate.id)))).all()


async def offers_unanswered(
    *, session: AsyncSession, bound_before: datetime, offered_before: date
) -> Sequence[Candidate]:
    """Bound candidates whose offer still waits for a first answer, bound before
    ``bound_before`` with an offer dated before ``offered_before`` (or undated), without
    an outcome and not being forgotten; by id."""
    stmt = (
        select(Candidate)
        .where(
            col(Candidate.offer_status) == OfferStatus.OFFERED.value,
            col(Candidate.bound_at).is_not(None),
            col(Candidate.bound_at) < bound_before,
            or_(col(Candidate.offer_date).is_(None), col(Candidate.offer_date) < offered_before),
            col(Candidate.forget_requested_at).is_(None),
            ~exists().where(col(Outcome.candidate_id) == col(Candidate.id)),
        )
        .order_by(col(Candidate.id))
    )
    return (await session.exec(stmt)).all()


async def save_candidate(
    *, session: AsyncSession, candidate: Candidate | None, fields: dict[str, Any], now: datetime
) -> Candidate:
    """Apply ``fields`` to ``candidate`` (loaded, or None for a new one) and flush."""
    if candidate is None:
        candidate = Candidate(name=fields["name"])
    for key, value in fields.items():
        setattr(candidate, key, value)
    if candidate.created_at is None:
        candidate.created_at = now
    candidate.updated_at = now
    session.add(candidate)
    await session.flush()
    return candidate


async def bound_rank_in_department(*, session: AsyncSession, candidate: Candidate) -> int:
    """How many candidates of the same department were bound this year up to this one."""
    assert candidate.bound_at is not None
    year = candidate.bound_at.astimezone(UTC).year
    stmt = (
        select(func.count())
        .select_from(Candidate)
        .where(
            col(Candidate.bound_at).is_not(None),
            col(Candidate.bound_at) <= candidate.bound_at,
            extract("year", col(Candidate.bound_at)) == year,
        )
    )
    if candidate.department is None:
        stmt = stmt.where(col(Candidate.department).is_(None))
    else:
        stmt = stmt.where(Candidate.department == candidate.department)
    return int((await session.exec(stmt)).one())


# ---- identities --------------------------------------------------------------------------


async def touch_identity(
    *,
    session: AsyncSession,
    platform: str,
    user_id: str,
    chat_id: str,
    display_name: str | None,
    now: datetime,
) -> Identity:
    """The identity for this chat account, created unbound on first contact; marks it seen."""
    stmt = select(Identity).where(Identity.platform == platform, Identity.user_id == user_id)
    identity = (await session.exec(stmt)).first()
    if identity is None:
        identity = Identity(
            platform=platform,
            user_id=user_id,
            chat_id=chat_id,
            display_name=(display_name or "")[:100] or None,
            created_at=now,
        )
    identity.chat_id = chat_id
    if display_name:
        identity.display_name = display_name[:100]
    identity.last_seen_at = now
    identity.unreachable = False
    session.add(identity)
    await session.flush()
    return identity


async def get_identity(*, session: AsyncSession, platform: str, user_id: str) -> Identity | None:
    stmt = select(Identity).where(Identity.platform == platform, Identity.user_id == user_id)
    return (await session.exec(stmt)).first()


async def identity_by_id(*, session: AsyncSession, identity_id: int) -> Identity | None:
    return await session.get(Identity, identity_id)


async def identities_of(
    *, session: AsyncSession, candidate_id: int | None = None, staff_id: int | None = None
) -> Sequence[Identity]:
    """A person's identities, the most recently used first."""
    clauses = []
    if candidate_id is not None:
        clauses.append(col(Identity.candidate_id) == candidate_id)
    if staff_id is not None:
        clauses.append(col(Identity.staff_id) == staff_id)
    if not clauses:
        return []
    stmt = select(Identity).where(or_(*clauses))
    stmt = stmt.order_by(col(Identity.last_seen_at).desc().nulls_last(), col(Identity.id).desc())
    return (await session.exec(stmt)).all()


async def mark_bound(*, session: AsyncSession, candidate: Candidate, now: datetime) -> None:
    """Record when the candidate was first linked to a chat account (their journey starts)."""
    if candidate.bound_at is None:
        await save_candidate(
            session=session, candidate=candidate, fields={"bound_at": now}, now=now
        )


async def bind_identity(
    *,
    session: AsyncSession,
    identity: Identity,
    candidate_id: int | None = None,
    staff_id: int | None = None,
) -> Identity:
    identity.candidate_id = candidate_id
    identity.staff_id = staff_id
    session.add(identity)
    await session.flush()
    return identity


async def prebind_identity(
    *,
    session: AsyncSession,
    platform: str,
    user_id: str,
    display_name: str,
    now: datetime,
    candidate_id: int | None = None,
    staff_id: int | None = None,
) -> Identity:
    """Link a chat account to a person before they ever write (import, ``staff add``).

    The account is the person's from their first message; it has not been seen yet.
    """
    identity = await touch_identity(
        session=session,
        platform=platform,
        user_id=user_id,
        chat_id=user_id,
        display_name=display_name,
        now=now,
    )
    identity.last_seen_at = None
    return await bind_identity(
        session=session, identity=identity, candidate_id=candidate_id, staff_id=staff_id
    )


async def identity_owner(
    *, session: AsyncSession, platform: str, user_id: str
) -> tuple[int | None, int | None] | None:
    """Who a chat account belongs to: ``(candidate_id, staff_id)``, or None when nobody."""
    identity = await get_identity(session=session, platform=platform, user_id=user_id)
    if identity is None or (identity.candidate_id is None and identity.staff_id is None):
        return None
    return identity.candidate_id, identity.staff_id


async def mark_unreachable(
    *, session: AsyncSession, platform: str, user_id: str
) -> Identity | None:
    """Flag a chat account the platform says cannot receive messages."""
    identity = await get_identity(session=session, platform=platform, user_id=user_id)
    if identity is not None and not identity.unreachable:
        identity.unreachable = True
        session.add(identity)
        await session.flush()
        return identity
    return None


async def set_language(*, session: AsyncSession, identity: Identity, language: str) -> None:
    """Store a person's language on their record (or on the identity while unbound)."""
    if identity.candidate_id is not None:
        candidate = await session.get(Candidate, identity.candidate_id)
        if candidate is not None:
            candidate.language = language
            session.add(candidate)
    elif identity.staff_id is not None:
        staff = await session.get(Staff, identity.staff_id)
        if staff is not None:
            staff.language = language
            session.add(staff)
    identity.language = language
    session.add(identity)
    await session.flush()
