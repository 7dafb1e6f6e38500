"""Start-up stays light: the heavy libraries load when first used, not on the way to the prompt.

Not a timed test (machine speed cannot fool it): fresh interpreters take the console's
start-up path and report which of the lazily loaded libraries are in ``sys.modules``.
``python -m bench.startup`` measures the seconds; docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.core.settings import Settings
from content import FaqMatcher, load_content

REPO = Path(__file__).resolve().parents[3]

# Each is imported by the code that uses it (docs/benchmarks.md, "Start-up", says why
# each is safe to load late).
LAZY = (
    "matplotlib",  # /stats chart (bot/reports/charts.py)
    "openpyxl",  # /export workbook, XLSX import (bot/reports/export.py, bot/people/sheet.py)
    "phonenumbers",  # import rows (bot/people/sheet.py)
    "sklearn",  # calibrate (bot/scoring/calibrate.py)
    "numpy",  # calibrate, the FAQ index (rank-bm25), matplotlib
    "jieba",  # the FAQ index, built on the first question (content/faq_matcher.py)
    "rank_bm25",
    "rapidfuzz",
    "PIL",  # uploaded images (bot/core/uploads.py)
    "pypdf",  # uploaded PDFs (bot/core/uploads.py)
    "aiohttp",  # the web server for platform webhooks (bot/core/web.py)
    "apscheduler",  # the leader's scheduler (bot/runtime/scheduler.py)
    "asyncpg",  # the leader election (storage/leader_lock.py)
    "lark_oapi",  # platform SDKs, only for configured platforms (adapters/__init__.py)
    "telegram",
    "wechatpy",
    "prometheus_client",  # /metrics: the web server creates the registry (bot/core/metrics.py)
)
# Alembic (with Mako and Pygments) only when the database is not at the head revision.
LAZY_AT_HEAD = (*LAZY, "alembic", "mako", "pygments")

BUILD_ONLY = """
import json, sys
import bot.runtime.cli
import run_bot
from bot.core.settings import load_settings
run_bot.build_app(load_settings())
print(json.dumps(sorted(sys.modules)))
"""

CONSOLE = """
import json, sys
import run_bot
code = run_bot.main(["console"])
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def _environ(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    environ.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        DATA_DIR=str(tmp_path),
        PYTHONIOENCODING="utf-8",
    )
    return environ


def _python(tmp_path: Path, code: str, *args: str, input: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=_environ(tmp_path),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(names))


def test_building_the_app_loads_none_of_the_lazy_libraries(tmp_path: Path) -> None:
    modules = json.loads(_python(tmp_path, BUILD_ONLY).splitlines()[-1])
    assert "bot.runtime.app" in modules and "flows" in modules  # the real path was taken
    assert _loaded(modules, LAZY_AT_HEAD) == []


def test_the_console_reaches_its_prompt_without_them(tmp_path: Path) -> None:
    report = tmp_path / "modules.json"
    # The first start creates the schema (Alembic) and seeds the demo cohort.
    first = _python(tmp_path, CONSOLE, str(report), input=":quit\n")
    assert "demo cohort seeded" in first
    seeding = set(LAZY) - {"phonenumbers"}  # the demo rows go through the import checks
    modules = json.loads(report.read_text(encoding="utf-8"))["modules"]
    assert _loaded(modules, tuple(seeding)) == []
    # Every later start: the database is at head, so not even Alembic.
    second = _python(tmp_path, CONSOLE, str(report), input=":quit\n")
    assert "访客> :quit" in second  # it got to the prompt
    result = json.loads(report.read_text(encoding="utf-8"))
    assert result["code"] == 0
    assert _loaded(result["modules"], LAZY_AT_HEAD) == []


def test_the_first_question_builds_the_faq_index_and_gets_its_answer(tmp_path: Path) -> None:
    question = "公司提供住宿吗"
    match = FaqMatcher(load_content().faq).match(question)
    assert match is not None
    report = tmp_path / "modules.json"
    _python(tmp_path, CONSOLE, str(report), input=":quit\n")  # seed
    out = _python(tmp_path, CONSOLE, str(report), input=f":as 赵六\n{question}\n:quit\n")
    assert f"bot: 💡 {match.entry.answer.zh.splitlines()[0]}" in out
    assert "jieba" in _loaded(json.loads(report.read_text(encoding="utf-8"))["modules"], LAZY)
