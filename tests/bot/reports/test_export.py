"""The XLSX writer behind /export: header, frozen pane, widths, dates."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook

from bot.core.i18n import I18n
from bot.reports.export import COLUMNS, MAX_WIDTH, display_width, write_workbook


def test_workbook_layout(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "exports" / "x.xlsx",
        title="候选人",
        headers=["姓名", "email", "入职日期", "最近互动", "备注"],
        rows=[
            ["张三", "zs@example.com", date(2026, 7, 1), datetime(2026, 6, 1, 10, 30), None],
            ["欧阳娜娜", "a@b.cn", None, None, "很" * 100],
        ],
    )
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    assert sheet.title == "候选人" and sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold and sheet.auto_filter.ref == "A1:E3"
    assert sheet["C2"].value == datetime(2026, 7, 1) and sheet["C2"].number_format == "yyyy-mm-dd"
    assert sheet["D2"].value == datetime(2026, 6, 1, 10, 30)
    assert sheet["D2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["A3"].value == "欧阳娜娜" and sheet["E2"].value is None
    widths = {c: sheet.column_dimensions[c].width for c in "ABCDE"}
    assert widths["A"] == display_width("欧阳娜娜") + 2 == 10  # wide characters count double
    assert widths["B"] == len("zs@example.com") + 2
    assert widths["E"] == MAX_WIDTH  # long text is capped


def test_every_column_has_a_header_in_both_languages() -> None:
    i18n = I18n()
    for lang in ("zh", "en"):
        headers = [i18n.t(lang, f"export.col.{key}") for key in COLUMNS]
        assert all(not h.startswith("export.col.") for h in headers), lang
        assert len(set(headers)) == len(headers), lang
