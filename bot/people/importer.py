"""Importing candidates from CSV or XLSX: validation, upsert by phone (else email), invites.

Used by ``run_bot.py import`` and by HR's ``/import`` in chat. Bad rows are
reported with their spreadsheet row number and skipped; a file that is not a
table, or has no name column, is refused whole and nothing is written.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import phonenumbers
from openpyxl import load_workbook
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.people.binding import issue_invite
from storage import people
from storage.models import OfferStatus, Role

COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "姓名"),
    "phone": ("phone", "手机", "手机号", "电话"),
    "email": ("email", "邮箱", "电子邮箱"),
    "school": ("school", "学校"),
    "major": ("major", "专业"),
    "degree": ("degree", "学历"),
    "position": ("position", "岗位", "职位"),
    "department": ("department", "部门"),
    "hr": ("hr",),
    "manager": ("manager", "经理"),
    "offer_date": ("offer_date", "offer日期"),
    "onboarding_date": ("onboarding_date", "入职日期"),
    "training_date": ("training_date", "培训日期"),
    "doc_deadline": ("doc_deadline", "材料截止日期"),
    "hometown": ("hometown", "籍贯"),
    "work_city": ("work_city", "工作城市"),
    "birthday": ("birthday", "生日"),
    "motivation": ("motivation", "求职动机"),
    "tags": ("tags", "标签"),
    "language": ("language", "语言"),
    "offer_status": ("offer_status", "offer状态"),
    "telegram_id": ("telegram_id",),
    "wecom_userid": ("wecom_userid",),
    "feishu_open_id": ("feishu_open_id",),
}
DATE_FIELDS = ("offer_date", "onboarding_date", "training_date", "doc_deadline", "birthday")
TEXT_FIELDS = (
    "name",
    "school",
    "major",
    "degree",
    "position",
    "department",
    "hometown",
    "work_city",
    "motivation",
)
IDENTITY_FIELDS = {"telegram_id": "telegram", "wecom_userid": "wecom", "feishu_open_id": "feishu"}
LANGUAGES = {"zh": "zh", "中文": "zh", "chinese": "zh", "en": "en", "英文": "en", "english": "en"}
OFFER_STATUSES = {
    "pending_approval": OfferStatus.PENDING_APPROVAL,
    "pending": OfferStatus.PENDING_APPROVAL,
    "待审批": OfferStatus.PENDING_APPROVAL,
    "offered": OfferStatus.OFFERED,
    "待确认": OfferStatus.OFFERED,
    "accepted": OfferStatus.ACCEPTED,
    "已确认": OfferStatus.ACCEPTED,
}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
TAG_SPLIT = re.compile(r"[,，;；、|/]")
MAX_ROWS = 20_000


class ImportRefused(Exception):
    """The whole file is unusable; ``key`` names the catalog text explaining why."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


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


class _RowInvalid(Exception):
    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params


# ---- reading the file --------------------------------------------------------------------


def _normalise_header(text: object) -> str:
    return re.sub(r"[\s_]", "", str(text or "")).lower()


HEADER_INDEX = {
    _normalise_header(alias): name for name, aliases in COLUMNS.items() for alias in aliases
}


def read_table(data: bytes) -> list[list[Any]]:
    """Rows of cells from XLSX or CSV bytes (header first); raise ImportRefused otherwise."""
    if not data.strip():
        raise ImportRefused("import.empty")
    if data.startswith(b"PK\x03\x04"):
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise ImportRefused("import.not_table") from exc
        sheet = book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        book.close()
        return rows
    if data.startswith(b"%PDF") or b"\x00" in data[:4096]:
        raise ImportRefused("import.not_table")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportRefused("import.not_table")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def map_header(header: Iterable[Any]) -> dict[int, str]:
    """Column index to field name, for the columns we know."""
    mapping: dict[int, str] = {}
    for index, cell in enumerate(header):
        name = HEADER_INDEX.get(_normalise_header(cell))
        if name is not None and name not in mapping.values():
            mapping[index] = name
    return mapping


# ---- validating one row ------------------------------------------------------------------


def parse_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_phone(value: str) -> str:
    """E.164 form of a phone number (Chinese numbers may omit +86)."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(value) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def clean_row(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate one row's cells into candidate fields; raise _RowInvalid with the first problem."""
    fields: dict[str, Any] = {}
    name = _cell(raw.get("name"))
    if not name:
        raise _RowInvalid("import.row.no_name")
    for key in TEXT_FIELDS:
        text = _cell(raw.get(key))
        fields[key] = text[: {"motivation": 500, "degree": 32}.get(key, 100)]
        fields[key] = fields[key] or None
    phone = _cell(raw.get("phone"))
    if phone:
        try:
            fields["phone"] = parse_phone(phone)
        except ValueError:
            raise _RowInvalid("import.row.bad_phone", value=phone) from None
    email = _cell(raw.get("email")).lower()
    if email:
        if not EMAIL_RE.match(email) or len(email) > 254:
            raise _RowInvalid("import.row.bad_email", value=email)
        fields["email"] = email
    if not phone and not email:
        raise _RowInvalid("import.row.no_key")
    for key in DATE_FIELDS:
        try:
            fields[key] = parse_date(raw.get(key))
        except ValueError as exc:
            raise _RowInvalid("import.row.bad_date", column=key, value=str(exc)) from None
    tags = _cell(raw.get("tags"))
    fields["tags"] = [t.strip() for t in TAG_SPLIT.split(tags) if t.strip()] if tags else []
    language = _cell(raw.get("language")).lower()
    if language:
        if language not in LANGUAGES:
            raise _RowInvalid("import.row.bad_language", value=language)
        fields["language"] = LANGUAGES[language]
    status = _cell(raw.get("offer_status")).lower()
    if status:
        if status not in OFFER_STATUSES:
            raise _RowInvalid("import.row.bad_offer_status", value=status)
        fields["offer_status"] = OFFER_STATUSES[status].value
    return fields


# ---- applying ----------------------------------------------------------------------------


async def _staff_id(session: AsyncSession, name: str, role: Role, key: str) -> int | None:
    if not name:
        return None
    matches = await people.find_staff_by_name(session=session, name=name, roles=[role.value])
    if len(matches) != 1:
        raise _RowInvalid(key if not matches else "import.row.ambiguous_staff", value=name)
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
        session, _cell(raw.get("hr")), Role.HR, "import.row.unknown_hr"
    )
    fields["manager_id"] = await _staff_id(
        session, _cell(raw.get("manager")), Role.MANAGER, "import.row.unknown_manager"
    )
    existing = await people.find_candidate_by_contact(
        session=session, phone=fields.get("phone"), email=fields.get("email")
    )
    if existing is not None and fields.get("email") and existing.email != fields["email"]:
        other = await people.find_candidate_by_contact(
            session=session, phone=None, email=fields["email"]
        )
        if other is not None and other.id != existing.id:
            raise _RowInvalid("import.row.key_conflict")
    identities = []
    for column, platform in IDENTITY_FIELDS.items():
        user_id = _cell(raw.get(column))
        if user_id:
            owner = await people.identity_owner(session=session, platform=platform, user_id=user_id)
            if owner is not None and (existing is None or owner != (existing.id, None)):
                raise _RowInvalid("import.row.identity_taken", column=column, value=user_id)
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
    rows = read_table(data)
    if not rows:
        raise ImportRefused("import.empty")
    mapping = map_header(rows[0])
    if "name" not in mapping.values():
        raise ImportRefused("import.no_name_column")
    if len(rows) - 1 > MAX_ROWS:
        raise ImportRefused("import.too_many_rows", limit=MAX_ROWS)
    report = ImportReport()
    for number, row in enumerate(rows[1:], start=2):
        if not any(_cell(c) for c in row):
            continue
        raw = {name: row[index] for index, name in mapping.items() if index < len(row)}
        try:
            async with session.begin_nested():
                await _apply_row(session, raw, now=now, ttl_days=ttl_days, report=report)
        except _RowInvalid as exc:
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
