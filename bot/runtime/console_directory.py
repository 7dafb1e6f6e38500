"""People for the console's ``:as`` and ``:who``, over storage."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock
from bot.core.i18n import I18n
from storage import invites, people
from storage.db import Database

PLATFORM = "console"


class StorageDirectory:
    """Switching the console user binds a known person's console identity (a dev shortcut)."""

    def __init__(self, db: Database, clock: Clock, i18n: I18n) -> None:
        self.db = db
        self.clock = clock
        self.i18n = i18n

    async def switch(self, name: str) -> str:
        now = self.clock.now()
        async with self.db.session() as session:
            identity = await people.get_identity(session=session, platform=PLATFORM, user_id=name)
            if identity is not None and (identity.candidate_id or identity.staff_id):
                return await self._describe(session, name, identity.candidate_id, identity.staff_id)
            staff = await people.find_staff_by_name(session=session, name=name)
            candidates = await people.find_candidates(session=session, name=name)
            exact = [c for c in candidates if c.name == name]
            identity = await people.touch_identity(
                session=session,
                platform=PLATFORM,
                user_id=name,
                chat_id=name,
                display_name=name,
                now=now,
            )
            if staff:
                await people.bind_identity(session=session, identity=identity, staff_id=staff[0].id)
                return await self._describe(session, name, None, staff[0].id)
            if exact:
                await people.bind_identity(
                    session=session, identity=identity, candidate_id=exact[0].id
                )
                # as if they had bound with their invite now
                await people.mark_bound(session=session, candidate=exact[0], now=now)
                return await self._describe(session, name, exact[0].id, None)
        return f"→ {name}（新的聊天用户，尚未绑定 · new, unbound chat user）"

    @staticmethod
    async def _describe(
        session: AsyncSession, name: str, candidate_id: int | None, staff_id: int | None
    ) -> str:
        if staff_id is not None:
            staff = await people.get_staff(session=session, staff_id=staff_id)
            role = staff.role if staff else "?"
            department = staff.department if staff else None
        else:
            candidate = await people.get_candidate(session=session, candidate_id=candidate_id or 0)
            role = "candidate"
            department = candidate.department if candidate else None
        return f"→ {name}（{role}{' · ' + department if department else ''}）"

    async def who(self) -> list[str]:
        now = self.clock.now()
        lines = ["staff:"]
        async with self.db.session() as session:
            for staff in await people.list_staff(session=session):
                lines.append(f"  {staff.name} · {staff.role} · {staff.department or '-'}")
            lines.append("candidates:")
            for candidate, invite in await invites.invites_overview(session=session, now=now):
                state = (
                    "bound"
                    if candidate.bound_at
                    else (f"invite {invite.code}" if invite else "no open invite")
                )
                lines.append(
                    f"  {candidate.name} · {candidate.department or '-'} · "
                    f"{candidate.offer_status} · {state}"
                )
        lines.append("(:as NAME to switch; an unknown NAME is a new unbound chat user)")
        return lines
