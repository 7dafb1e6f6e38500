"""Upload checks by content, never by name: hostile files, pixel budgets, the file store."""

from __future__ import annotations

import errno
import hashlib
import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from bot.core.uploads import (
    MAX_SIDE,
    FileStore,
    UploadRejected,
    check_upload,
    is_disk_full,
    too_large,
)


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
    checked = check_upload(data, max_mb=5, name="../我的 证件.exe")
    assert (checked.mime_type, checked.extension) == (mime, extension)
    assert checked.sha256 == hashlib.sha256(checked.data).hexdigest()
    assert checked.name == f"我的 证件.{extension}"


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


def png_header(width: int, height: int) -> bytes:
    """A valid PNG claiming ``width`` x ``height`` with almost no data (a pixel bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_a_pixel_bomb_is_refused_before_it_is_decoded() -> None:
    bomb = png_header(13_000, 13_000)
    tracemalloc.start()
    try:
        with pytest.raises(UploadRejected) as refused:
            check_upload(bomb, max_mb=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.key == "upload.too_many_pixels"
    assert refused.value.params == {"megapixels": 169, "max_megapixels": 50}
    assert peak < 20 * 1024 * 1024


def test_large_photos_are_downscaled_and_turned_upright() -> None:
    image = Image.new("RGB", (5000, 1000), "green")
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    checked = check_upload(out.getvalue(), max_mb=5)
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.size == (MAX_SIDE * 1000 // 5000, MAX_SIDE)  # upright, then bounded
        assert 0x0112 not in stored.getexif()


def test_bytes_after_the_image_are_not_kept() -> None:
    """Phones append data (a motion photo's video, vendor blocks); what is stored is the
    decoded picture only. Markup glued to a small image is refused outright."""
    trailing = jpeg() + b"SEFH" + bytes(range(256)) * 20
    checked = check_upload(trailing, max_mb=5)
    assert checked.data.endswith(b"\xff\xd9") and bytes(range(256)) not in checked.data
    with pytest.raises(UploadRejected):
        check_upload(jpeg() + b"<html><script>alert(1)</script></html>", max_mb=5)


def test_html_with_an_image_signature_is_refused() -> None:
    with pytest.raises(UploadRejected) as refused:
        check_upload(png()[:8] + b"<html><body>x</body></html>", max_mb=5)
    assert refused.value.key == "upload.wrong_type"


def heic(tail: bytes = b"") -> bytes:
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    meta = b"meta" + bytes(20)
    mdat = b"mdat" + bytes(40)
    boxes = b"".join((len(b) + 4).to_bytes(4, "big") + b for b in (ftyp, meta, mdat))
    return boxes + tail


def test_heic_must_be_boxes_from_start_to_end() -> None:
    assert check_upload(heic(), max_mb=5, name="IMG_0001.HEIC").name == "IMG_0001.heic"
    for tail in (b"<html><script>alert(1)</script></html>", b"MZ\x90\x00" + bytes(64)):
        with pytest.raises(UploadRejected) as refused:
            check_upload(heic(tail), max_mb=5)
        assert refused.value.key in ("upload.corrupt", "upload.wrong_type")


def pdf_with(extra: dict[str, object]) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=72, height=72)
    for key, value in extra.items():
        writer._root_object[NameObject(key)] = value  # type: ignore[index]
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdfs_with_scripts_or_attachments_are_refused() -> None:
    script = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert(1)"),
        }
    )
    names = DictionaryObject({NameObject("/JavaScript"): script})
    attached = PdfWriter()
    attached.add_blank_page(width=72, height=72)
    attached.add_attachment("payload.exe", b"MZ")
    with_file = io.BytesIO()
    attached.write(with_file)
    for data in (
        pdf_with({"/OpenAction": script}),
        pdf_with({"/Names": names}),
        with_file.getvalue(),
    ):
        with pytest.raises(UploadRejected) as refused:
            check_upload(data, max_mb=5)
        assert refused.value.key == "upload.pdf_active"


def test_a_pdf_must_start_and_end_as_one() -> None:
    for data in (b"<html>" + pdf(), pdf() + b"<html><script>x</script></html>" * 100):
        with pytest.raises(UploadRejected):
            check_upload(data, max_mb=5)


def test_a_full_disk_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = check_upload(png(), max_mb=20)
    store = FileStore(tmp_path / "files")
    real = Path.write_bytes

    def half_then_full(self: Path, data: bytes) -> int:
        real(self, data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_full)
    with pytest.raises(OSError) as full:
        store.save(checked)
    assert is_disk_full(full.value)
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []
    monkeypatch.undo()
    path = store.save(checked)
    assert path.read_bytes() == checked.data
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
