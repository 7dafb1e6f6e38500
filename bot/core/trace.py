"""The request id: one per webhook request, carried to the work it causes.

The web server binds one for each request (the caller's ``X-Request-Id`` when it is
short and safe, else a new one); the inbox queues it with the stored delivery, the
worker binds it again while it processes that delivery and sends the direct
replies, and ``LOG_FORMAT=json`` writes it on every line logged meanwhile.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["accept", "bound", "current", "new_id"]

# Letters, digits and ``._:-``, at most 64: safe in a header, a log line and a label.
SAFE = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_id() -> str:
    """A fresh id: 16 hex digits."""
    return secrets.token_hex(8)


def accept(incoming: str | None) -> str:
    """The caller's id when it is short and safe, else a fresh one."""
    if incoming is not None and SAFE.fullmatch(incoming):
        return incoming
    return new_id()


def current() -> str | None:
    """The id bound in this task, if any."""
    return _request_id.get()


@contextlib.contextmanager
def bound(request_id: str | None) -> Iterator[str | None]:
    """Bind ``request_id`` for the code inside (None: none bound)."""
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)
