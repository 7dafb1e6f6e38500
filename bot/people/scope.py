"""The staff data scope: which candidates an HR or an admin may see, written once.

HR see the candidates they own (``Candidate.hr_id``), admins see everyone.
Managers see their department through :mod:`bot.handlers.manager`'s own views.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.context import Context
from bot.core.messages import Button
from bot.core.text import number
from storage import people
from storage.models import Candidate, Role

STAFF_VIEW = {Role.HR, Role.ADMIN}


def hr_scope(ctx: Context) -> int | None:
    """The HR whose candidates this person may see; None for admins (everyone)."""
    if ctx.actor.role is Role.ADMIN:
        return None
    assert ctx.actor.staff is not None
    return ctx.actor.staff.id


def may_see(ctx: Context, candidate: Candidate) -> bool:
    """Whether this HR or admin may see ``candidate`` (HR: their own; admins: everyone)."""
    scope = hr_scope(ctx)
    return scope is None or candidate.hr_id == scope


async def find_in_scope(ctx: Context, name: str) -> Sequence[Candidate]:
    name = name.strip()
    if name.startswith("#") and (wanted := number(name[1:])) is not None:
        candidate = await people.get_candidate(session=ctx.session, candidate_id=wanted)
        return [candidate] if candidate is not None and may_see(ctx, candidate) else []
    return await people.find_candidates(session=ctx.session, name=name, hr_id=hr_scope(ctx))


async def find_one(
    ctx: Context, name: str, *, prefix: str, not_found_key: str = "status.not_found"
) -> Candidate | None:
    """The one in-scope candidate called ``name``. Otherwise reply "not found" or ask which
    one (buttons ``prefix:ID``, handled by the caller's payload handler) and return None."""
    matches = await find_in_scope(ctx, name)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        ctx.reply(ctx.t(not_found_key, name=name.strip()))
    else:
        ctx.reply(
            ctx.t("common.which_one", count=len(matches)), buttons=choose_buttons(prefix, matches)
        )
    return None


def choose_buttons(prefix: str, matches: Sequence[Candidate]) -> list[Button]:
    return [
        Button(
            f"{c.name} · {c.department or '-'} · {c.school or '-'}",
            f"{prefix}:{c.id}",
        )
        for c in matches[:10]
    ]


async def in_scope(ctx: Context, candidate_id: str) -> Candidate | None:
    """The candidate behind a button's id, if this person may see them."""
    wanted = number(candidate_id)
    if wanted is None:
        return None
    found = await find_in_scope(ctx, f"#{wanted}")
    return found[0] if found else None


__all__ = [
    "STAFF_VIEW",
    "choose_buttons",
    "find_in_scope",
    "find_one",
    "hr_scope",
    "in_scope",
    "may_see",
]
