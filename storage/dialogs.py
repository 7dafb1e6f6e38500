"""Persistent dialog state (see :class:`storage.models.Dialog`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.locks import locked
from storage.models import Dialog, DialogStatus


@dataclass(frozen=True, slots=True)
class DialogKey:
    """Whose dialogs: a candidate, a staff member, or a chat identity not bound yet.

    The one place the stored ``Dialog.person`` string is built.
    """

    candidate_id: int | None = None
    staff_id: int | None = None
    identity_id: int | None = None

    @property
    def person(self) -> str:
        if self.candidate_id is not None:
            return f"c:{self.candidate_id}"
        if self.staff_id is not None:
            return f"s:{self.staff_id}"
        if self.identity_id is not None:
            return f"i:{self.identity_id}"
        raise ValueError("a dialog key needs a candidate, a staff member or an identity")


async def get_dialog(*, session: AsyncSession, person: str, flow: str) -> Dialog | None:
    """The person's dialog in ``flow``, locked for this transaction on PostgreSQL."""
    stmt = select(Dialog).where(Dialog.person == person, Dialog.flow == flow)
    return (await session.exec(locked(session, stmt))).first()


async def active_dialog(*, session: AsyncSession, person: str) -> Dialog | None:
    """The dialog currently taking this person's input, locked (at most one is active)."""
    stmt = (
        select(Dialog)
        .where(Dialog.person == person, Dialog.status == DialogStatus.ACTIVE.value)
        .order_by(col(Dialog.updated_at).desc())
    )
    return (await session.exec(locked(session, stmt))).first()


async def touch_dialog(*, session: AsyncSession, dialog: Dialog) -> None:
    """Keep changes made to ``dialog`` (status, data) in this transaction."""
    session.add(dialog)


async def park_others(*, session: AsyncSession, person: str, keep_flow: str) -> None:
    await session.exec(
        update(Dialog)
        .where(
            col(Dialog.person) == person,
            col(Dialog.flow) != keep_flow,
            col(Dialog.status) == DialogStatus.ACTIVE.value,
        )
        .values(status=DialogStatus.PARKED.value)
    )


async def save_dialog(
    *,
    session: AsyncSession,
    dialog: Dialog | None,
    person: str,
    flow: str,
    state: str,
    data: dict[str, Any],
    status: DialogStatus,
    now: datetime,
    new_run: bool = False,
) -> Dialog:
    """Create or advance a dialog; every save is a new version."""
    if dialog is None:
        dialog = Dialog(person=person, flow=flow, state=state, started_at=now, updated_at=now)
    if new_run:
        dialog.started_at = now
    dialog.state = state
    dialog.data = dict(data)
    dialog.status = status.value
    dialog.version += 1
    dialog.updated_at = now
    session.add(dialog)
    await session.flush()
    return dialog
