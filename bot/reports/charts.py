"""The /stats chart: funnel, interaction rate over time and reneging reasons, as one PNG.

Rendering uses matplotlib's Agg canvas directly (no pyplot state) with the
Noto Sans CJK font shipped in the ``mplfonts`` package, so Chinese labels come
out right on any machine, whatever fonts the system has.

matplotlib is imported on the first chart, not with this module: it costs about half a
second, and only /stats draws.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
WIDTH_PX, HEIGHT_PX, DPI = 1200, 800, 100
BAR = "#3b7dd8"
ACCENT = "#d9534f"
_render_lock = threading.Lock()  # matplotlib's rc settings are process-wide


@functools.cache
def cjk_font() -> tuple[str, Path]:
    """Register the bundled CJK font with matplotlib; return its family name and file."""
    resource = importlib.resources.files("mplfonts") / "fonts" / CJK_FONT_FILE
    path = Path(str(resource))
    if not path.is_file():
        raise FileNotFoundError(f"CJK font missing from the mplfonts package: {path}")
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name(), path


@contextlib.contextmanager
def _style() -> Iterator[None]:
    """One rendering at a time (rc settings are process-wide), in the CJK font."""
    import matplotlib

    family, _ = cjk_font()
    with (
        _render_lock,
        matplotlib.rc_context(
            {"font.family": [family], "axes.unicode_minus": False, "font.size": 11}
        ),
    ):
        yield


@dataclass(frozen=True, slots=True)
class StatsChart:
    """Everything the chart shows, labels already in the reader's language."""

    title: str
    funnel_title: str
    funnel: Sequence[tuple[str, int]]  # stage label, candidates
    rate_title: str
    rate_axis: str
    days: Sequence[date]
    rates: Sequence[float]  # share of candidates with an interaction, 0..1, one per day
    reasons_title: str
    reasons: Sequence[tuple[str, int]]  # reason label, count
    no_data: str


def draw_stats(chart: StatsChart) -> Figure:
    """Lay ``chart`` out on a WIDTH_PX x HEIGHT_PX figure, every text in the CJK font."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _style():
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        grid = figure.add_gridspec(2, 2, height_ratios=(1.1, 1), hspace=0.45, wspace=0.35)
        figure.suptitle(chart.title, fontsize=15)
        _funnel(figure.add_subplot(grid[0, 0]), chart)
        _reasons(figure.add_subplot(grid[0, 1]), chart)
        _rates(figure.add_subplot(grid[1, :]), chart)
        figure.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.08)
        figure.canvas.draw()  # tick labels made now get the CJK font too
    return figure


def render_stats(chart: StatsChart, path: Path) -> Path:
    """Draw ``chart`` into a PNG at ``path``."""
    figure = draw_stats(chart)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _style():
        figure.savefig(path, format="png", dpi=DPI)
    return path


def _funnel(ax: Axes, chart: StatsChart) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_title(chart.funnel_title)
    labels = [label for label, _ in chart.funnel]
    counts = [count for _, count in chart.funnel]
    top = counts[0] if counts and counts[0] else 0
    positions = list(range(len(labels)))
    ax.barh(positions, counts, color=BAR)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, max([*counts, 1]) * 1.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for y, count in zip(positions, counts, strict=True):
        share = f" ({100 * count / top:.0f}%)" if top else ""
        ax.text(count, y, f" {count}{share}", va="center")
    ax.spines[["top", "right"]].set_visible(False)


def _reasons(ax: Axes, chart: StatsChart) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_title(chart.reasons_title)
    if not chart.reasons:
        ax.text(0.5, 0.5, chart.no_data, ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    labels = [label for label, _ in chart.reasons]
    counts = [count for _, count in chart.reasons]
    positions = list(range(len(labels)))
    ax.barh(positions, counts, color=ACCENT)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, max(counts) * 1.25)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for y, count in zip(positions, counts, strict=True):
        ax.text(count, y, f" {count}", va="center")
    ax.spines[["top", "right"]].set_visible(False)


def _rates(ax: Axes, chart: StatsChart) -> None:
    ax.set_title(chart.rate_title)
    ax.set_ylabel(chart.rate_axis)
    x = list(range(len(chart.days)))
    ax.plot(x, [100 * r for r in chart.rates], color=BAR, marker="o", markersize=3)
    ax.set_ylim(0, 100)
    step = max(1, len(x) // 10)
    ax.set_xticks(x[::step], [d.strftime("%m-%d") for d in chart.days][::step])
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
