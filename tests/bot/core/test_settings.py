"""Settings: a bad value stops start-up with one line naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.settings import Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting leaks in from the developer's shell."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def load(**overrides: object) -> Settings:
    return load_settings(_env_file=None, **overrides)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "not-a-url"),
        ("DATABASE_URL", "mysql://x"),
        ("DEFAULT_TIMEZONE", "Mars/Base"),
        ("HTTP_PORT", "99999"),
        ("ADMIN_IDS", "foo"),
        ("ADMIN_IDS", "telegram:1001, wecom:"),
        ("TELEGRAM_API_BASE_URL", "ftp://x"),
    ],
)
def test_bad_value_names_the_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load()
    message = str(error.value)
    assert message.startswith(f"setting {name}: ")
    assert "\n" not in message
    assert len(message) > len(f"setting {name}: ")


def test_defaults_load() -> None:
    settings = load()
    assert settings.database_url.startswith("sqlite+aiosqlite://")
    assert settings.default_timezone == "Asia/Shanghai"
    assert settings.admin_ids == []
    assert settings.enabled_platforms() == []


def test_postgres_url_and_trailing_slash_on_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://bot@db:5432/preboard")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "https://tg.example.com/")
    settings = load()
    assert settings.database_url == "postgresql+asyncpg://bot@db:5432/preboard"
    assert settings.telegram_api_base_url == "https://tg.example.com"


def test_admin_ids_parse_into_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "telegram:1001, wecom:zhang")
    settings = load()
    assert settings.admin_ids == ["telegram:1001", "wecom:zhang"]
    assert settings.is_admin("telegram", "1001")
    assert settings.is_admin("wecom", "zhang")
    assert not settings.is_admin("telegram", "zhang")
    assert not settings.is_admin("feishu", "1001")


def test_enabled_platforms_follow_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    assert load().enabled_platforms() == ["telegram"]

    monkeypatch.setenv("WECOM_CORP_ID", "ww1")
    monkeypatch.setenv("WECOM_SECRET", "s")
    assert load().enabled_platforms() == ["telegram"]  # WeCom still lacks its token
    monkeypatch.setenv("WECOM_TOKEN", "t")
    assert load().enabled_platforms() == ["telegram", "wecom"]

    monkeypatch.setenv("FEISHU_APP_ID", "cli_1")
    monkeypatch.setenv("FEISHU_APP_SECRET", "s")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    assert load().enabled_platforms() == ["wecom", "feishu"]


def test_bad_setting_stops_the_cli_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        DATA_DIR=str(tmp_path),
        DEFAULT_TIMEZONE="Mars/Base",
        PYTHONIOENCODING="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "run_bot.py", "invites"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("preboard: setting DEFAULT_TIMEZONE")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()
