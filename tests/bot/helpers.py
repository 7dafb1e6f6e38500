"""Building blocks for conversation tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.people.binding import issue_invite
from bot.runtime.app import App
from storage import people, scores
from storage.models import Candidate, ScoreSnapshot, Staff


async def add_staff(
    app: App,
    name: str,
    role: str,
    *,
    user: str | None = None,
    department: str | None = None,
    platform: str = "memory",
) -> Staff:
    """A staff member, bound to the chat user ``user`` when given."""
    async with app.db.session() as session:
        staff = await people.add_staff(
            session=session, name=name, role=role, department=department, now=app.clock.now()
        )
        if user is not None:
            identity = await people.touch_identity(
                session=session,
                platform=platform,
                user_id=user,
                chat_id=user,
                display_name=name,
                now=app.clock.now(),
            )
            await people.bind_identity(session=session, identity=identity, staff_id=staff.id)
    return staff


async def add_candidate(
    app: App, name: str, *, hr: Staff | None = None, department: str = "研发中心", **fields: object
) -> tuple[Candidate, str]:
    """A candidate and their invite code."""
    values: dict[str, object] = {
        "department": department,
        "hr_id": hr.id if hr else None,
        "training_date": date(2026, 6, 20),
        "onboarding_date": date(2026, 7, 1),
        "phone": fields.pop("phone", None),
    }
    values.update(fields)
    async with app.db.session() as session:
        candidate = await people.save_candidate(
            session=session, candidate=Candidate(name=name), fields=values, now=app.clock.now()
        )
        assert candidate.id is not None
        invite, _ = await issue_invite(
            session=session, candidate_id=candidate.id, now=app.clock.now(), ttl_days=60
        )
    return candidate, invite.code


async def save_score(
    app: App,
    candidate: Candidate,
    score: int,
    band: str,
    *,
    at: datetime | None = None,
    reasons: list[dict[str, Any]] | None = None,
) -> None:
    """A score snapshot with every indicator equal to ``score`` (now, unless ``at``)."""
    assert candidate.id is not None
    async with app.db.session() as session:
        await scores.save(
            session=session,
            snapshot=ScoreSnapshot(
                candidate_id=candidate.id,
                at=at or app.clock.now(),
                score=score,
                band=band,
                interaction=score,
                training=score,
                feedback=score,
                completeness=score,
                external=score,
                reasons=reasons or [],
            ),
        )


def same_picture(stored: bytes, sent: bytes) -> bool:
    """Whether ``stored`` is the picture ``sent`` (uploads are kept re-encoded, so the
    bytes differ; the format and the size do not)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(stored)) as a, Image.open(io.BytesIO(sent)) as b:
            return (a.format, a.size) == (b.format, b.size)
    except (UnidentifiedImageError, OSError):
        return False
