"""The /export spreadsheet: one row per candidate, a frozen header in the reader's language.

openpyxl is imported when a workbook is written, not with this module (start-up skips it).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

# Column keys in order; headers come from the catalog as ``export.col.<key>``.
COLUMNS = (
    "id",
    "name",
    "phone",
    "email",
    "school",
    "major",
    "degree",
    "department",
    "position",
    "hr",
    "offer_status",
    "progress",
    "missing_documents",
    "courses_passed",
    "score",
    "band",
    "main_reason",
    "last_interaction",
    "offer_date",
    "training_date",
    "onboarding_date",
    "outcome",
)
Cell = str | int | float | date | datetime | None
MIN_WIDTH, MAX_WIDTH = 6, 48


def display_width(value: Cell) -> int:
    """Columns a value takes in a spreadsheet: wide (Chinese) characters count double."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def write_workbook(
    path: Path, *, title: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]]
) -> Path:
    """Write ``rows`` under ``headers`` to an XLSX file at ``path``.

    Datetimes must be naive local times (spreadsheets have no time zones).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(vertical="center")
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        letter = get_column_letter(index)
        width = max([display_width(header)] + [display_width(r[index - 1]) for r in rows])
        sheet.column_dimensions[letter].width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))
        for cell in sheet[letter][1:]:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    if rows:
        sheet.auto_filter.ref = sheet.dimensions
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
