"""Upload checks by content, never by name, and the content-addressed file store."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter

from bot.core.uploads import FileStore, UploadRejected, check_upload, too_large


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, "JPEG")
    return out.getvalue()


def pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=72, height=72)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "mime", "extension"),
    [(png, "image/png", "png"), (jpeg, "image/jpeg", "jpg"), (pdf, "application/pdf", "pdf")],
)
def test_real_files_are_accepted(make: object, mime: str, extension: str) -> None:
    data = make()  # type: ignore[operator]
    checked = check_upload(data, max_mb=5)
    assert (checked.mime_type, checked.extension) == (mime, extension)
    assert checked.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"", "upload.empty"),
        (b"hello, this is text", "upload.wrong_type"),
        (b"<html><script>alert(1)</script></html>", "upload.wrong_type"),
        (b"MZ\x90\x00" + bytes(200), "upload.wrong_type"),
        (png()[:40], "upload.corrupt"),  # the signature, then nothing
        (b"%PDF-1.4\n garbage", "upload.corrupt"),
    ],
)
def test_wrong_or_broken_files_are_refused(data: bytes, key: str) -> None:
    with pytest.raises(UploadRejected) as refused:
        check_upload(data, max_mb=5)
    assert refused.value.key == key


def test_size_limit() -> None:
    assert too_large(5 * 1024 * 1024 + 1, 5) and not too_large(5 * 1024 * 1024, 5)
    assert not too_large(None, 5)
    with pytest.raises(UploadRejected) as refused:
        check_upload(png() + bytes(2 * 1024 * 1024), max_mb=1)
    assert refused.value.key == "upload.too_large" and refused.value.params == {"max_mb": 1}


def test_store_names_files_by_hash_once(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    checked = check_upload(png(), max_mb=5)
    path = store.save(checked)
    assert path == tmp_path / "files" / checked.sha256[:2] / f"{checked.sha256}.png"
    assert path.read_bytes() == checked.data
    assert store.save(checked) == path  # the same bytes again: the same file
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no .part left behind
