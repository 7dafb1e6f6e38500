"""Logging set-up: readable text for people, one JSON object a line for collectors.

Every record passes a :class:`MaskingFilter` on the way out, so phone and ID
numbers, and the configured secrets and tokens, never reach a log file, whatever
a message or traceback contains. aiohttp's lines about clients that went away or
sent malformed HTTP become one INFO line, without a traceback. A JSON line written
while a request id is bound (:mod:`bot.core.trace`: a webhook request, the processing
of what it stored, the replies sent meanwhile) carries it as ``"request_id"``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from bot.core import trace
from bot.core.privacy import mask_text
from bot.core.text import redact


class MaskingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) with phone and ID numbers and the
    given secrets masked."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _mask(self, text: str) -> str:
        return mask_text(redact(text, self.secrets))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        return True


class QuietDisconnects(logging.Filter):
    """aiohttp's "Error handling request" for a client that left or sent broken HTTP:
    one INFO line naming the error, not an ERROR with a traceback."""

    QUIET = (
        "ClientConnectionResetError",
        "ConnectionResetError",
        "BadHttpMessage",
        "BadStatusLine",
        "LineTooLong",
        "InvalidHeader",
        "CancelledError",
        "TransferEncodingError",
        "ContentLengthError",
        "BadHttpMethod",
        "InvalidURLError",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__name__ in self.QUIET:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = f"{record.getMessage()}: {type(exc).__name__}", None
            record.exc_info, record.exc_text = None, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request id when one is
    bound, the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Formatting runs in the logging call's task (no queue handler), so the id bound
        # there is the record's; ``extra={"request_id": ...}`` overrides it.
        request_id = getattr(record, "request_id", None) or trace.current()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    fmt: str = "text",
    level: str = "INFO",
    secrets: Iterable[str | None] = (),
    path: Path | None = None,
) -> None:
    """One handler for the root logger: standard error, or the file ``path`` (the console,
    whose terminal is the chat); Python warnings are logged too."""
    handler: logging.Handler
    if path is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    logging.captureWarnings(False)  # re-install even if something restored showwarning
    logging.captureWarnings(True)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter(secrets))
    for name in ("aiohttp.server", "aiohttp.web_protocol"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietDisconnects) for f in logger.filters):
            logger.addFilter(QuietDisconnects())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "aiosqlite", "asyncio", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
