"""Document submission and HR review."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from sqlmodel import select

from adapters.memory import MemoryAdapter
from bot.core.messages import AttachmentKind
from bot.runtime.app import App
from storage import audit, documents
from storage.models import Candidate, Document, Staff
from tests.bot.helpers import add_candidate, add_staff
from tests.flows.conftest import Restart


def jpeg(color: str = "red", size: tuple[int, int] = (64, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 30), "blue").save(out, "PNG")
    return out.getvalue()


def pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"PE\x00\x00"


@pytest.fixture
async def people(app: App, chat: MemoryAdapter) -> tuple[Staff, Candidate]:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    candidate, code = await add_candidate(
        app, "张三", hr=hr, offer_status="accepted", department="市场部"
    )
    await chat.say("u1", f"/bind {code}")
    return hr, candidate


async def open_item(chat: MemoryAdapter, label: str = "身份证正面") -> None:
    replies = await chat.say("u1", "材料")
    assert "入职材料清单" in replies[0] and "⬜ 身份证正面：未提交" in replies[0]
    assert f"请发送「{label}」" in (await chat.tap("u1", label))[0]


async def test_submit_photo_then_hr_approves(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    _, candidate = people
    await open_item(chat)
    replies = await chat.upload("u1", jpeg(), name="IMG_0001.jpg", kind=AttachmentKind.PHOTO)
    assert "已收到「身份证正面」" in replies[0]
    assert "⏳ 身份证正面：已提交，待审核" in replies[1]  # back at the checklist
    notice = chat.last("hr-wang")
    assert "张三（市场部）提交了「身份证正面」" in notice.text
    assert notice.files and notice.files[0].name == "IMG_0001.jpg"
    stored = Path(notice.files[0].path or "")
    with Image.open(stored) as image:  # the checked picture, encoded again
        assert image.format == "JPEG" and image.size == Image.open(io.BytesIO(jpeg())).size
    assert stored.parent.parent.name == "files" and stored.stem == stored.stem.lower()
    assert "已通过 张三 的「身份证正面」" in (await chat.tap("hr-wang", "通过"))[0]
    assert "✅ 你的「身份证正面」已审核通过" in chat.last("u1").text
    # The same button again does nothing.
    assert "已经处理过了" in (await chat.tap("hr-wang", "通过"))[0]
    progress = (await chat.say("u1", "进度"))[0]
    assert "已提交 1/7，已审核通过 1" in progress
    assert candidate.id is not None


async def test_reject_with_reason_and_resubmit(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    await open_item(chat)
    await chat.upload("u1", jpeg("red"), name="a.jpg")
    old_notice = chat.last("hr-wang")
    assert "退回原因" in (await chat.tap("hr-wang", "退回"))[0]
    replies = await chat.say("hr-wang", "照片太暗了，看不清号码")
    assert "已退回 张三 的「身份证正面」" in replies[0]
    rejected = chat.last("u1").text
    assert "需要重新提交" in rejected and "照片太暗了" in rejected
    await chat.say("u1", "/cancel")
    listing = (await chat.say("u1", "材料"))[0]
    assert "❌ 身份证正面：需重新提交（原因：照片太暗了，看不清号码）" in listing
    await chat.tap("u1", "身份证正面")
    await chat.upload("u1", png(), name="b.png")
    # The old notice's buttons belong to the old file.
    approve_old = next(b for b in old_notice.buttons if "通过" in b.label)
    await chat.dispatch(chat.incoming("hr-wang", approve_old.label, payload=approve_old.payload))
    assert "已经处理过了" in chat.last("hr-wang").text
    await chat.tap("hr-wang", "通过")  # the newest notice
    assert "已审核通过" in chat.last("u1").text


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (EXE, "diploma.pdf", "不是真正的 PDF"),  # renamed: says so
        (b"", "empty.jpg", "文件是空的"),
        (jpeg()[:200], "cut.jpg", "已损坏"),
        (b"%PDF-1.4\n garbage garbage", "broken.pdf", "已损坏"),
        (b"just some text, not a document", "notes.txt", "格式不支持"),
    ],
)
async def test_bad_files_are_refused_with_reason(
    app: App,
    chat: MemoryAdapter,
    people: tuple[Staff, Candidate],
    data: bytes,
    name: str,
    expected: str,
) -> None:
    hr, candidate = people
    await open_item(chat)
    replies = await chat.upload("u1", data, name=name)
    assert expected in replies[0]
    assert "请发送「身份证正面」" in replies[1]  # still at the same step
    async with app.db.session() as session:
        assert (
            list(await documents.documents_of(session=session, candidate_id=candidate.id or 0))
            == []
        )
    assert not any("提交了" in m.text for m in chat.sent["hr-wang"])
    assert hr.id is not None


async def test_oversized_file_is_refused_before_download(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    await open_item(chat)
    big = jpeg() + b"\x00" * (app.settings.max_upload_mb * 1024 * 1024)
    replies = await chat.upload("u1", big, name="huge.jpg")
    assert "文件太大了" in replies[0] and "20 MB" in replies[0]


async def test_pdf_accepted_and_wrong_input_hints(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    await open_item(chat)
    assert "请直接发送照片或文件" in (await chat.say("u1", "我等会儿发"))[0]
    assert "已收到" in (await chat.upload("u1", pdf(), name="id.pdf"))[0]


async def test_restart_mid_flow_resumes_at_the_upload_step(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate], restart: Restart
) -> None:
    await open_item(chat, "毕业证书")
    _, chat2 = await restart()
    assert "已收到「毕业证书」" in (await chat2.upload("u1", jpeg(), name="d.jpg"))[0]


async def test_review_lists_oldest_first_paged_and_scoped(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    await add_staff(app, "刘洋", "hr", user="hr-liu")
    await chat.say("u1", "材料")
    labels = [
        "身份证正面",
        "身份证反面",
        "毕业证书",
        "学位证书",
        "入职体检报告",
        "一寸证件照",
        "工资卡",
    ]
    from datetime import timedelta

    for label in labels:
        await chat.tap("u1", label)
        await chat.upload("u1", jpeg(), name=f"{label}.jpg")
        app.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
    listing = await chat.say("hr-wang", "/review")
    assert "待审核材料共 7 份" in listing[0]
    assert listing[0].index("身份证正面") < listing[0].index("工资卡")
    assert "目前没有待审核的材料" in (await chat.say("hr-liu", "/review"))[0]
    viewed = await chat.tap("hr-wang", "查看 2")
    assert "身份证反面" in viewed[0] and chat.last("hr-wang").files
    async with app.db.session() as session:  # opening a file is on the record
        [entry] = [e for e in await audit.latest(session=session) if e.action == "document"]
    assert (entry.actor, entry.detail) == ("王芳", "id_back")
    # Another HR cannot view or approve these files by replaying a payload.
    view = next(b for b in chat.last("hr-wang").buttons if "通过" in b.label)
    await chat.dispatch(chat.incoming("hr-liu", "x", payload=view.payload))
    assert "找不到这份材料" in chat.last("hr-liu").text
    # The candidate cannot use the staff buttons either.
    await chat.dispatch(chat.incoming("u1", "x", payload=view.payload))
    assert "不对你开放" in chat.last("u1").text


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../../../tmp/x.pdf", "x.pdf"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("resume\u202efdp.exe", "resumefdp.pdf"),  # displayed as "resumeexe.pdf" unfixed
        ("cv.html", "cv.pdf"),
    ],
)
async def test_hr_gets_a_safe_file_name(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate], name: str, shown: str
) -> None:
    await open_item(chat)
    assert "已收到" in (await chat.upload("u1", pdf(), name=name))[0]
    notice = chat.last("hr-wang")
    assert notice.files and notice.files[0].name == shown
    async with app.db.session() as session:
        stored = (await session.exec(select(Document))).one()
    assert stored.file_name == shown
