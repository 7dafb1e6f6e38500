"""Text from the outside made safe once: surrogates, control characters, digits, names.

Platforms deliver whatever JSON allows, including lone surrogates (``"\\ud800"``)
that no database or encoder accepts, control characters, and digits that are not
ASCII (``²``, ``①``, ``３``). :class:`bot.core.messages.Incoming` runs every string
through :func:`clean` when it is built, so nothing after the adapter boundary can
fail on them; :func:`number` is the one way to read a typed number.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

_SURROGATE = re.compile(r"[\ud800-\udfff]")
# C0 and C1 controls except tab and newline, plus DEL; carriage returns become newlines.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_ASCII_DIGITS = re.compile(r"[0-9]+")
MAX_NAME = 60  # characters of a file name's stem kept


def clean(text: str, *, one_line: bool = False) -> str:
    """``text`` with lone surrogates replaced (U+FFFD) and control characters removed.

    Newlines and tabs stay unless ``one_line`` (names, ids); ``\\r\\n`` and ``\\r``
    become ``\\n``.
    """
    text = _SURROGATE.sub("\ufffd", text)
    if one_line:
        return _LINE_CONTROL.sub("", text)
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def clean_value(value: Any, *, depth: int = 0) -> Any:
    """:func:`clean` applied to every string inside JSON-like data (nesting bounded)."""
    if isinstance(value, str):
        return clean(value)
    if depth > 32:
        return None
    if isinstance(value, dict):
        return {clean(str(k)): clean_value(v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v, depth=depth + 1) for v in value]
    return value


MAX_NUMBER = 2**31 - 1  # what an id column holds


def number(text: str | None) -> int | None:
    """A typed whole number: ASCII digits, or full-width ones (``３``), at most
    :data:`MAX_NUMBER`; else None.

    ``"²".isdigit()`` and ``"①".isdigit()`` are true but ``int()`` refuses them;
    they are not numbers here.
    """
    text = (text or "").strip().translate(_FULLWIDTH_DIGITS)
    if not _ASCII_DIGITS.fullmatch(text) or len(text) > 10 or int(text) > MAX_NUMBER:
        return None
    return int(text)


MIN_SECRET = 6  # shorter values would hide ordinary words
HIDDEN = "***"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret of at least :data:`MIN_SECRET` characters hidden
    (longest first, so one secret inside another leaves no part visible)."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time comparison of two secrets, on bytes (safe for any characters)."""
    left = a.encode("utf-8", "surrogatepass") if isinstance(a, str) else a
    right = b.encode("utf-8", "surrogatepass") if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def safe_filename(original: str | None, extension: str, *, fallback: str = "file") -> str:
    """A name to store and show: the original's last path part without its extension,
    stripped of separators, control, format (bidi) and other unsafe characters and
    bounded, plus the extension of the detected type."""
    name = unicodedata.normalize("NFKC", clean(original or "", one_line=True))
    name = re.split(r"[\\/]", name)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    kept = "".join(
        ch
        for ch in stem
        if unicodedata.category(ch)[0] in "LNPZS"
        and unicodedata.category(ch) not in ("Zl", "Zp")
        and ch not in '<>:"|?*'
    )
    kept = re.sub(r"\s+", " ", kept).strip(" .")[:MAX_NAME].strip(" .")
    return f"{kept or fallback}.{extension}"
