"""Persistent dialog state (see :class:`storage.models.Dialog`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Dialog, DialogStatus


def _locked(session: AsyncSession, stmt: Any) -> Any:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return stmt.with_for_update()
    return stmt


async def get_dialog(*, session: AsyncSession, person: str, flow: str) -> Dialog | None:
    """The person's dialog in ``flow``, locked for this transaction on PostgreSQL."""
    stmt = select(Dialog).where(Dialog.person == person, Dialog.flow == flow)
    return (await session.exec(_locked(session, stmt))).first()


async def active_dialog(*, session: AsyncSession, person: str) -> Dialog | None:
    """The dialog currently taking this person's input, locked (at most one is active)."""
    stmt = (
        select(Dialog)
        .where(Dialog.person == person, Dialog.status == DialogStatus.ACTIVE.value)
        .order_by(col(Dialog.updated_at).desc())
    )
    return (await session.exec(_locked(session, stmt))).first()


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
