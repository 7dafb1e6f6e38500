"""The /stats chart: size, and every Chinese label drawn in the bundled CJK font."""

from __future__ import annotations

import re
import warnings
from datetime import date, timedelta
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from bot.reports.charts import HEIGHT_PX, WIDTH_PX, StatsChart, cjk_font, draw_stats, render_stats

CJK = re.compile(r"[\u4e00-\u9fff]")


def chart(reasons: list[tuple[str, int]] | None = None) -> StatsChart:
    days = [date(2026, 5, 3) + timedelta(days=n) for n in range(30)]
    return StatsChart(
        title="入职转化统计 · 2026-06-01",
        funnel_title="转化漏斗",
        funnel=[
            ("已发 offer", 10),
            ("接受 offer", 8),
            ("材料齐全", 5),
            ("完成培训", 3),
            ("已入职", 1),
        ],
        rate_title="每日互动率（近 30 天）",
        rate_axis="有互动的候选人占比 %",
        days=days,
        rates=[(n % 7) / 7 for n in range(30)],
        reasons_title="放弃 / 拒绝原因",
        reasons=reasons if reasons is not None else [("薪资待遇", 3), ("家里希望回老家", 1)],
        no_data="暂无放弃或拒绝记录",
    )


def glyph_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def texts_of(figure: Figure) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text()]


def test_chart_png_size_and_no_missing_glyphs(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = render_stats(chart(), tmp_path / "reports" / "stats.png")
    assert glyph_warnings(caught) == []
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (WIDTH_PX, HEIGHT_PX) == (1200, 800)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50  # drawn, not a blank canvas


def test_chinese_labels_use_the_noto_cjk_font() -> None:
    family, font_file = cjk_font()
    assert family == "Noto Sans CJK SC" and font_file.name == "NotoSansCJKsc-Regular.otf"
    assert "mplfonts" in font_file.parts  # the bundled file, not a system font
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = draw_stats(chart(reasons=[]))
    assert glyph_warnings(caught) == []
    chinese = [t for t in texts_of(figure) if CJK.search(t.get_text())]
    labels = {t.get_text() for t in chinese}
    assert {"转化漏斗", "接受 offer", "暂无放弃或拒绝记录", "有互动的候选人占比 %"} <= labels
    for text in chinese:
        used = Path(font_manager.findfont(text.get_fontproperties(), fallback_to_default=False))
        assert used == font_file, text.get_text()


def test_the_glyph_check_would_catch_a_font_without_chinese(tmp_path: Path) -> None:
    """The same warning check flags Chinese drawn in a Latin-only font."""
    figure = Figure(figsize=(2, 1), dpi=50)
    with (
        matplotlib.rc_context({"font.family": ["DejaVu Sans"]}),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        figure.text(0.1, 0.5, "转化漏斗")
        figure.savefig(tmp_path / "latin.png")
    assert glyph_warnings(caught)
