"""What HR reads: the morning digest, the /stats chart and the /export workbook.

Charts (matplotlib) and workbooks (openpyxl) load only when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "send_digests": "bot.reports.digest",
    "StatsChart": "bot.reports.charts",
    "render_stats": "bot.reports.charts",
    "write_workbook": "bot.reports.export",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = ["StatsChart", "render_stats", "send_digests", "write_workbook"]
