"""The ``run_bot.py`` command line, run as the operator runs it: a subprocess on SQLite."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

from bot.core.settings import Settings
from bot.people.binding import INVITE_ALPHABET

REPO = Path(__file__).resolve().parents[3]


def cli(
    tmp_path: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``run_bot.py ARGS`` against a fresh SQLite file in ``tmp_path``."""
    environ = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    environ.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        DATA_DIR=str(tmp_path),
        LOG_LEVEL="WARNING",  # keep migration chatter out of stderr
        PYTHONIOENCODING="utf-8",
    )
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "run_bot.py", *args],
        cwd=REPO,
        env=environ,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def invite_rows(tmp_path: Path, **env: str) -> list[list[str]]:
    result = cli(tmp_path, "invites", "--format", "csv", env=env)
    assert result.returncode == 0, result.stderr
    return list(csv.reader(io.StringIO(result.stdout)))


GOOD = [
    ["姓名", "手机", "岗位"],
    ["张三", "13800138001", "后端开发工程师"],
    ["李四", "13800138002", "工艺工程师"],
]


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = cli(tmp_path, "--help")
    assert result.returncode == 0
    listed = re.findall(r"^\s{4}(\w+)\s", result.stdout, flags=re.MULTILINE)
    assert set(listed) >= {"run", "console", "import", "invites", "staff", "demo", "db"}


def test_db_upgrade(tmp_path: Path) -> None:
    result = cli(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert (tmp_path / "x.db").is_file()


def test_staff_add_then_list(tmp_path: Path) -> None:
    added = cli(tmp_path, "staff", "add", "--name", "王芳", "--role", "hr", "--telegram", "1001")
    assert added.returncode == 0, added.stderr
    assert "王芳" in added.stdout

    listed = cli(tmp_path, "staff", "list")
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if "王芳" in line]
    assert re.search(r"\bhr\b", row)
    assert "telegram:1001" in row


def test_staff_add_with_unknown_role_is_a_usage_error(tmp_path: Path) -> None:
    result = cli(tmp_path, "staff", "add", "--name", "王芳", "--role", "boss")
    assert result.returncode != 0
    assert "usage:" in result.stderr
    assert "boss" in result.stderr
    assert not (tmp_path / "x.db").exists()  # refused before touching the database


def test_import_reports_rejected_rows_and_exit_codes(tmp_path: Path) -> None:
    mixed = write_csv(
        tmp_path / "mixed.csv",
        [
            ["姓名", "手机"],
            ["张三", "13800138001"],
            ["李四", "12345"],
        ],
    )
    result = cli(tmp_path, "import", str(mixed))
    assert result.returncode == 1, result.stderr
    assert "新增 1 人" in result.stdout
    assert "拒绝 1 行" in result.stdout
    assert "第 3 行：手机号格式不正确：12345" in result.stdout

    good = write_csv(tmp_path / "good.csv", GOOD)
    result = cli(tmp_path, "import", str(good))
    assert result.returncode == 0, result.stderr
    assert "新增 1 人，更新 1 人，拒绝 0 行" in result.stdout
    assert [row[1] for row in invite_rows(tmp_path)[1:]] == ["张三", "李四"]


def test_import_dry_run_writes_nothing(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", GOOD)
    result = cli(tmp_path, "import", "--dry-run", str(good))
    assert result.returncode == 0, result.stderr
    assert "新增 2 人" in result.stdout
    assert invite_rows(tmp_path) == [["id", "name", "invite_code", "telegram_link"]]


def test_import_of_a_pdf_is_refused_in_one_line(tmp_path: Path) -> None:
    pdf = tmp_path / "offer.pdf"
    pdf.write_bytes(b"%PDF-1.4 ...")
    result = cli(tmp_path, "import", str(pdf))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "无法读取这个文件：请上传 CSV 或 XLSX 表格（第一行为表头）。"
    ]
    assert result.stdout == ""


def test_import_of_a_missing_file(tmp_path: Path) -> None:
    result = cli(tmp_path, "import", str(tmp_path / "nope.csv"))
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_invites_csv_lists_codes_and_telegram_links(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", GOOD)
    assert cli(tmp_path, "import", str(good)).returncode == 0

    rows = invite_rows(tmp_path)
    assert rows[0] == ["id", "name", "invite_code", "telegram_link"]
    assert [r[1] for r in rows[1:]] == ["张三", "李四"]
    for _, _, code, link in rows[1:]:
        assert len(code) == 10 and set(code) <= set(INVITE_ALPHABET)
        assert link == ""  # no bot username configured

    linked = invite_rows(tmp_path, TELEGRAM_BOT_USERNAME="preboard_bot")
    assert [r[3] for r in linked[1:]] == [
        f"https://t.me/preboard_bot?start={r[2]}" for r in rows[1:]
    ]
    assert [r[2] for r in linked] == [r[2] for r in rows]  # listing issues no new codes


def test_demo_seeds_once(tmp_path: Path) -> None:
    first = cli(tmp_path, "demo")
    assert first.returncode == 0, first.stderr
    assert "demo cohort seeded: 4 candidates, 4 invite codes" in first.stdout

    second = cli(tmp_path, "demo")
    assert second.returncode == 1
    assert "already has people" in second.stdout


def test_console_transcript_binding_and_progress(tmp_path: Path) -> None:
    assert cli(tmp_path, "demo").returncode == 0
    _, name, code, _ = invite_rows(tmp_path)[1]

    result = cli(tmp_path, "console", input=f":as 新同学\n绑定 {code}\n/progress\n:quit\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"欢迎你，{name}" in out
    progress = out[out.index("/progress") :]
    assert re.search(r"已完成 \d+%", progress)
    assert "距培训还有" in progress

    other = cli(tmp_path, "console", input=f":as 另一人\n绑定 {code}\n:quit\n")
    assert other.returncode == 0, other.stderr
    assert "已经被使用" in other.stdout
    assert f"欢迎你，{name}" not in other.stdout
    # The console's log is a file beside the data, not lines in the conversation.
    assert other.stderr == "" and (tmp_path / "console.log").exists()
