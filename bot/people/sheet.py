"""Reading an HR spreadsheet (CSV or XLSX) and checking each row, before anything is written.

A file that is not a table, or has no name column, raises :class:`ImportRefused`;
a bad row raises :class:`RowInvalid` with the catalog key explaining why.

openpyxl and phonenumbers are imported on the first file read, not with this module."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from storage.models import OfferStatus

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


class RowInvalid(Exception):
    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params


# ---- reading the file --------------------------------------------------------------------


def _normalise_header(text: object) -> str:
    return re.sub(r"[\s_]", "", str(text or "")).lower()


HEADER_INDEX = {
    _normalise_header(alias): name for name, aliases in COLUMNS.items() for alias in aliases
}


MAX_COLUMNS = 64  # cells read per row; COLUMNS has 24
MAX_UNZIPPED = 64 * 1024 * 1024  # an XLSX of MAX_ROWS rows is a few MB; more is a bomb


def read_table(data: bytes) -> list[list[Any]]:
    """Rows of cells from XLSX or CSV bytes (header first); raise ImportRefused otherwise.

    Bounded whatever the file declares: XLSX is read lazily (openpyxl's read-only
    mode, its declared dimension ignored) up to :data:`MAX_ROWS` + 1 rows of
    :data:`MAX_COLUMNS` cells, after checking its parts unzip to at most
    :data:`MAX_UNZIPPED`; more rows refuse the file. CPU-bound: call it off the loop.
    """
    if not data.strip():
        raise ImportRefused("import.empty")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
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
    rows: list[list[Any]] = []
    for row in csv.reader(io.StringIO(text), dialect):
        if len(rows) > MAX_ROWS:
            raise ImportRefused("import.too_many_rows", limit=MAX_ROWS)
        rows.append(row[:MAX_COLUMNS])
    return rows


def _read_xlsx(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED:
                raise ImportRefused("import.too_large")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ImportRefused:
        raise
    except Exception as exc:  # BadZipFile, KeyError, XML errors: not a workbook
        raise ImportRefused("import.not_table") from exc
    try:
        sheet = book.worksheets[0]
        reset = getattr(sheet, "reset_dimensions", None)
        if reset is not None:
            reset()  # "A1:XFD30000" in the file must not make empty cells up to it
        rows: list[list[Any]] = []
        for row in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            if len(rows) > MAX_ROWS:
                raise ImportRefused("import.too_many_rows", limit=MAX_ROWS)
            rows.append(list(row))
        while rows and not any(cell is not None for cell in rows[-1]):
            rows.pop()
        return rows
    except ImportRefused:
        raise
    except Exception as exc:
        raise ImportRefused("import.not_table") from exc
    finally:
        book.close()


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
    import phonenumbers

    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(value) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def clean_row(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate one row's cells into candidate fields; raise RowInvalid with the first problem."""
    fields: dict[str, Any] = {}
    name = cell_text(raw.get("name"))
    if not name:
        raise RowInvalid("import.row.no_name")
    for key in TEXT_FIELDS:
        text = cell_text(raw.get(key))
        fields[key] = text[: {"motivation": 500, "degree": 32}.get(key, 100)]
        fields[key] = fields[key] or None
    phone = cell_text(raw.get("phone"))
    if phone:
        try:
            fields["phone"] = parse_phone(phone)
        except ValueError:
            raise RowInvalid("import.row.bad_phone", value=phone) from None
    email = cell_text(raw.get("email")).lower()
    if email:
        if not EMAIL_RE.match(email) or len(email) > 254:
            raise RowInvalid("import.row.bad_email", value=email)
        fields["email"] = email
    if not phone and not email:
        raise RowInvalid("import.row.no_key")
    for key in DATE_FIELDS:
        try:
            fields[key] = parse_date(raw.get(key))
        except ValueError as exc:
            raise RowInvalid("import.row.bad_date", column=key, value=str(exc)) from None
    tags = cell_text(raw.get("tags"))
    fields["tags"] = [t.strip() for t in TAG_SPLIT.split(tags) if t.strip()] if tags else []
    language = cell_text(raw.get("language")).lower()
    if language:
        if language not in LANGUAGES:
            raise RowInvalid("import.row.bad_language", value=language)
        fields["language"] = LANGUAGES[language]
    status = cell_text(raw.get("offer_status")).lower()
    if status:
        if status not in OFFER_STATUSES:
            raise RowInvalid("import.row.bad_offer_status", value=status)
        fields["offer_status"] = OFFER_STATUSES[status].value
    return fields
