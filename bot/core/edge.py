"""The edge: request bodies checked before anything else reads them.

Webhook handlers parse JSON with :func:`load_json`, which turns every way a body
can be malformed (bad UTF-8, bad JSON, nesting deep enough to exhaust the
parser's recursion) into :class:`BadBody`, for a 400, and cleans the strings
inside (:func:`bot.core.text.clean_value`). :func:`ascii_header` reads a header
that must be ASCII (signatures, timestamps, nonces), or nothing; :func:`storable`
tells whether a message's ids fit the columns that keep them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from bot.core.messages import Incoming
from bot.core.text import clean_value

MAX_DEPTH = 32  # no platform event nests deeper than a dozen levels
MAX_ID = 128  # characters of the inbox's event_id and an identity's user_id and chat_id


class BadBody(ValueError):
    """The body is not JSON this server accepts."""


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def load_json(body: bytes | str) -> Any:
    """The JSON value of ``body`` with its strings cleaned; :class:`BadBody` otherwise."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise BadBody(type(exc).__name__) from None
    if _depth(value) > MAX_DEPTH:
        raise BadBody(f"nested deeper than {MAX_DEPTH}")
    return clean_value(value)


def ascii_header(headers: Mapping[str, str], name: str) -> str:
    """The header's value when it is printable ASCII, else ``""`` (as if missing)."""
    value = headers.get(name, "")
    return value if value.isascii() and value.isprintable() else ""


def fresh(timestamp: str, *, window: float, now: float | None = None) -> bool:
    """Whether a request's Unix ``timestamp`` (seconds) is within ``window`` seconds of now."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    return abs((time.time() if now is None else now) - int(timestamp)) <= window


def storable(message: Incoming) -> bool:
    """Whether the event, user and chat ids of ``message`` are 1 to :data:`MAX_ID`
    characters, as their columns require (PostgreSQL refuses longer ones mid-transaction).

    Platforms' own ids are far shorter; anything else is a forged or broken event.
    """
    ids = (message.event_id, message.sender.user_id, message.sender.chat_id)
    return all(0 < len(value) <= MAX_ID for value in ids)
