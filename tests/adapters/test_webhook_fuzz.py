"""Hypothesis fuzz over every webhook endpoint: Telegram, WeCom (GET and POST), Feishu.

Each test builds the bot's web server once, with the harness of the adapter's own
tests (``webhook``, ``wecom``, ``feishu`` and their fake platforms), and then lets
Hypothesis drive requests at it from a worker thread while the server keeps serving
on the test's event loop; each example is one raw HTTP/1.1 request (any bytes in
headers and query strings). The requests: arbitrary bodies (bytes, JSON nested far
deeper than the limit, huge numbers, escaped lone surrogates, other encodings),
arbitrary signature, timestamp and nonce headers and query parameters, and
correctly signed (or sealed) payloads whose structure or field types are wrong.

For every request: a status below 500, nothing logged at ERROR or above (the fake
platforms' own failures aside), and no inbox row for a forged one (nor a 200).
Afterwards the server still handles a genuine message. The examples are derandomized
(and no example database is kept), so a CI failure reproduces locally. Next to each
fuzz test, a focused test pins the defects it turned up. Both run on SQLite and on
PostgreSQL, which alone refuses ids longer than their columns.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import gzip
import hashlib
import itertools
import json
import logging
import time
import traceback
import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, quote_from_bytes, urlsplit
from xml.sax.saxutils import escape

import hypothesis
import pytest
from aiohttp import web
from hypothesis import strategies as st
from wechatpy.utils import WeChatSigner

from adapters.base import Route
from adapters.ratelimit import RateLimiter
from adapters.telegram import SECRET_HEADER, TelegramAdapter
from bot.core.web import WebServer
from bot.runtime.app import App
from storage.db import Database
from tests.adapters import fake_feishu, fake_telegram, fake_wecom
from tests.adapters import test_feishu as feishu_tests
from tests.adapters import test_telegram as telegram_tests
from tests.adapters import test_wecom as wecom_tests
from tests.adapters.test_feishu import ENCRYPT_KEY, Feishu, feishu, inbound_count
from tests.adapters.test_telegram import CANDIDATE, webhook
from tests.adapters.test_wecom import TOKEN as WECOM_TOKEN
from tests.adapters.test_wecom import Harness, wecom, wecom_settings

__all__ = ["feishu", "webhook", "wecom", "wecom_settings"]  # fixtures, re-exported

pytestmark = pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning",
    "ignore::telegram.warnings.PTBUserWarning",
)

T = TypeVar("T")
EXAMPLES = 200  # per endpoint (WeCom: per method)
FAKES = {
    Path(module.__file__ or "").resolve() for module in (fake_feishu, fake_telegram, fake_wecom)
}


def platform_fake(fixture: Any) -> Any:
    """A test module's ``fake`` fixture, re-declared on a class: three platforms each call
    their fake platform ``fake``, so each class below gets its own."""
    return pytest.fixture(staticmethod(fixture.__wrapped__))


# ---- driving Hypothesis from a worker thread -------------------------------------------


async def fuzz(
    strategy: st.SearchStrategy[T],
    check: Callable[[T], Coroutine[Any, Any, object]],
    *,
    examples: int = EXAMPLES,
) -> None:
    """Run ``check`` on the test's loop for every example Hypothesis draws (and shrinks).

    Hypothesis runs in a worker thread, so the server the fixtures started keeps
    serving on this loop between and during examples.
    """
    loop = asyncio.get_running_loop()

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
    )
    @hypothesis.given(strategy)
    def run(example: T) -> None:
        asyncio.run_coroutine_threadsafe(check(example), loop).result(timeout=60)

    await asyncio.to_thread(run)


@dataclass(frozen=True)
class Request:
    """One raw HTTP/1.1 request. ``forged``: it must leave nothing in the inbox;
    ``refused``: nor be answered 200 (Feishu's unsigned URL check is the exception)."""

    method: str
    target: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    forged: bool
    refused: bool | None = None
    framing: str = "plain"  # how the body goes on the wire: see ``framed``

    @property
    def must_refuse(self) -> bool:
        return self.forged if self.refused is None else self.refused

    def __repr__(self) -> str:
        def cut(data: bytes) -> str:
            return repr(data) if len(data) <= 300 else f"{data[:300]!r}... ({len(data)} bytes)"

        headers = ", ".join(f"{cut(k)}: {cut(v)}" for k, v in self.headers)
        return (
            f"Request({self.method} {cut(self.target)} [{headers}] body={cut(self.body)}"
            f" forged={self.forged} framing={self.framing})"
        )


# Content-Encoding that aiohttp decodes (gzip, deflate) or refuses (br, zstd, unknown), on
# bodies that are compressed or not (corrupt); chunked transfer, well-formed or not.
FRAMINGS = st.sampled_from(
    ("plain",) * 30
    + ("gzip", "deflate", "gzip!", "deflate!", "br!", "zstd!", "x-bogus!")
    + ("chunked", "chunked!")
)


def framed(request: Request) -> tuple[list[bytes], bytes]:
    """The framing headers and the bytes on the wire for ``request.body``."""
    body, framing = request.body, request.framing
    if framing == "chunked":
        half = len(body) // 2
        chunks = [c for c in (body[:half], body[half:]) if c]
        data = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
        return [b"Transfer-Encoding: chunked"], data
    if framing == "chunked!":  # a chunk size that is not hexadecimal
        return [b"Transfer-Encoding: chunked"], b"zz\r\n" + body[:16] + b"\r\n0\r\n\r\n"
    if framing == "gzip":
        body = gzip.compress(body)
    elif framing == "deflate":
        body = zlib.compress(body)
    headers = [b"Content-Length: %d" % len(body)]
    if framing != "plain":
        headers.append(b"Content-Encoding: " + framing.rstrip("!").encode())
    return headers, body


async def send(port: int, request: Request) -> int:
    """The status the server answers ``request`` with (bytes sent as they are)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        framing, body = framed(request)
        lines = [
            request.method.encode() + b" " + request.target + b" HTTP/1.1",
            b"Host: 127.0.0.1",
            b"Connection: close",
            *framing,
            *(name + b": " + value for name, value in request.headers),
        ]
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return int(status_line.split()[1])


SDK_LOGGERS = ("telegram.", "wechatpy", "Lark")


def _from_fake(record: logging.LogRecord) -> bool:
    """Whether a record is a fake platform's own failure (e.g. a reply to a chat id that
    is not a number), not the bot's."""
    tb = record.exc_info[2] if record.exc_info else None
    return any(
        Path(frame.f_code.co_filename).resolve() in FAKES for frame, _ in traceback.walk_tb(tb)
    )


def bot_errors(records: Sequence[logging.LogRecord]) -> list[str]:
    """The records at ERROR or above among those of one request, as text (with any
    traceback), except a fake platform's own failures.

    A fake fails on what the real platform refuses with a 400 (a reply to a chat id
    that is not a number): its traceback, and the SDK's complaint about its 500 page,
    are not the bot's.
    """
    fake_failed = any(_from_fake(record) for record in records)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [
        formatter.format(record)
        for record in records
        if record.levelno >= logging.ERROR
        and not _from_fake(record)
        and not (fake_failed and record.name.startswith(SDK_LOGGERS))
    ]


@dataclass
class Probe:
    """The per-request property, on one server."""

    app: App
    port: int
    caplog: pytest.LogCaptureFixture
    settle: Callable[[], Awaitable[None]]

    async def check(self, request: Request) -> int:
        seen = len(self.caplog.records)
        before = await inbound_count(self.app) if request.forged else 0
        status = await send(self.port, request)
        await self.settle()  # background processing of anything stored
        assert status < 500, f"{status} for {request!r}"
        errors = bot_errors(self.caplog.records[seen:])
        assert not errors, errors
        if request.must_refuse:
            assert status != 200, f"forged request accepted: {request!r}"
        if request.forged:
            assert await inbound_count(self.app) == before, f"forged request stored: {request!r}"
        return status


# ---- strategies shared by the platforms ------------------------------------------------

# Any character, lone surrogates included (json.dumps writes them as "\ud800" escapes).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
# What XML and a UTF-8 encoder can carry.
XML_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
HUGE_INTS = st.sampled_from(
    [-1, 0, 2**31, 2**53 + 1, 2**63, 2**64, -(2**63) - 1, 10**100, 10**200, 10**1000]
)
# fmt: off
FIELD_NAMES = st.sampled_from([
    # Telegram
    "update_id", "message", "callback_query", "from", "chat", "id", "type", "text", "data",
    "photo", "document", "file_id", "reply_markup", "inline_keyboard", "callback_data",
    # Feishu
    "schema", "header", "event", "event_type", "event_id", "token", "encrypt", "challenge",
    "sender", "sender_id", "open_id", "content", "message_type", "operator", "action", "value",
    "p", "context", "uuid", "chat_type", "message_id", "sender_type", "tag",
])
# fmt: on
KEYS = FIELD_NAMES | ANY_TEXT


def nest(depth: int) -> Any:
    value: Any = "deep"
    for index in range(depth):
        value = [value] if index % 2 else {"k": value}
    return value


SCALARS = st.none() | st.booleans() | st.integers() | HUGE_INTS | st.floats() | ANY_TEXT
# Now and then a value nested 30 to 300 deep (the limit is 32).
LEAVES = st.integers(0, 19).flatmap(lambda i: st.integers(30, 300).map(nest) if i == 0 else SCALARS)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


GARBAGE_JSON = st.one_of(
    st.integers(1, 60_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 60_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(1, 60_000).map(lambda n: b"[" * n),
    st.integers(4_000, 200_000).map(lambda n: b"1" * n),
    st.integers(4_000, 20_000).map(lambda n: b'{"update_id": 1' + b"0" * n + b"}"),
    st.sampled_from(
        [
            b"",
            b"\x00",
            b"null",
            b"true",
            b"[]",
            b"{}",
            b"1e999999",
            b"-1e999999",
            b"NaN",
            b'{"update_id": Infinity}',
            b'{"update_id": 1e400}',
            b'"\\ud800"',
            b'{"a": "\\udc00\\ud800"}',
            b'{"update_id": 1, "message": {"text": "\\ud83d"}}',
            b'{"\\ud800": 1}',
            b'{"a": "\xff\xfe"}',
            b"\xef\xbb\xbf{}",
            "{}".encode("utf-16"),
            '{"a": "é"}'.encode("latin-1"),
            '{"a": "中"}'.encode("gbk"),
            b'{"a": 1, "a": 2}',
            b'{"encrypt": 1}',
            b'{"encrypt": ""}',
            b'{"encrypt": "\\ud800"}',
            b'{"encrypt": null}',
        ]
    ),
)


def slots(value: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key) inside nested dicts and lists."""
    items: Any = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in list(items):
        yield value, key
        if isinstance(child, dict | list):
            yield from slots(child)


# A value of another type or size than the one it replaces: what breaks parsers and columns.
ODD_VALUES = st.sampled_from(
    # too long for a column, unhashable where an id or a key belongs, and other types
    [10**200, "x" * 300, [], {}, [1], {"a": 1}, "", "\ud800", None, True, 1.5, -1, 2**63]
)


def leaves(value: Any) -> list[tuple[Any, Any]]:
    return [(c, k) for c, k in slots(value) if not isinstance(c[k], dict | list)]


@st.composite
def mutated(
    draw: st.DrawFn,
    templates: Sequence[dict[str, Any]],
    fresh: Callable[[dict[str, Any]], None] = lambda value: None,
) -> dict[str, Any]:
    """A template with one value (or a few) of another type or size, any JSON, missing,
    or added: most of its shape survives, so the change reaches far into the handler.

    ``fresh`` gives the copy a new event id first, so that replaying an example (as
    Hypothesis does when it shrinks one) is not a redelivery that is skipped.
    """
    value = copy.deepcopy(draw(st.sampled_from(templates)))
    fresh(value)
    for _ in range(draw(st.sampled_from((1, 1, 1, 2, 2, 3)))):
        action = draw(st.sampled_from(("retype",) * 4 + ("replace", "delete", "add")))
        spots = leaves(value) if action == "retype" else list(slots(value))
        if not spots:
            break
        container, key = draw(st.sampled_from(spots))
        # copies: sampled_from hands out the same list or dict every time
        if action == "retype":
            odd = ODD_VALUES if draw(st.integers(0, 3)) else JSON_VALUES
            container[key] = copy.deepcopy(draw(odd))
        elif action == "replace":
            container[key] = copy.deepcopy(draw(JSON_VALUES))
        elif action == "delete" and isinstance(container, dict):
            del container[key]
        elif isinstance(container[key], dict):
            container[key][draw(KEYS)] = copy.deepcopy(draw(JSON_VALUES))
    return value


def _printable(data: bytes) -> bytes:
    return data.replace(b"\r", b"").replace(b"\n", b"")


HEADER_VALUES = st.one_of(
    st.binary(max_size=80).map(_printable),
    ANY_TEXT.map(lambda text: _printable(text.encode("utf-8", "surrogatepass"))),
    st.text(st.characters(max_codepoint=255), max_size=40).map(
        lambda text: _printable(text.encode("latin-1"))
    ),
    st.integers(0, 20_000).map(lambda n: b"a" * n),
    st.sampled_from([b"", b" ", b"\x00", b"\x7f", b"\xff", "１７００".encode(), b"-1", b"abc"]),
)
CONTENT_TYPES = (
    st.none()
    | HEADER_VALUES
    | st.sampled_from(
        [
            b"application/json",
            b"application/json; charset=utf-8",
            b"application/json; charset=latin-1",
            b"text/plain",
            b"text/xml; charset=gbk",
            b"application/x-www-form-urlencoded",
            b"multipart/form-data; boundary=x",
        ]
    )
)
BODIES = st.one_of(
    st.binary(max_size=512),
    GARBAGE_JSON,
    JSON_VALUES.map(dumps),
)


def with_content_type(
    headers: tuple[tuple[bytes, bytes], ...], content_type: bytes | None
) -> tuple[tuple[bytes, bytes], ...]:
    return headers if content_type is None else ((b"Content-Type", content_type), *headers)


# ---- Telegram ------------------------------------------------------------------------------


def telegram_templates(fake: fake_telegram.FakeTelegram) -> list[dict[str, Any]]:
    """Updates as Telegram sends them: text, a photo, a document, a button tap, an edit."""
    text = fake.message(CANDIDATE, "/help")
    photo = fake.photo(CANDIDATE, b"\xff\xd8\xff" + b"0" * 32, caption="id")
    document = fake.message(
        CANDIDATE,
        document={"file_id": "d1", "file_unique_id": "d1", "file_name": "cv.pdf", "file_size": 9},
    )
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "offer:accept"}]]}
    bot_message = {
        "message_id": 7,
        "date": int(time.time()),
        "chat": {"id": CANDIDATE, "type": "private"},
        "from": fake_telegram.BOT_USER,
        "text": "Accept?",
        "reply_markup": markup,
    }
    tap = {
        "update_id": fake.next_update_id(),
        "callback_query": {
            "id": "cq-1",
            "from": fake.user(CANDIDATE),
            "chat_instance": "ci-1",
            "message": bot_message,
            "data": "offer:accept",
        },
    }
    game = {  # a game button: no data, answered all the same
        "update_id": fake.next_update_id(),
        "callback_query": {
            "id": "cq-2",
            "from": fake.user(CANDIDATE),
            "chat_instance": "ci-1",
            "game_short_name": "g",
        },
    }
    edited = {"update_id": fake.next_update_id(), "edited_message": text["message"]}
    return [text, photo, document, tap, game, edited]


UPDATE_IDS = itertools.count(1_000_000)


def fresh_update(update: dict[str, Any]) -> None:
    update["update_id"] = next(UPDATE_IDS)


def telegram_updates(templates: Sequence[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    """A well-formed update with a field or a few of the wrong type, missing or extra."""
    return mutated(templates, fresh_update).map(dumps)


def telegram_requests(secret: bytes, templates: Sequence[dict[str, Any]]) -> st.SearchStrategy:
    near_misses = st.sampled_from(
        [
            secret + b"x",
            secret[:-1],
            secret.upper(),
            secret + "é".encode(),
            secret.decode().encode("utf-16-le"),
            b"\xff" + secret,
            secret * 300,
        ]
    )

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        if draw(st.integers(0, 3)):  # three in four signed
            header: bytes | None = secret
        else:
            header = draw(st.none() | HEADER_VALUES | near_misses)
        kind = draw(st.sampled_from(("any", "update", "update", "update", "update", "genuine")))
        if kind == "any":
            body = draw(BODIES)
        elif kind == "update":
            body = draw(telegram_updates(templates))
        else:
            update = copy.deepcopy(draw(st.sampled_from(templates)))
            fresh_update(update)
            body = dumps(update)
        secret_header = () if header is None else ((SECRET_HEADER.encode(), header),)
        forged = header is None or header.strip(b" \t") != secret
        headers = with_content_type(secret_header, draw(CONTENT_TYPES))
        path = b"/telegram/webhook"
        return Request("POST", path, headers, body, forged, framing=draw(FRAMINGS))

    return build()


class TestTelegram:
    fake = platform_fake(telegram_tests.fake)

    async def test_webhook_fuzz(
        self,
        app: App,
        fake: fake_telegram.FakeTelegram,
        webhook: tuple[TelegramAdapter, WebServer],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        adapter, web = webhook
        probe = Probe(app, web.bound_port, caplog, app.dispatcher.drain_background)
        await fuzz(
            telegram_requests(adapter.secret.encode(), telegram_templates(fake)), probe.check
        )

        # Still serving: a genuine update is stored once and answered.
        stored, sent = await inbound_count(app), len(fake.texts(CANDIDATE))
        assert await fake.post_webhook(fake.message(CANDIDATE, "/help")) == 200
        await app.dispatcher.drain_background()
        assert await inbound_count(app) == stored + 1
        assert len(fake.texts(CANDIDATE)) > sent

    async def test_odd_callback_ids_and_long_ids(
        self,
        app: App,
        fake: fake_telegram.FakeTelegram,
        webhook: tuple[TelegramAdapter, WebServer],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Regressions. A button tap whose id is a list or an object was a 500: the adapter
        keeps the ids it answered as keys (TelegramAdapter._answer_later). An update, user
        or chat id longer than its column was a 500 on PostgreSQL, or a failure in the
        background (TelegramAdapter.webhook now refuses it: bot.core.edge.storable)."""
        user = fake.user(CANDIDATE)
        game = {"update_id": 1, "callback_query": {"id": {}, "from": user, "chat_instance": "c"}}
        assert await fake.post_webhook(game) == 200  # nothing to handle, nothing to answer
        tap = {
            "update_id": 2,
            "callback_query": {"id": [1], "from": user, "chat_instance": "c", "data": "x"},
        }
        assert await fake.post_webhook(tap) == 200  # handled, just not answered
        await app.dispatcher.drain_background()
        assert await inbound_count(app) == 1
        assert fake.calls_to("answerCallbackQuery") == []

        for path in (("update_id",), ("message", "from", "id"), ("message", "chat", "id")):
            update = fake.message(CANDIDATE, "/help")
            inner = update
            for key in path[:-1]:
                inner = inner[key]
            inner[path[-1]] = 10**200
            assert await fake.post_webhook(update) == 400, path
        longest = fake.message(CANDIDATE, "/help")
        longest["update_id"] = 10**127  # 128 digits: still fits
        assert await fake.post_webhook(longest) == 200
        await app.dispatcher.drain_background()
        assert await inbound_count(app) == 2
        assert bot_errors(caplog.records) == []


# ---- WeCom ---------------------------------------------------------------------------------

CALLBACK = b"/wecom/callback"
# fmt: off
WECOM_TAGS = st.sampled_from([
    "ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "AgentID",
    "MediaId", "PicUrl", "Format", "Recognition", "FileName", "Title", "ThumbMediaId",
    "Event", "EventKey", "TaskId", "CardType", "ResponseCode", "Encrypt",
])
WECOM_MSG_WORDS = [
    "text", "image", "voice", "video", "file", "event", "location", "TEXT", "",
    "template_card_event", "enter_agent", "subscribe", "click", "/help",
]
# fmt: on
WECOM_VALUES = st.one_of(
    XML_TEXT,
    st.text(st.characters(codec="utf-8", min_codepoint=0x20), max_size=40),  # XML holds it
    st.sampled_from(WECOM_MSG_WORDS),
    st.integers(1, 300).map(lambda n: "u" * n),
    HUGE_INTS.map(str),
)
# fmt: off
QUERY_GARBAGE = [
    b"", b"abc", b"-1", b"0", b"99999999999999999999", b"1e10", b"%", b"%zz", b"%ff%fe",
    b"%00", b"%e4%b8", b"\xff", "１７００".encode(), b"+", b"%2B", b"a" * 5000,
]
# fmt: on
QUERY_VALUES = st.one_of(
    st.binary(max_size=30).map(lambda b: quote_from_bytes(b).encode()),
    ANY_TEXT.map(lambda t: quote(t.encode("utf-8", "surrogatepass")).encode()),
    st.sampled_from(QUERY_GARBAGE),
)
QUERY_KEYS = st.sampled_from([b"msg_signature", b"timestamp", b"nonce", b"echostr", b"x", b""])


def query(params: dict[str, str]) -> bytes:
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items()).encode()


@st.composite
def garbage_query(draw: st.DrawFn) -> bytes:
    """A query string of the four parameters (or others), any of them garbage or doubled."""
    parts = draw(st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=6))
    if draw(st.booleans()):
        parts.append((b"timestamp", str(int(time.time())).encode()))
    separator = draw(st.sampled_from([b"&", b"&&", b";"]))
    return separator.join(key + b"=" + value for key, value in parts)


def xml_of(fields: dict[str, Any], root: str = "xml", style: str = "cdata") -> str:
    """Flat XML of ``fields``; a list value is the element repeated, a ``Nested`` value
    has child elements where text belongs."""

    def wrap(value: str) -> str:
        if isinstance(value, Nested):
            return f"<a>{escape(value)}</a><b/>"
        if style == "cdata" and "]]>" not in value:
            return f"<![CDATA[{value}]]>"
        return escape(value) if style != "raw" else value

    def elements(tag: str, value: Any) -> str:
        values = value if isinstance(value, list) else [value]
        return "".join(f"<{tag}>{wrap(v)}</{tag}>" for v in values)

    return f"<{root}>" + "".join(elements(k, v) for k, v in fields.items()) + f"</{root}>"


class Nested(str):
    """A field value written as child elements."""


def wecom_templates(callbacks: fake_wecom.WeComCallbacks) -> list[dict[str, str]]:
    """Plaintext callbacks as flat fields: text, image, file, voice, card tap, event."""
    samples = [
        callbacks.text("fz-user", "/help"),
        callbacks.image("fz-user", "MEDIA-1"),
        callbacks.file("fz-user", "MEDIA-2", "cv.pdf"),
        callbacks.voice("fz-user", "MEDIA-3"),
        callbacks.card_tap("fz-user", "offer:accept", "pb-task"),
        callbacks.event("fz-user", "enter_agent"),
    ]
    return [{child.tag: child.text or "" for child in ET.fromstring(xml)} for xml in samples]


@st.composite
def wecom_plaintexts(draw: st.DrawFn, templates: Sequence[dict[str, str]]) -> str:
    """What a sealed callback decrypts to: mostly XML of the right shape, somewhat wrong
    (a field changed, missing, added, repeated, or with elements inside)."""
    kind = draw(st.sampled_from(("template", "template", "template", "fields", "text")))
    if kind == "text":
        return draw(XML_TEXT | st.sampled_from(["<xml>", "<!DOCTYPE x><xml/>", "<xml/>"]))
    fields: dict[str, Any]
    if kind == "fields":
        fields = draw(st.dictionaries(WECOM_TAGS, WECOM_VALUES, max_size=8))
    else:
        fields = dict(draw(st.sampled_from(templates)))
        if "MsgId" in fields:
            fields["MsgId"] = uuid.uuid4().hex  # a fresh event, not a redelivery
        for _ in range(draw(st.sampled_from((1, 1, 2, 3)))):
            action = draw(st.sampled_from(("replace", "delete", "add", "repeat", "nest")))
            # Mostly leave who sent it and what it is, so the change reaches further.
            keep = () if draw(st.integers(0, 3)) == 0 else ("FromUserName", "MsgType")
            names = sorted(set(fields) - set(keep))
            name = draw(st.sampled_from(names)) if names else draw(WECOM_TAGS)
            if action == "delete":
                fields.pop(name, None)
            elif action == "replace":
                fields[name] = draw(WECOM_VALUES)
            elif action == "repeat":
                old = fields.get(name, "")
                fields[name] = [*(old if isinstance(old, list) else [old]), draw(WECOM_VALUES)]
            elif action == "nest":
                fields[name] = Nested(draw(WECOM_VALUES))
            else:
                fields[draw(WECOM_TAGS)] = draw(WECOM_VALUES)
    root = draw(st.sampled_from(["xml", "xml", "xml", "xml", "root"]))
    return xml_of(fields, root, draw(st.sampled_from(["cdata", "cdata", "escaped", "raw"])))


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def wecom_requests(templates: Sequence[dict[str, str]], method: str) -> st.SearchStrategy:
    bodies = st.one_of(
        st.binary(max_size=512),
        XML_TEXT.map(str.encode),
        st.dictionaries(WECOM_TAGS, WECOM_VALUES, max_size=5).map(lambda f: xml_of(f).encode()),
        st.sampled_from(
            [
                b"<xml><Encrypt>oops",
                b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>',
                b'<!doctype x SYSTEM "file:///etc/passwd"><xml/>',
                b'<?xml version="1.0" encoding="utf-16"?><xml><Encrypt>x</Encrypt></xml>',
                b'<?xml version="1.0" encoding="bogus"?><xml><Encrypt>x</Encrypt></xml>',
                b"<xml><Encrypt><a>1</a></Encrypt></xml>",
                b"<xml><Encrypt>1</Encrypt><Encrypt>2</Encrypt></xml>",
                "<xml><Encrypt>中</Encrypt></xml>".encode("gbk"),
            ]
        ),
    )

    @st.composite
    def build(draw: st.DrawFn) -> Request | Sealed:
        kind = draw(st.sampled_from(("garbage", "forged", "signed", "sealed", "sealed")))
        body = b""
        if kind == "garbage":  # anything at all
            target = CALLBACK + b"?" + draw(garbage_query())
            if method == "POST":
                body = draw(bodies)
            forged = True
        elif kind == "forged":  # a genuine request with one query parameter wrong
            names = ["msg_signature", "timestamp", "nonce"] + (
                ["echostr"] if method == "GET" else []
            )
            tamper = (draw(st.sampled_from(names)), draw(QUERY_VALUES))
            plain = draw(XML_TEXT.filter(bool))
            return Sealed(method, plain, tamper, draw(CONTENT_TYPES), draw(FRAMINGS))
        elif kind == "signed":  # signed correctly, but the ciphertext is not one
            timestamp, nonce = str(int(time.time())), draw(XML_TEXT.filter(bool))
            encrypted = draw(
                XML_TEXT.filter(bool)
                | st.binary(min_size=1, max_size=96).map(lambda b: base64.b64encode(b).decode())
            )
            params = {
                "msg_signature": sign(WECOM_TOKEN, timestamp, nonce, encrypted),
                "timestamp": timestamp,
                "nonce": nonce,
            }
            if method == "GET":
                params["echostr"] = encrypted
            else:
                body = xml_of({"Encrypt": encrypted}).encode()
            target = CALLBACK + b"?" + query(params)
            forged = True  # cannot decrypt: must be refused
        else:  # sealed with the app's key: any plaintext
            plain = draw(wecom_plaintexts(templates))
            return Sealed(method, plain, None, draw(CONTENT_TYPES), draw(FRAMINGS))
        headers = with_content_type((), draw(CONTENT_TYPES))
        return Request(method, target, headers, body, forged, framing=draw(FRAMINGS))

    return build()


@dataclass(frozen=True)
class Sealed:
    """A callback to seal with the app's key when it is sent (wechatpy's encryption draws
    from ``random``, which a strategy must leave alone): its plaintext (for GET, the
    echostr's), and a query parameter to replace, if any."""

    method: str
    plain: str
    tamper: tuple[str, bytes] | None
    content_type: bytes | None
    framing: str

    def request(self, callbacks: fake_wecom.WeComCallbacks) -> Request:
        if self.method == "GET":
            params, body = callbacks.verification(self.plain), b""
        else:
            plain = self.plain if self.tamper is None else callbacks.text("fz-user", self.plain)
            params, text = callbacks.seal(plain)
            body = text.encode()
        target, forged = CALLBACK + b"?" + query(params), False
        if self.tamper is not None:
            name, wrong = self.tamper
            target = CALLBACK + b"?" + query({k: v for k, v in params.items() if k != name})
            target += b"&" + name.encode() + b"=" + wrong
            forged = wrong != quote(params[name], safe="").encode()
        headers = with_content_type((), self.content_type)
        return Request(self.method, target, headers, body, forged, framing=self.framing)


class TestWeCom:
    fake = platform_fake(wecom_tests.fake)

    @pytest.mark.parametrize("method", ["GET", "POST"])
    async def test_callback_fuzz(
        self, wecom: Harness, caplog: pytest.LogCaptureFixture, method: str
    ) -> None:
        wecom.adapter.limiter = RateLimiter()  # WeCom's 30 a minute would stall the replies
        port = urlsplit(wecom.callbacks.url).port
        assert port is not None
        probe = Probe(wecom.app, port, caplog, wecom.settle)
        templates = wecom_templates(wecom.callbacks)

        async def check(case: Request | Sealed) -> None:
            request = case.request(wecom.callbacks) if isinstance(case, Sealed) else case
            await probe.check(request)

        await fuzz(wecom_requests(templates, method), check)

        # Still serving: the URL check answers, and a genuine message is answered.
        params = wecom.callbacks.verification("1234567890")
        async with wecom.http.get(wecom.callbacks.url, params=params) as resp:
            assert (resp.status, await resp.text()) == (200, "1234567890")
        assert "/bind" in "".join(await wecom.say("fz-after", "/help"))

    async def test_content_with_elements_and_long_user_ids(
        self, wecom: Harness, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Regressions. A text message whose Content holds elements, or comes twice, was a
        500 (wechatpy reads it as a dict or a list: wecom_payloads.to_incoming now refuses
        it); a FromUserName longer than the identity column a failure in the background
        on PostgreSQL (to_incoming refuses it: bot.core.edge.storable)."""
        head = "<xml><FromUserName>{user}</FromUserName><MsgType>text</MsgType>"
        tail = "<MsgId>{msg_id}</MsgId><CreateTime>1</CreateTime></xml>"
        refused = [
            head + "<Content><a>1</a></Content>" + tail,
            head + "<Content>a</Content><Content>b</Content>" + tail,
            head + "<Content>hi</Content>" + tail,  # with a user id of 129 characters
        ]
        users = ["u1", "u1", "u" * 129]
        for number, (plain, user) in enumerate(zip(refused, users, strict=True)):
            text = plain.format(user=user, msg_id=f"9{number}")
            assert await wecom.deliver(text) == [400], text
        fits = (head + "<Content>/help</Content>" + tail).format(user="u" * 128, msg_id="99")
        assert await wecom.deliver(fits) == [200]
        assert await wecom_tests.inbound_count(wecom.app) == 1
        assert bot_errors(caplog.records) == []


# ---- Feishu --------------------------------------------------------------------------------

FEISHU_PATH = b"/feishu/events"
LARK_HEADERS = (
    fake_feishu.LARK_REQUEST_TIMESTAMP,
    fake_feishu.LARK_REQUEST_NONCE,
    fake_feishu.LARK_REQUEST_SIGNATURE,
)
MESSAGE_TYPES = st.sampled_from(
    ["text", "post", "image", "file", "audio", "media", "sticker", "interactive", ""]
)
CONTENTS = st.one_of(
    JSON_VALUES.map(json.dumps),
    ANY_TEXT,
    st.builds(
        lambda rows, title: json.dumps({"title": title, "content": rows}),
        JSON_VALUES,
        JSON_VALUES,
    ),
    st.builds(
        lambda rows: json.dumps({"title": "t", "content": rows}),
        st.lists(st.lists(st.dictionaries(KEYS, JSON_VALUES, max_size=3), max_size=3), max_size=3),
    ),
    st.builds(lambda key: json.dumps({"image_key": key, "file_key": key}), JSON_VALUES),
)


def feishu_templates(events: fake_feishu.FeishuEvents) -> list[dict[str, Any]]:
    """Events as Feishu sends them: each message type, a card tap, the URL check, another."""
    image = events.message("ou_fz", "image", {"image_key": "img_1"})
    post_rows = [[{"tag": "text", "text": "hi"}, {"tag": "img", "image_key": "ik"}]]
    return [
        events.text("ou_fz", "/help"),
        events.text("ou_fz", "/progress"),
        events.text("ou_fz", "@_user_1 /progress", chat_type="group", chat_id="oc_g"),
        image,
        events.message("ou_fz", "file", {"file_key": "fk", "file_name": "cv.pdf"}),
        events.message("ou_fz", "post", {"title": "T", "content": post_rows}),
        events.card_action("ou_fz", "offer:accept"),
        events.card_action("ou_fz", "st:1"),
        events.challenge("ch-1"),
        events.envelope("im.message.message_read_v1", {"reader": {}}),
        {
            "uuid": "u1",
            "token": events.verification_token,
            "type": "event_callback",
            "event": {"type": "message"},
        },
    ]


def fresh_event(event: dict[str, Any]) -> None:
    if isinstance(event.get("header"), dict):
        event["header"]["event_id"] = uuid.uuid4().hex


@st.composite
def feishu_events(draw: st.DrawFn, templates: Sequence[dict[str, Any]]) -> Any:
    """An event of the right shape with some fields wrong (and a fresh event_id)."""
    kind = draw(st.sampled_from(("mutated",) * 3 + ("content",) * 2 + ("any",)))
    if kind == "any":
        return draw(JSON_VALUES)
    if kind == "mutated":
        return draw(mutated(templates, fresh_event))
    event = copy.deepcopy(templates[0])
    fresh_event(event)
    event["event"]["message"]["message_type"] = draw(MESSAGE_TYPES)
    event["event"]["message"]["content"] = draw(CONTENTS)
    return event


def lark_sign(timestamp: str, nonce: str, body: bytes, key: str = ENCRYPT_KEY) -> str:
    return hashlib.sha256(
        (timestamp + nonce + key).encode("utf-8", "surrogatepass") + body
    ).hexdigest()


def feishu_requests(
    events: fake_feishu.FeishuEvents, templates: Sequence[dict[str, Any]]
) -> st.SearchStrategy:
    @st.composite
    def build(draw: st.DrawFn) -> Request:
        kind = draw(st.sampled_from(("forged",) * 2 + ("plain",) * 2 + ("sealed",) * 3 + ("odd",)))
        event = draw(feishu_events(templates))
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
        if kind == "sealed":  # encrypted with the key: any plaintext, JSON mostly
            plaintext = json.dumps(event) if draw(st.integers(0, 4)) else draw(ANY_TEXT)
            body = dumps({"encrypt": events.encrypt(plaintext.encode("utf-8", "replace").decode())})
        else:  # plain JSON (or not): signed, or forged below
            body = dumps(event) if draw(st.integers(0, 3)) else draw(BODIES)
        values: dict[str, bytes | None] = {
            fake_feishu.LARK_REQUEST_TIMESTAMP: timestamp.encode(),
            fake_feishu.LARK_REQUEST_NONCE: nonce.encode(),
            fake_feishu.LARK_REQUEST_SIGNATURE: lark_sign(timestamp, nonce, body).encode(),
        }
        forged = False
        if kind == "forged":  # one header missing or wrong (any bytes), or another key
            name = draw(st.sampled_from(LARK_HEADERS))
            wrong = draw(
                st.none()
                | HEADER_VALUES
                | st.just(lark_sign(timestamp, nonce, body, "guessed-key").encode())
                | st.just(str(int(time.time()) - 8 * 3600).encode())
            )
            if values[name] != wrong:
                values[name] = wrong
                forged = True
        elif kind == "odd":  # a nonce or timestamp header that is not ASCII
            # It reads as missing: a nonce is then signed without it (and accepted); a
            # request without a timestamp is refused.
            odd = draw(HEADER_VALUES.filter(lambda v: not v.strip().isascii()))
            name = draw(st.sampled_from(LARK_HEADERS[:2]))
            values[name] = odd
            if name == fake_feishu.LARK_REQUEST_NONCE:
                values[fake_feishu.LARK_REQUEST_SIGNATURE] = lark_sign(timestamp, "", body).encode()
            forged = name == fake_feishu.LARK_REQUEST_TIMESTAMP
        headers = tuple((k.encode(), v) for k, v in values.items() if v is not None)
        headers = with_content_type(headers, draw(CONTENT_TYPES))
        # Feishu does not sign its URL check; the verification token vouches for it.
        refused = forged and b"url_verification" not in body
        framing = draw(FRAMINGS)
        return Request("POST", FEISHU_PATH, headers, body, forged, refused, framing)

    return build()


class TestFeishu:
    fake = platform_fake(feishu_tests.fake)

    async def test_events_fuzz(self, feishu: Feishu, caplog: pytest.LogCaptureFixture) -> None:
        feishu.adapter.limiter = RateLimiter()  # 5 a second per user would stall the replies
        port = urlsplit(feishu.url).port
        assert port is not None
        probe = Probe(feishu.app, port, caplog, feishu.app.dispatcher.drain_background)
        requests = feishu_requests(feishu.events, feishu_templates(feishu.events))
        await fuzz(requests, probe.check)

        # Still serving: the URL check and a genuine message.
        challenge = feishu.events.challenge("ch-after")
        assert await feishu.deliver(challenge) == (200, {"challenge": "ch-after"})
        assert await feishu.say("ou_after", "/help")

    async def test_events_the_sdk_could_not_take(
        self, feishu: Feishu, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Regressions. Verified events went on to lark-oapi's EventDispatcherHandler,
        which logs a traceback for each one it cannot handle (and answers 500): a message
        with ``"schema": ""`` (no processor for a v1 event), an event type at the top
        without a header, a nonce that is not ASCII (read as missing by our signature
        check, used as sent by the SDK's), a challenge with a lone surrogate (its answer
        could not be encoded). Fields of the wrong type failed in our processors inside
        it, and ids longer than their columns were a 500 on PostgreSQL. FeishuAdapter now
        reads verified events with the SDK's models itself (_handle_webhook)."""
        events, url = feishu.events, feishu.url
        port = urlsplit(url).port
        assert port is not None

        no_schema = events.text("ou_a", "/help")
        no_schema["schema"] = ""
        assert (await feishu.deliver(no_schema))[0] == 200  # read as the 2.0 event it is
        at_top = {"type": "im.message.receive_v1", "token": events.verification_token}
        assert await feishu.deliver(at_top) == (200, {"msg": "success"})  # nothing to read
        body = dumps(events.text("ou_b", "/help"))
        timestamp = str(int(time.time()))
        headers = (
            (fake_feishu.LARK_REQUEST_TIMESTAMP.encode(), timestamp.encode()),
            (fake_feishu.LARK_REQUEST_NONCE.encode(), "é".encode()),
            (fake_feishu.LARK_REQUEST_SIGNATURE.encode(), lark_sign(timestamp, "", body).encode()),
        )
        assert await send(port, Request("POST", FEISHU_PATH, headers, body, False)) == 200
        challenge = await feishu.deliver(events.challenge("\ud800"))
        assert challenge == (200, {"challenge": "\ufffd"})
        assert (await feishu.deliver(events.challenge(["x"])))[0] == 400  # type: ignore[arg-type]

        wrong_types = [events.text("ou_c", "/help") for _ in range(3)]
        wrong_types[0]["event"]["sender"]["sender_id"]["open_id"] = 7
        wrong_types[1]["event"]["message"]["chat_type"] = "group"
        wrong_types[1]["event"]["message"]["chat_id"] = ["oc"]
        wrong_types[2]["event"]["message"].update(message_type="post", content='{"content": 1}')
        card = events.card_action("ou_c", "x")
        card["event"]["action"]["value"] = ["p"]
        for event in [*wrong_types, card, events.text("o" * 129, "/help")]:
            assert (await feishu.deliver(event))[0] == 400, event
        assert await inbound_count(feishu.app) == 2  # no_schema and the odd nonce
        assert bot_errors(caplog.records) == []


# ---- the web server ------------------------------------------------------------------------


async def read_body(request: web.Request) -> web.Response:
    return web.Response(text=str(len(await request.read())))


async def test_malformed_http_and_unreadable_bodies(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Regressions. A request that is not valid HTTP (here a NUL in a header) was
    answered 400 by aiohttp, which logged it at ERROR with the parser's traceback; anyone
    can send one: one INFO line now (bot.core.web._ServerLog). A body that cannot be
    decoded (Content-Encoding gzip or deflate, not compressed) was a 500 with two
    tracebacks, from the handler's read and from aiohttp skipping the rest: a 400 now
    (bot.core.web._guard). The server keeps serving."""
    server = WebServer(database, "127.0.0.1", 0)
    server.add_routes([Route("POST", "/read", read_body)])
    await server.start()
    try:
        caplog.set_level(logging.INFO, logger="aiohttp.server")
        odd = Request("GET", b"/healthz", ((b"X-Odd", b"a\x00b"),), b"", forged=False)
        assert await send(server.bound_port, odd) == 400
        assert "malformed HTTP request refused (400 BadHttpMessage)" in caplog.text
        for framing, status in [
            ("gzip!", 400),
            ("deflate!", 400),
            ("chunked!", 400),
            ("gzip", 200),
            ("deflate", 200),
            ("chunked", 200),
        ]:
            body = Request("POST", b"/read", (), b"{}" * 10, forged=False, framing=framing)
            assert await send(server.bound_port, body) == status, framing
        healthz = Request("GET", b"/healthz", (), b"", forged=False)
        assert await send(server.bound_port, healthz) == 200
        assert bot_errors(caplog.records) == []
    finally:
        await server.stop()
