"""Importing candidates: upsert by phone (else email), invites, and the report HR reads.

Reading the file and checking each row is bot/people/sheet.py.

Used by ``run_bot.py import`` and by HR's ``/import`` in chat. Bad rows are
reported with their spreadsheet row number and skipped; a file that is not a
table, or has no name column, is refused whole and nothing is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.people.binding import issue_invite
from bot.people.sheet import (
    IDENTITY_FIELDS,
    MAX_ROWS,
    ImportRefused,
    RowInvalid,
    cell_text,
    clean_row,
    map_header,
    read_table,
)
from storage import people
from storage.models import OfferStatus, Role


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    key: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    invites: int = 0
    errors: list[RowError] = field(default_factory=list)
    candidate_ids: list[int] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)


# ---- applying ----------------------------------------------------------------------------


async def _staff_id(session: AsyncSession, name: str, role: Role, key: str) -> int | None:
    if not name:
        return None
    matches = await people.find_staff_by_name(session=session, name=name, roles=[role.value])
    if len(matches) != 1:
        raise RowInvalid(key if not matches else "import.row.ambiguous_staff", value=name)
    return matches[0].id


async def _apply_row(
    session: AsyncSession,
    raw: dict[str, Any],
    *,
    now: datetime,
    ttl_days: int,
    report: ImportReport,
) -> None:
    fields = clean_row(raw)
    fields["hr_id"] = await _staff_id(
        session, cell_text(raw.get("hr")), Role.HR, "import.row.unknown_hr"
    )
    fields["manager_id"] = await _staff_id(
        session, cell_text(raw.get("manager")), Role.MANAGER, "import.row.unknown_manager"
    )
    existing = await people.find_candidate_by_contact(
        session=session, phone=fields.get("phone"), email=fields.get("email")
    )
    if existing is not None and fields.get("email") and existing.email != fields["email"]:
        other = await people.find_candidate_by_contact(
            session=session, phone=None, email=fields["email"]
        )
        if other is not None and other.id != existing.id:
            raise RowInvalid("import.row.key_conflict")
    identities = []
    for column, platform in IDENTITY_FIELDS.items():
        user_id = cell_text(raw.get(column))
        if user_id:
            owner = await people.identity_owner(session=session, platform=platform, user_id=user_id)
            if owner is not None and (existing is None or owner != (existing.id, None)):
                raise RowInvalid("import.row.identity_taken", column=column, value=user_id)
            identities.append((platform, user_id))
    if (
        existing is not None
        and fields.get("offer_status") == OfferStatus.PENDING_APPROVAL.value
        and existing.offer_status != OfferStatus.PENDING_APPROVAL.value
    ):
        # Re-importing an old file must not send a decided offer back for approval.
        del fields["offer_status"]
    if existing is None:
        fields.setdefault("language", None)
    else:
        # An empty optional cell keeps what is stored; a re-import never erases data.
        fields = {k: v for k, v in fields.items() if v not in (None, [], "")}
    candidate = await people.save_candidate(
        session=session, candidate=existing, fields=fields, now=now
    )
    assert candidate.id is not None
    report.candidate_ids.append(candidate.id)
    if existing is None:
        report.created += 1
    else:
        report.updated += 1
    if identities:  # linked to a chat account now: the bot can reach them
        await people.mark_bound(session=session, candidate=candidate, now=now)
    for platform, user_id in identities:
        await people.prebind_identity(
            session=session,
            platform=platform,
            user_id=user_id,
            display_name=candidate.name,
            now=now,
            candidate_id=candidate.id,
        )
    if not identities and candidate.bound_at is None:
        _, created = await issue_invite(
            session=session, candidate_id=candidate.id, now=now, ttl_days=ttl_days
        )
        report.invites += int(created)


async def import_candidates(
    *, session: AsyncSession, data: bytes, now: datetime, ttl_days: int
) -> ImportReport:
    """Validate and upsert every row; the caller's transaction decides whether it sticks."""
    rows = await asyncio.to_thread(read_table, data)  # parsing never blocks the loop
    if not rows:
        raise ImportRefused("import.empty")
    mapping = map_header(rows[0])
    if "name" not in mapping.values():
        raise ImportRefused("import.no_name_column")
    if len(rows) - 1 > MAX_ROWS:
        raise ImportRefused("import.too_many_rows", limit=MAX_ROWS)
    report = ImportReport()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell_text(c) for c in row):
            continue
        raw = {name: row[index] for index, name in mapping.items() if index < len(row)}
        try:
            async with session.begin_nested():
                await _apply_row(session, raw, now=now, ttl_days=ttl_days, report=report)
        except RowInvalid as exc:
            report.errors.append(RowError(number, exc.key, exc.params))
    return report


def render_report(t: Callable[..., str], report: ImportReport, *, dry_run: bool) -> str:
    """The import report in the reader's language (``t`` looks up catalog keys)."""
    lines = [
        t(
            "import.report.dry_run" if dry_run else "import.report.done",
            created=report.created,
            updated=report.updated,
            rejected=report.rejected,
            invites=report.invites,
        )
    ]
    for error in report.errors[:50]:
        lines.append(t("import.report.row", row=error.row, reason=t(error.key, **error.params)))
    if len(report.errors) > 50:
        lines.append(t("import.report.more", count=len(report.errors) - 50))
    return "\n".join(lines)
