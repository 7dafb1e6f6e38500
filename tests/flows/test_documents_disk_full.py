"""A full disk while a candidate's document is stored (SQLite and PostgreSQL): a clear
message, nothing half-written, the step kept for another try, the admins told once."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from sqlmodel import select

from adapters.memory import MemoryAdapter
from bot.core.messages import AttachmentKind
from bot.runtime.app import App
from storage.models import Candidate, Document, Staff
from tests.bot.helpers import add_candidate, add_staff
from tests.flows.test_documents import jpeg, open_item

FULL = "服务器的存储空间暂时不足，这份文件没能保存。请稍后再发送一次"
ALERT = "服务器磁盘空间已满：张三 上传的「身份证正面」没能保存（No space left on device）"


def fill_the_disk(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Writes of uploads get half their bytes onto the disk, then ENOSPC (as a real
    full disk does); returns the paths written to."""
    real = Path.write_bytes
    written: list[Path] = []

    def half_then_full(self: Path, data: bytes) -> int:
        if "files" not in self.parts:
            return real(self, data)
        written.append(self)
        real(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", half_then_full)
    return written


def files_under(app: App) -> list[Path]:
    root = app.settings.data_dir / "files"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def documents_in(app: App) -> list[Document]:
    async with app.db.session() as session:
        return list((await session.exec(select(Document))).all())


@pytest.fixture
async def people(app: App, chat: MemoryAdapter) -> tuple[Staff, Candidate]:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await add_staff(app, "李管理", "admin", user="admin-li")
    candidate, code = await add_candidate(
        app, "张三", hr=hr, offer_status="accepted", department="市场部"
    )
    await chat.say("u1", f"/bind {code}")
    return hr, candidate


async def test_full_disk_refuses_cleanly_and_the_next_try_succeeds(
    app: App,
    chat: MemoryAdapter,
    people: tuple[Staff, Candidate],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await open_item(chat)
    before_admin = len(chat.sent["admin-li"])
    written = fill_the_disk(monkeypatch)
    replies = await chat.upload("u1", jpeg(), name="IMG_1.jpg", kind=AttachmentKind.PHOTO)
    assert FULL in replies[0] and "请发送「身份证正面」" in replies[1]  # asked again
    assert written  # the write was really attempted, and failed half-way
    assert files_under(app) == []  # no partial file left, under any name
    assert await documents_in(app) == []  # no row pointing at a missing file
    alerts = [m.text for m in chat.sent["admin-li"][before_admin:]]
    assert len(alerts) == 1 and ALERT in alerts[0]
    assert not any("磁盘" in m.text for m in chat.sent["hr-wang"])  # an admin matter

    # Still full: the same clear answer, and no second alert today.
    replies = await chat.upload("u1", jpeg("blue"), name="IMG_2.jpg", kind=AttachmentKind.PHOTO)
    assert FULL in replies[0]
    assert len(chat.sent["admin-li"]) == before_admin + 1

    # Space again: the step is still the upload, so the same file just goes through.
    monkeypatch.undo()
    replies = await chat.upload("u1", jpeg(), name="IMG_1.jpg", kind=AttachmentKind.PHOTO)
    assert "已收到「身份证正面」" in replies[0]
    (document,) = await documents_in(app)
    (stored,) = files_under(app)
    assert stored.stem == document.sha256 and stored.stat().st_size == document.size
