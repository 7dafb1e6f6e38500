"""Log lines: masked (people's numbers, secrets), quiet about clients that left, at LOG_LEVEL."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import aiohttp
import pytest

from adapters.telegram import TelegramAdapter
from bot.core.settings import Settings
from bot.core.web import WebServer
from bot.runtime import cli
from bot.runtime.app import App
from bot.runtime.logs import JsonFormatter, MaskingFilter, QuietDisconnects, setup_logging
from tests.adapters.fake_telegram import FakeTelegram
from tests.adapters.test_telegram import fake  # noqa: F401  (fixture)
from tests.bot.core.test_metrics import served  # noqa: F401  (fixture)


def test_log_records_are_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("preboard.test.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("bound %s with id %s", "+8613812341234", "330106199001011234")
        try:
            raise ValueError("bad phone 13912345678")
        except ValueError:
            logger.exception("import failed for 13912345678")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "+86138****1234" in out and "330106********1234" in out
    assert "139****5678" in out
    assert "13812341234" not in out and "13912345678" not in out
    assert "199001011234" not in out


def test_setup_logging_installs_the_masking_filter() -> None:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        setup_logging("json", "INFO")
        assert any(isinstance(f, MaskingFilter) for f in root.handlers[0].filters)
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


def test_configured_secrets_are_masked_in_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter(["corp-secret-123456", "short", None]))
    logger = logging.getLogger("preboard.test.secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("GET /gettoken?corpsecret=%s failed", "corp-secret-123456")
        try:
            raise ConnectionError("https://x/gettoken?corpsecret=corp-secret-123456")
        except ConnectionError:
            logger.exception("token")
        logger.warning("a short word stays")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "corp-secret-123456" not in out and out.count("corpsecret=***") >= 2
    assert "a short word stays" in out


def test_a_client_that_went_away_is_one_info_line() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("preboard.test.disconnect")
    logger.addFilter(QuietDisconnects())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ConnectionResetError("peer gone")
        except ConnectionResetError:
            logger.exception("Error handling request")
        try:
            raise KeyError("a real bug")
        except KeyError:
            logger.exception("Error handling request")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "INFO Error handling request: ConnectionResetError"
    assert lines[1] == "ERROR Error handling request" and "Traceback" in lines[2]


class _Stop(Exception):
    pass


@pytest.mark.parametrize(
    ("argv", "env", "level"),
    [
        (["console"], {}, "WARNING"),  # the conversation stays readable by default
        (["console"], {"LOG_LEVEL": "INFO"}, "INFO"),  # an explicit LOG_LEVEL wins
        (["db", "upgrade"], {"LOG_LEVEL": "DEBUG"}, "DEBUG"),
        (["staff", "list"], {}, "INFO"),
        (["run"], {"LOG_LEVEL": "ERROR"}, "ERROR"),
    ],
)
def test_log_level_applies_to_every_command(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str], level: str
) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    seen: list[str] = []

    def record(fmt: str, chosen: str, secrets: object = (), path: object = None) -> None:
        seen.append(chosen)
        raise _Stop

    monkeypatch.setattr(cli, "setup_logging", record)
    with pytest.raises(_Stop):
        cli.main(lambda settings: None, argv)  # type: ignore[arg-type,return-value]
    assert seen == [level]


def test_a_log_file_takes_records_and_python_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console's log goes to a file, so libraries' warnings never land in the chat."""
    import warnings

    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    path = tmp_path / "logs" / "console.log"
    try:
        setup_logging("text", "WARNING", path=path)
        logging.getLogger("some.library").warning("font cache is being rebuilt")
        # What warnings.warn ends in once captured (pytest records warn() itself).
        warnings.showwarning("this API is deprecated", DeprecationWarning, "lib.py", 1)
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved
        root.setLevel(level)
        logging.captureWarnings(False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    text = path.read_text(encoding="utf-8")
    assert "font cache is being rebuilt" in text and "this API is deprecated" in text


async def test_one_request_id_from_the_webhook_through_processing_to_the_send(
    app: App,
    fake: FakeTelegram,  # noqa: F811
    served: tuple[TelegramAdapter, WebServer],  # noqa: F811
) -> None:
    """LOG_FORMAT=json: the webhook's line, the processing line and the line of the reply's
    send (here a failed one, which the courier logs) carry the request id the caller sent,
    and the answer names it; the next request's lines carry their own."""
    adapter, _ = served
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    fake.fail("sendMessage", 500, "Internal Server Error", chat_id=4200)
    try:
        async with aiohttp.ClientSession() as http:
            for user, request_id in ((4200, "trace-4200"), (4201, None)):
                headers = {"X-Telegram-Bot-Api-Secret-Token": fake.webhook_secret or ""}
                if request_id is not None:
                    headers["X-Request-Id"] = request_id
                async with http.post(
                    adapter.settings.telegram_webhook_url or "",
                    json=fake.message(user, "/help"),
                    headers=headers,
                ) as response:
                    assert response.status == 200
                    answered = response.headers["X-Request-Id"]
                    assert request_id is None or answered == request_id
                await app.dispatcher.drain_background()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    ours = [line for line in lines if line.get("request_id") == "trace-4200"]
    said = [(line["logger"], line["message"]) for line in ours]
    assert any(
        name == "bot.core.web" and message.startswith("POST /telegram/webhook 200")
        for name, message in said
    ), said
    assert any(name == "bot.core.inbox" and "processed" in message for name, message in said)
    assert any(name == "bot.core.courier" and "not delivered" in message for name, message in said)
    other = {line.get("request_id") for line in lines if "/telegram/webhook" in line["message"]}
    assert len(other - {"trace-4200"}) == 1  # the second request: an id of its own
    assert fake.texts(4201)  # the second was answered
