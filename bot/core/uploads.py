"""Checking and keeping files that candidates send.

Files are judged by their bytes, never their names: the type comes from the
content's signature (filetype) and the whole file must parse as that type
(Pillow within a pixel budget, pypdf without scripts or attachments, HEIC's box
structure). Images are stored as decoded and encoded again, so what HR opens is
exactly the picture that was checked. Accepted files are stored under
``DATA_DIR/files`` named by their SHA-256, outside any web root; only the bot
hands them out, under a name rebuilt from a safe stem and the detected type.

Pillow and pypdf are imported on the first image or PDF checked, not with this module.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import re
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filetype

from bot.core.text import safe_filename

if TYPE_CHECKING:
    from pypdf import PdfReader

log = logging.getLogger(__name__)

ACCEPTED = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "application/pdf": "pdf",
    "image/heic": "heic",
    "image/heif": "heic",
}


class UploadRejected(Exception):
    """The file cannot be accepted; ``key`` is the catalog text saying why."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True, slots=True)
class CheckedFile:
    data: bytes
    mime_type: str
    extension: str
    sha256: str
    name: str = "file"  # safe to store and show: a clean stem and the detected extension


def too_large(size: int | None, max_mb: int) -> bool:
    return size is not None and size > max_mb * 1024 * 1024


MAX_PIXELS = 50_000_000  # a 50-megapixel phone photo; larger is refused before decoding
MAX_SIDE = 4096  # stored images are at most this wide or tall (downscaled, never refused)
_PDF_ACTIVE = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/RichMedia", b"/XFA")
_MARKUP = re.compile(rb"<\s*(html|script|svg|iframe|body|!doctype)", re.IGNORECASE)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis"}


_CLAIMS = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "heic": "image/heic",
}


def _claimed_type(name: str | None) -> str | None:
    """The accepted type a file's name claims by its extension, if any."""
    if not name or "." not in name:
        return None
    return _CLAIMS.get(name.rsplit(".", 1)[-1].lower())


def check_upload(data: bytes, *, max_mb: int, name: str | None = None) -> CheckedFile:
    """Accept JPEG, PNG, PDF or HEIC that is not empty, not too large, parses whole as
    its type and carries nothing active. Images are decoded within :data:`MAX_PIXELS`
    and stored re-encoded (EXIF orientation applied, metadata and trailing bytes
    dropped, at most :data:`MAX_SIDE` a side); the name is rebuilt from ``name``'s
    safe stem and the detected type's extension. CPU-bound: call it off the loop."""
    if not data:
        raise UploadRejected("upload.empty")
    if too_large(len(data), max_mb):
        raise UploadRejected("upload.too_large", max_mb=max_mb)
    kind = filetype.guess(data)
    mime = kind.mime if kind is not None else None
    if mime not in ACCEPTED or _MARKUP.search(data[:4096]):
        claimed = _claimed_type(name)
        if claimed is not None and claimed != mime:  # named .pdf, but it is not a PDF
            suffix = (name or "").rsplit(".", 1)[-1].lower()
            raise UploadRejected("upload.not_really", ext=f".{suffix}", kind=suffix.upper())
        raise UploadRejected("upload.wrong_type")
    if mime in ("image/jpeg", "image/png"):
        data = normalise_image(data, "JPEG" if mime == "image/jpeg" else "PNG")
    elif mime == "application/pdf":
        _check_pdf(data)
    elif not _heif_boxes_cover(data):
        raise UploadRejected("upload.corrupt")
    extension = ACCEPTED[mime]
    return CheckedFile(
        data, mime, extension, hashlib.sha256(data).hexdigest(), safe_filename(name, extension)
    )


def normalise_image(data: bytes, fmt: str) -> bytes:
    """The image decoded within the pixel budget and encoded again in ``fmt``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # the size is judged below, in our own words
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size  # read from the header; nothing decoded yet
        if width * height > MAX_PIXELS:
            raise UploadRejected(
                "upload.too_many_pixels",
                megapixels=round(width * height / 1e6),
                max_megapixels=MAX_PIXELS // 1_000_000,
            )
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # the whole image, or an error: truncated data does not pass
            upright = ImageOps.exif_transpose(image)
            if max(upright.size) > MAX_SIDE:
                upright.thumbnail((MAX_SIDE, MAX_SIDE))
            if fmt == "JPEG" and upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            out = io.BytesIO()
            upright.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
            return out.getvalue()
    except UploadRejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise UploadRejected("upload.corrupt") from None
    except Exception as exc:  # a decoder bug on hostile input must not crash the step
        log.warning("image check error: %s", type(exc).__name__)
        raise UploadRejected("upload.corrupt") from None


def _check_pdf(data: bytes) -> None:
    """A PDF from its first byte to its last ``%%EOF``, with pages, and no script,
    launch action or attached file (as raw names or anywhere pypdf finds them)."""
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
        raise UploadRejected("upload.corrupt")
    if any(name in data for name in _PDF_ACTIVE):
        raise UploadRejected("upload.pdf_active")
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if len(reader.pages) == 0:
                raise UploadRejected("upload.corrupt")
            if _pdf_has_active_content(reader):
                raise UploadRejected("upload.pdf_active")
    except UploadRejected:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        log.info("upload failed to open as a PDF: %s", type(exc).__name__)
        raise UploadRejected("upload.corrupt") from None
    except Exception as exc:  # a parser bug on hostile input must not crash the step
        log.warning("PDF check error: %s", type(exc).__name__)
        raise UploadRejected("upload.corrupt") from None


def _pdf_has_active_content(reader: PdfReader) -> bool:
    """Scripts, launch actions or embedded files reachable from the catalog or pages
    (names decoded by pypdf, so ``/J#61vaScript`` and object streams are seen)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    active = {"/JavaScript", "/JS", "/Launch", "/EmbeddedFiles", "/EmbeddedFile", "/RichMedia"}
    seen: set[int] = set()
    stack: list[Any] = [reader.trailer["/Root"]]
    budget = 20_000  # objects looked at; a PDF needing more is not a scanned document
    while stack and budget:
        budget -= 1
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            if any(str(key) in active for key in item) or str(item.get("/S", "")) in active:
                return True
            stack.extend(v for k, v in item.items() if k not in ("/Parent",))
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return False


def _heif_boxes_cover(data: bytes) -> bool:
    """An ISO media file whose boxes, from an ``ftyp`` with a HEIF brand, tile the whole
    file exactly (a HEIC header glued to HTML or an executable does not)."""
    offset, first = 0, True
    while offset < len(data):
        if len(data) - offset < 8:
            return False
        size = int.from_bytes(data[offset : offset + 4], "big")
        box = data[offset + 4 : offset + 8]
        header = 8
        if size == 1:
            if len(data) - offset < 16:
                return False
            size, header = int.from_bytes(data[offset + 8 : offset + 16], "big"), 16
        elif size == 0:
            size = len(data) - offset
        if not box.isascii() or not box.decode("ascii").isprintable() or size < header:
            return False
        if first:
            brands = {data[offset + 8 : offset + 12]}
            brands |= {data[i : i + 4] for i in range(offset + 16, offset + size, 4)}
            if box != b"ftyp" or not brands & _HEIF_BRANDS:
                return False
            first = False
        offset += size
    return offset == len(data) and not first


def is_disk_full(exc: OSError) -> bool:
    """Whether a failed write means no space (or quota) is left: try again later."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


class FileStore:
    """Content-addressed files under ``root`` (``DATA_DIR/files``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, extension: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{extension}"

    def save(self, checked: CheckedFile) -> Path:
        """Write the file under its final name atomically; a failed write (a full disk)
        leaves nothing behind and raises its ``OSError``."""
        path = self.path(checked.sha256, checked.extension)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Its own temporary name, so two writers of the same file never share one.
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
            try:
                tmp.write_bytes(checked.data)
                tmp.replace(path)  # atomic: never half a file under the real name
            except OSError:
                tmp.unlink(missing_ok=True)
                raise
        return path
