"""Settings from environment variables and an optional ``.env`` file.

Every name here is an environment variable of the same name (upper case).
A bad value stops start-up with one line naming the setting
(:func:`load_settings` raises :class:`SettingsError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class SettingsError(Exception):
    """A setting has a value the bot cannot start with."""


def _optional_url(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


class Settings(BaseSettings):
    """All of Preboard's configuration."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str = "sqlite+aiosqlite:///./data/preboard.db"
    data_dir: Path = Path("./data")
    default_language: Literal["zh", "en"] = "zh"
    default_timezone: str = "Asia/Shanghai"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    invite_ttl_days: int = Field(default=60, ge=1, le=3650)
    admin_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_upload_mb: int = Field(default=20, ge=1, le=200)
    ticket_sla_hours: int = Field(default=24, ge=1, le=24 * 30)
    log_format: Literal["text", "json"] = "text"
    # Where candidates reach the bot's HTTP server: tracked links are PUBLIC_BASE_URL/r/TOKEN.
    public_base_url: str = "http://127.0.0.1:8080"

    # Scheduled content (#5).
    push_weekly_cap: int = Field(default=2, ge=0, le=50)
    # A candidate who has heard nothing for this many days gets the next push even
    # past the weekly cap (the weekly check-in makes sure there is one).
    push_max_silence_days: int = Field(default=7, ge=2, le=60)
    quiet_hours_start: int = Field(default=21, ge=0, le=23)
    quiet_hours_end: int = Field(default=9, ge=0, le=23)
    # Webhook deliveries are processed by this many tasks per process, from a queue of
    # at most INBOX_BACKLOG (beyond it they wait in the inbox for recovery).
    inbox_workers: int = Field(default=4, ge=1, le=64)
    inbox_backlog: int = Field(default=10_000, ge=10, le=1_000_000)
    # Sends in flight at once when the courier drains the outbox (the adapters' rate
    # limiters keep each platform's pace; one recipient's rows still go in order).
    send_concurrency: int = Field(default=16, ge=1, le=256)
    scheduler_tick_seconds: int = Field(default=60, ge=1, le=3600)
    leader_lease_seconds: int = Field(default=30, ge=3, le=600)
    # On SIGTERM: how long deliveries and sends in flight may take before they are cut off.
    shutdown_grace_seconds: float = Field(default=10, ge=0, le=600)

    # Stability score and alerts (#6). Weights are percentages; they are normalised to sum 1.
    score_weight_interaction: float = Field(default=30, ge=0, le=100)
    score_weight_training: float = Field(default=25, ge=0, le=100)
    score_weight_feedback: float = Field(default=20, ge=0, le=100)
    score_weight_completeness: float = Field(default=15, ge=0, le=100)
    score_weight_external: float = Field(default=10, ge=0, le=100)
    score_high_risk_below: int = Field(default=55, ge=0, le=100)
    score_low_risk_above: int = Field(default=80, ge=0, le=100)
    score_drop_points: int = Field(default=15, ge=1, le=100)
    silence_days: int = Field(default=5, ge=1, le=60)
    offer_approval_sla_days: int = Field(default=2, ge=1, le=60)
    # A declined offer can be taken back in the chat for this long (unless HR acted).
    offer_undo_hours: int = Field(default=24, ge=0, le=720)
    # An offer unanswered this many days after it was first shown: HR is told, once.
    offer_unanswered_days: int = Field(default=10, ge=1, le=90)
    digest_hour: int = Field(default=9, ge=0, le=23)
    # Saturday and Sunday digests only when a question waits past TICKET_SLA_HOURS.
    digest_weekends: bool = False
    log_level: str = "INFO"

    telegram_bot_token: str | None = None
    telegram_bot_username: str | None = None
    telegram_api_base_url: str | None = None
    telegram_file_base_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None

    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_api_base_url: str | None = None

    feishu_app_id: str | None = None
    feishu_app_secret: str | None = None
    feishu_verification_token: str | None = None
    feishu_encrypt_key: str | None = None
    feishu_domain: str | None = None
    feishu_mode: Literal["webhook", "ws"] = "webhook"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("not a database URL") from exc
        if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError(
                "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST:PORT/DB"
            )
        return value

    @field_validator("default_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from exc
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for item in value:
                platform, _, user = str(item).partition(":")
                if not platform or not user:
                    raise ValueError(f"{item!r} is not PLATFORM:USER_ID (e.g. telegram:1001)")
        return value

    @field_validator("feishu_domain")
    @classmethod
    def _check_feishu_domain(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() in ("feishu", "lark"):
            return value.strip().lower()
        return _optional_url(value)

    @field_validator(
        "telegram_api_base_url",
        "telegram_file_base_url",
        "telegram_webhook_url",
        "wecom_api_base_url",
        "public_base_url",
    )
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _optional_url(value)

    @property
    def score_weights(self) -> dict[str, float]:
        """The five indicator weights, normalised to sum 1 (all zero means equal weights)."""
        raw = {
            "interaction": self.score_weight_interaction,
            "training": self.score_weight_training,
            "feedback": self.score_weight_feedback,
            "completeness": self.score_weight_completeness,
            "external": self.score_weight_external,
        }
        total = sum(raw.values())
        if total <= 0:
            return {name: 1 / len(raw) for name in raw}
        return {name: value / total for name, value in raw.items()}

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)

    def secrets(self) -> list[str]:
        """Every configured secret, token and key (for masking logs), and the database
        password."""
        values = [
            self.telegram_bot_token,
            self.telegram_webhook_secret,
            self.wecom_secret,
            self.wecom_token,
            self.wecom_aes_key,
            self.feishu_app_secret,
            self.feishu_verification_token,
            self.feishu_encrypt_key,
            urlsplit(self.database_url.replace("+asyncpg", "")).password,
        ]
        return [v for v in values if v]

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def wecom_enabled(self) -> bool:
        return bool(self.wecom_corp_id and self.wecom_secret and self.wecom_token)

    @property
    def feishu_enabled(self) -> bool:
        return bool(self.feishu_app_id and self.feishu_app_secret)

    def enabled_platforms(self) -> list[str]:
        """The chat platforms whose credentials are set."""
        flags = {
            "telegram": self.telegram_enabled,
            "wecom": self.wecom_enabled,
            "feishu": self.feishu_enabled,
        }
        return [name for name, on in flags.items() if on]

    def is_admin(self, platform: str, user_id: str) -> bool:
        return f"{platform}:{user_id}" in self.admin_ids


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise :class:`SettingsError` with one readable line on a bad value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"setting {name}: {message}") from None
