"""Checking and keeping files that candidates send.

Files are judged by their bytes, never their names: the type comes from the
content's signature (filetype), and images and PDFs must actually open
(Pillow, pypdf). Accepted files are stored under ``DATA_DIR/files`` named by
their SHA-256, outside any web root; only the bot hands them out.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import filetype
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PdfReadError

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


def too_large(size: int | None, max_mb: int) -> bool:
    return size is not None and size > max_mb * 1024 * 1024


def check_upload(data: bytes, *, max_mb: int) -> CheckedFile:
    """Accept JPEG, PNG, PDF or HEIC that is not empty, not too large and not corrupt."""
    if not data:
        raise UploadRejected("upload.empty")
    if too_large(len(data), max_mb):
        raise UploadRejected("upload.too_large", max_mb=max_mb)
    kind = filetype.guess(data)
    mime = kind.mime if kind is not None else None
    if mime not in ACCEPTED:
        raise UploadRejected("upload.wrong_type")
    if not _opens(data, mime):
        raise UploadRejected("upload.corrupt")
    return CheckedFile(data, mime, ACCEPTED[mime], hashlib.sha256(data).hexdigest())


def _opens(data: bytes, mime: str) -> bool:
    try:
        if mime in ("image/jpeg", "image/png"):
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # verify() misses truncated pixel data
            return True
        if mime == "application/pdf":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return len(PdfReader(io.BytesIO(data), strict=False).pages) > 0
    except (UnidentifiedImageError, OSError, PdfReadError, ValueError, SyntaxError) as exc:
        log.info("upload failed to open as %s: %s", mime, exc)
        return False
    except Exception as exc:  # a parser bug on hostile input must not crash the step
        log.warning("upload check error for %s: %s", mime, exc)
        return False
    return True  # HEIC: the signature is all we check (no decoder installed)


class FileStore:
    """Content-addressed files under ``root`` (``DATA_DIR/files``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, extension: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{extension}"

    def save(self, checked: CheckedFile) -> Path:
        path = self.path(checked.sha256, checked.extension)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(checked.data)
            tmp.replace(path)  # atomic: a crash never leaves half a file under the real name
        return path
