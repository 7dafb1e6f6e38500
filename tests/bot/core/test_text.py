"""Text from platforms made safe once: surrogates, controls, digits, secrets, file names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.messages import Attachment, AttachmentKind, Incoming, Sender
from bot.core.text import MAX_NUMBER, clean, number, safe_filename, same


def test_clean_replaces_surrogates_and_drops_controls() -> None:
    assert clean("a\ud800b\udfffc") == "a\ufffdb\ufffdc"
    assert clean("x\x00y\x1b[31mz\x7f") == "xy[31mz"
    assert clean("one\r\ntwo\rthree\tfour") == "one\ntwo\nthree\tfour"
    assert clean("line\nbreak", one_line=True) == "linebreak"
    assert clean("家人👨‍👩‍👧") == "家人👨‍👩‍👧"  # the zero-width joiner of an emoji stays


@given(st.text())
def test_clean_output_always_encodes(text: str) -> None:
    clean(text).encode("utf-8")
    clean(text, one_line=True).encode("utf-8")


def test_incoming_is_cleaned_when_built() -> None:
    message = Incoming(
        sender=Sender("telegram", "1\ud800", "1", "张\ud800三\x00"),
        event_id="7",
        received_at=datetime(2026, 6, 1, tzinfo=UTC),
        text="hi\ud800",
        payload="res:\udc00",
        attachments=(Attachment(AttachmentKind.FILE, "f", "cv\x00\ud800.pdf"),),
        extras={"k\ud800": ["v\ud800", {"n": 1}]},
    )
    assert message.text == "hi\ufffd" and message.payload == "res:\ufffd"
    assert message.sender.display_name == "张\ufffd三" and message.sender.user_id == "1\ufffd"
    assert message.attachments[0].name == "cv\ufffd.pdf"
    assert message.extras == {"k\ufffd": ["v\ufffd", {"n": 1}]}
    assert Incoming.from_json(message.to_json()) == message


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), (" 3 ", 3), ("３", 3), ("１２", 12), ("0", 0), (str(MAX_NUMBER), MAX_NUMBER)],
)
def test_numbers(text: str, value: int) -> None:
    assert number(text) == value


@pytest.mark.parametrize(
    "text", ["²", "①", "٣", "-1", "+1", "1.5", "1e3", "", None, "12a", str(MAX_NUMBER + 1)]
)
def test_not_numbers(text: str | None) -> None:
    assert number(text) is None


@given(st.text())
def test_number_never_raises(text: str) -> None:
    value = number(text)
    assert value is None or 0 <= value <= MAX_NUMBER


def test_same_compares_any_characters_in_constant_time() -> None:
    assert same("secret", "secret") and same(b"secret", "secret")
    assert not same("sécret", "secret") and not same("\ud800", "x") and not same("", "x")


@pytest.mark.parametrize(
    ("original", "extension", "expected"),
    [
        ("../../../../tmp/x.pdf", "pdf", "x.pdf"),
        ("..\\..\\x.pdf", "pdf", "x.pdf"),
        ("resume\u202efdp.exe", "pdf", "resumefdp.pdf"),  # no right-to-left override
        ("cv.html", "pdf", "cv.pdf"),  # the extension of what the bytes are
        ("photo.exe", "jpg", "photo.jpg"),
        ("简历 张三.PDF", "pdf", "简历 张三.pdf"),
        ("a\x00b\nc.png", "png", "abc.png"),
        ("...", "pdf", "file.pdf"),
        (None, "jpg", "file.jpg"),
        ('con<>:"|?*.pdf', "pdf", "con.pdf"),
    ],
)
def test_safe_filename(original: str | None, extension: str, expected: str) -> None:
    assert safe_filename(original, extension) == expected


@given(st.text(), st.sampled_from(["pdf", "jpg", "png", "heic"]))
def test_safe_filename_is_always_plain(original: str, extension: str) -> None:
    name = safe_filename(original, extension)
    assert name.endswith("." + extension) and len(name) <= 61 + len(extension)
    assert not any(ch in name for ch in '/\\\x00\n\u202e\u200f<>:"|?*')
    name.encode("utf-8")
