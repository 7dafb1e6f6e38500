"""People: binding a chat to a candidate, imports, progress, the staff's data scope, approvals."""

from __future__ import annotations

from bot.people.approvals import check_approval_sla, waited
from bot.people.binding import BindStatus, bind, issue_invite, looks_like_code
from bot.people.demo import is_empty, seed_demo
from bot.people.importer import ImportReport, RowError, import_candidates, render_report
from bot.people.progress import Progress, compute_progress, offer_awaiting_reply
from bot.people.scope import STAFF_VIEW, find_in_scope, find_one, hr_scope, in_scope, may_see
from bot.people.sheet import ImportRefused, RowInvalid, read_table

__all__ = [
    "STAFF_VIEW",
    "BindStatus",
    "ImportRefused",
    "ImportReport",
    "Progress",
    "RowError",
    "RowInvalid",
    "bind",
    "check_approval_sla",
    "compute_progress",
    "find_in_scope",
    "find_one",
    "hr_scope",
    "import_candidates",
    "in_scope",
    "is_empty",
    "issue_invite",
    "looks_like_code",
    "may_see",
    "offer_awaiting_reply",
    "read_table",
    "render_report",
    "seed_demo",
    "waited",
]
