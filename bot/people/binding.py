"""Invite codes and binding a chat account to a candidate."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import invites, people
from storage.models import Candidate, Identity, Invite

# No 0/O, 1/I/L: codes are read off paper and typed on phones.
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITE_LENGTH = 10
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(hours=1)
# Guessing across accounts: this many wrong codes from this many accounts within
# the window is a burst. During one, an account that typed a wrong code waits
# BURST_PAUSE before its next try; an account's first try is always checked.
BURST_WINDOW = timedelta(minutes=15)
BURST_FAILURES = 20
BURST_ACCOUNTS = 5
BURST_PAUSE = timedelta(minutes=2)

_CODE_RE = re.compile(rf"^[{INVITE_ALPHABET}]{{{INVITE_LENGTH}}}$")


def new_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


def normalize_code(text: str) -> str:
    """Upper-case and drop the spaces and dashes people type into codes."""
    return re.sub(r"[\s\-]", "", text).upper()


def looks_like_code(text: str) -> bool:
    return bool(_CODE_RE.match(normalize_code(text)))


async def issue_invite(
    *, session: AsyncSession, candidate_id: int, now: datetime, ttl_days: int
) -> tuple[Invite, bool]:
    """The candidate's open invite, or a new one; True when it is new."""
    existing = await invites.open_invite_for(session=session, candidate_id=candidate_id, now=now)
    if existing is not None:
        return existing, False
    invite = await invites.create_invite(
        session=session,
        candidate_id=candidate_id,
        code=new_code(),
        now=now,
        ttl=timedelta(days=ttl_days),
    )
    return invite, True


class BindStatus(StrEnum):
    BOUND = "bound"
    ALREADY = "already"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    LOCKED = "locked"
    SLOWED = "slowed"
    OTHER_PERSON = "other_person"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class Burst:
    """Wrong codes from many accounts within BURST_WINDOW: someone may be guessing."""

    failures: int
    accounts: int


@dataclass(frozen=True, slots=True)
class BindResult:
    status: BindStatus
    candidate: Candidate | None = None
    # LOCKED and SLOWED: when the next try is checked; a wrong code during a
    # burst: when this account may try again.
    locked_until: datetime | None = None
    # Set on the wrong code that starts a burst, so the admins hear of it once.
    burst_began: Burst | None = None


async def _burst(session: AsyncSession, now: datetime) -> Burst | None:
    failures, accounts = await invites.failures_everywhere(
        session=session, since=now - BURST_WINDOW
    )
    if failures >= BURST_FAILURES and accounts >= BURST_ACCOUNTS:
        return Burst(failures, accounts)
    return None


async def _paused_until(
    session: AsyncSession, identity: Identity, now: datetime
) -> datetime | None:
    """During a burst: the end of this account's pause after its last wrong code."""
    recent = await invites.recent_bind_failures(
        session=session,
        platform=identity.platform,
        user_id=identity.user_id,
        since=now - BURST_PAUSE,
    )
    return recent[-1] + BURST_PAUSE if recent else None


async def _locked_until(
    session: AsyncSession, identity: Identity, now: datetime
) -> datetime | None:
    """When the lockout ends, if this user has had 5 failures within an hour of the last."""
    failures = await invites.recent_bind_failures(
        session=session,
        platform=identity.platform,
        user_id=identity.user_id,
        since=now - 2 * LOCKOUT_WINDOW,
    )
    if len(failures) < LOCKOUT_FAILURES:
        return None
    last = failures[-1]
    window = [at for at in failures if at > last - LOCKOUT_WINDOW]
    until = last + LOCKOUT_WINDOW
    return until if len(window) >= LOCKOUT_FAILURES and now < until else None


async def bind(
    *, session: AsyncSession, identity: Identity, code_text: str, now: datetime
) -> BindResult:
    """Bind ``identity`` to the candidate whose invite code this is."""
    if identity.staff_id is not None:
        return BindResult(BindStatus.STAFF)
    locked = await _locked_until(session, identity, now)
    if locked is not None:
        return BindResult(BindStatus.LOCKED, locked_until=locked)
    burst = await _burst(session, now)
    paused = await _paused_until(session, identity, now) if burst else None
    if paused is not None:
        return BindResult(BindStatus.SLOWED, locked_until=paused)
    code = normalize_code(code_text)
    invite = await invites.get_invite(session=session, code=code) if code else None
    status: BindStatus | None = None
    if invite is None:
        status = BindStatus.UNKNOWN
    elif invite.used_at is not None:
        if invite.used_by_identity_id == identity.id:
            candidate = await people.get_candidate(
                session=session, candidate_id=invite.candidate_id
            )
            return BindResult(BindStatus.ALREADY, candidate)
        status = BindStatus.USED
    elif invite.expires_at <= now:
        status = BindStatus.EXPIRED
    elif identity.candidate_id not in (None, invite.candidate_id):
        return BindResult(BindStatus.OTHER_PERSON)
    if status is not None or invite is None:
        await invites.record_bind_failure(
            session=session,
            platform=identity.platform,
            user_id=identity.user_id,
            code=code_text.strip(),
            now=now,
        )
        locked = await _locked_until(session, identity, now)
        if locked is not None:
            return BindResult(BindStatus.LOCKED, locked_until=locked)
        began = None if burst else await _burst(session, now)
        pause = now + BURST_PAUSE if burst or began else None
        return BindResult(status or BindStatus.UNKNOWN, locked_until=pause, burst_began=began)
    if not await invites.use_invite(
        session=session, invite=invite, identity_id=identity.id or 0, now=now
    ):
        return BindResult(BindStatus.USED)
    candidate = await people.get_candidate(session=session, candidate_id=invite.candidate_id)
    assert candidate is not None
    await people.bind_identity(session=session, identity=identity, candidate_id=candidate.id)
    await people.mark_bound(session=session, candidate=candidate, now=now)
    return BindResult(BindStatus.BOUND, candidate)
