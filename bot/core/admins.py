"""Telling the admins something, written once.

Admins are staff with the admin role and the ``ADMIN_IDS`` accounts; an account
that is also an admin staff member is told once. A notice to a staff member goes
to all their accounts; one to an ``ADMIN_IDS`` account without a staff record
goes to that account (once it has written to the bot, so it exists).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.messages import Outgoing
from bot.core.settings import Settings
from storage import outbox, people
from storage.models import Role


@dataclass(frozen=True, slots=True)
class AdminAddress:
    """One admin to tell: a staff member or a lone ``ADMIN_IDS`` account."""

    language: str | None
    staff_id: int | None = None
    identity_id: int | None = None

    @property
    def key(self) -> str:
        return f"s{self.staff_id}" if self.staff_id is not None else f"i{self.identity_id}"


async def admin_addresses(session: AsyncSession, settings: Settings) -> list[AdminAddress]:
    staff = await people.staff_with_role(session=session, role=Role.ADMIN.value)
    found = [AdminAddress(member.language, staff_id=member.id) for member in staff]
    told = {member.id for member in staff}
    for entry in settings.admin_ids:
        platform, _, user_id = entry.partition(":")
        identity = await people.get_identity(session=session, platform=platform, user_id=user_id)
        if identity is None or (identity.staff_id is not None and identity.staff_id in told):
            continue
        if identity.staff_id is not None:
            member = await people.get_staff(session=session, staff_id=identity.staff_id)
            told.add(identity.staff_id)
            found.append(AdminAddress(member.language if member else None, identity.staff_id))
        else:
            found.append(AdminAddress(identity.language, identity_id=identity.id))
    return found


async def notify_admins(
    session: AsyncSession,
    settings: Settings,
    render: Callable[[str | None], Outgoing],
    *,
    now: datetime,
    dedupe: str | None = None,
) -> list[int]:
    """Queue ``render(language)`` to every admin; with ``dedupe``, once per admin ever.
    Returns the new outbox ids."""
    ids = []
    for admin in await admin_addresses(session, settings):
        row = await outbox.enqueue(
            session=session,
            kind="notice",
            payload=render(admin.language).to_json(),
            due_at=now,
            now=now,
            staff_id=admin.staff_id,
            identity_id=admin.identity_id,
            dedupe_key=f"{dedupe}:{admin.key}"[:200] if dedupe else None,
        )
        if row is not None:
            ids.append(row)
    return ids
