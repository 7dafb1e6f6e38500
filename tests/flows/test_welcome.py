"""Managers' welcome messages: /welcome records, previews and stores one per department."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from adapters.memory import MemoryAdapter
from bot.core.messages import AttachmentKind, Button
from bot.runtime.app import App
from content import CONTENT_DIR, Checklists, ContentPack, Course, FaqEntry
from flows.welcome import check_media, welcome_outgoing
from storage import welcomes
from storage.models import Staff, WelcomeMessage
from tests.bot.helpers import add_candidate, add_staff
from tests.flows.conftest import Restart

TODAY = date(2026, 6, 1)
OGG = b"OggS\x00\x02" + b"\x00" * 20 + b"OpusHead" + b"\x01" * 200
AMR = b"#!AMR\n" + b"\x3c" * 200
MP3 = b"ID3\x03\x00" + b"\x00" * 200
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 200
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 200
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\x00" * 200
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;" + b"\x00" * 50
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def core_content() -> ContentPack:
    """Checklists, courses and FAQ only (no journey, no library): these tests build their
    own items and do not depend on the demo library."""

    def read(path: Path) -> Any:
        return yaml.safe_load(path.read_text(encoding="utf-8"))

    return ContentPack(
        checklists=Checklists.model_validate(read(CONTENT_DIR / "checklists.yaml")),
        courses=[
            Course.model_validate(read(p)) for p in sorted((CONTENT_DIR / "courses").glob("*.yaml"))
        ],
        faq=[FaqEntry.model_validate(e) for e in read(CONTENT_DIR / "faq.yaml")],
    )


@pytest.fixture(scope="module")
def content_pack() -> ContentPack:
    return core_content()


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, fmt)
    return out.getvalue()


@pytest.fixture
async def manager(app: App, chat: MemoryAdapter) -> Staff:
    """A manager of 研发中心 with four candidates in various states."""
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    boss = await add_staff(app, "李强", "manager", user="mgr-li", department="研发中心")
    await add_candidate(app, "张三", hr=hr, offer_date=TODAY, phone="13800000001")
    await add_candidate(
        app, "李四", hr=hr, offer_date=TODAY - timedelta(days=2), phone="13800000002"
    )
    await add_candidate(  # day 3 was a week ago: not re-sent
        app, "王五", hr=hr, offer_date=TODAY - timedelta(days=10), phone="13800000003"
    )
    await add_candidate(
        app, "赵六", hr=hr, offer_date=TODAY, offer_status="declined", phone="13800000004"
    )
    await add_candidate(
        app, "钱七", hr=hr, offer_date=TODAY, department="市场部", phone="13800000005"
    )
    return boss


async def stored(app: App, department: str = "研发中心") -> WelcomeMessage | None:
    async with app.db.session() as session:
        return await welcomes.get_welcome(session=session, department=department)


async def test_text_welcome_preview_and_confirm(
    app: App, chat: MemoryAdapter, manager: Staff
) -> None:
    ask = (await chat.say("mgr-li", "欢迎"))[0]
    assert "请发送给研发中心新同学的欢迎语" in ask and "第 3 天" in ask
    preview = (await chat.say("mgr-li", "欢迎加入研发中心！期待和你一起做 AI 平台。"))[0]
    assert "新同学收到的是这样的" in preview
    assert "李强（研发中心负责人）给你写了一段欢迎：" in preview  # as the day-3 push says
    assert "期待和你一起做 AI 平台" in preview
    assert [b.label for b in chat.last("mgr-li").buttons] == [
        "确认发布",
        "重新写",
        "取消",
    ]  # a text: rewrite
    assert await stored(app) is None  # nothing stored before the confirmation
    done = (await chat.tap("mgr-li", "确认发布"))[0]
    assert "欢迎语已发布（第 1 版）" in done
    assert "目前有 2 位新同学" in done  # 张三 and 李四: not the declined one, not 市场部
    assert "另有 1 位同学已经过了第 3 天" in done  # 王五
    welcome = await stored(app)
    assert welcome is not None
    assert (welcome.kind, welcome.version, welcome.staff_id) == ("text", 1, manager.id)
    assert welcome.text == "欢迎加入研发中心！期待和你一起做 AI 平台。"
    assert welcome.file_path is None


async def test_current_welcome_is_shown_kept_or_replaced_by_a_voice(
    app: App, chat: MemoryAdapter, manager: Staff
) -> None:
    await chat.say("mgr-li", "/welcome")
    await chat.say("mgr-li", "第一版欢迎语")
    await chat.tap("mgr-li", "确认发布")
    current = (await chat.say("mgr-li", "/welcome"))[0]
    assert "研发中心现在的欢迎语（文字，第 1 版" in current and "第一版欢迎语" in current
    assert [b.label for b in chat.last("mgr-li").buttons] == ["重新录一条", "继续用现在的"]
    assert "欢迎语保持不变" in (await chat.tap("mgr-li", "继续用现在的"))[0]
    welcome = await stored(app)
    assert welcome is not None and welcome.version == 1

    await chat.say("mgr-li", "/welcome")
    assert "请发送给研发中心新同学的欢迎语" in (await chat.tap("mgr-li", "重新录一条"))[0]
    preview = await chat.upload("mgr-li", OGG, name="voice.ogg", kind=AttachmentKind.VOICE)
    assert "新同学收到的是这样的" in preview[0]
    files = chat.last("mgr-li").files
    assert len(files) == 1 and files[0].kind is AttachmentKind.VOICE
    assert Path(files[0].path or "").read_bytes() == OGG
    assert "第 2 版" in (await chat.tap("mgr-li", "确认发布"))[0]
    welcome = await stored(app)
    assert welcome is not None
    assert (welcome.kind, welcome.version, welcome.mime_type) == ("voice", 2, "audio/ogg")
    assert welcome.text is None and welcome.file_name == "voice.ogg"
    path = Path(welcome.file_path or "")
    assert path.read_bytes() == OGG
    assert path.parent.parent == app.settings.data_dir / "files"  # content-addressed
    # The current one is shown with its file the next time.
    await chat.say("mgr-li", "/welcome")
    assert "（语音，第 2 版" in chat.last("mgr-li").text
    assert chat.last("mgr-li").files[0].path == welcome.file_path
    assert "李强（研发中心负责人）给你录了一段欢迎" in chat.last("mgr-li").text
    out = welcome_outgoing(
        app.i18n,
        "en",
        manager="Li Qiang",
        department=welcome.department,
        kind=welcome.kind,
        text=welcome.text,
        file_path=welcome.file_path,
        file_name=welcome.file_name,
    )
    assert out.text == "Li Qiang (研发中心 lead) recorded a welcome for you:"
    assert out.files[0].kind is AttachmentKind.VOICE and out.files[0].path == welcome.file_path


@pytest.mark.parametrize(
    ("data", "name", "kind", "mime"),
    [
        (image("JPEG"), "me.jpg", "photo", "image/jpeg"),
        (image("PNG"), "me.png", "photo", "image/png"),
        (image("WEBP"), "me.webp", "photo", "image/webp"),
        (AMR, "v.amr", "voice", "audio/amr"),
        (MP3, "v.mp3", "voice", "audio/mpeg"),
        (M4A, "v.m4a", "voice", "audio/mp4"),
        (MP4, "hello.mp4", "video", "video/mp4"),
        (MOV, "hello.mov", "video", "video/quicktime"),
    ],
)
async def test_every_supported_type_is_stored_with_its_kind(
    app: App, chat: MemoryAdapter, manager: Staff, data: bytes, name: str, kind: str, mime: str
) -> None:
    await chat.say("mgr-li", "/welcome")
    await chat.upload("mgr-li", data, name=name)
    await chat.tap("mgr-li", "确认发布")
    welcome = await stored(app)
    assert welcome is not None
    assert (welcome.kind, welcome.mime_type) == (kind, mime)


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (GIF, "funny.gif", "这个文件格式不支持。照片请发 JPG、PNG 或 WebP"),
        (PDF, "speech.pdf", "这个文件格式不支持"),
        (b"hello, just text", "note.txt", "这个文件格式不支持"),
        (b"", "empty.ogg", "这个文件是空的"),
        (image("JPEG")[:120], "cut.jpg", "已损坏"),
    ],
)
async def test_bad_files_are_refused_and_the_step_asks_again(
    app: App, chat: MemoryAdapter, manager: Staff, data: bytes, name: str, expected: str
) -> None:
    await chat.say("mgr-li", "/welcome")
    replies = await chat.upload("mgr-li", data, name=name)
    assert expected in replies[0]
    assert "请发送给研发中心新同学的欢迎语" in replies[1]
    assert await stored(app) is None


async def test_empty_and_too_long_text_and_oversized_file(
    app: App, chat: MemoryAdapter, manager: Staff
) -> None:
    await chat.say("mgr-li", "/welcome")
    replies = await chat.say("mgr-li", "   ")
    assert "欢迎语不能是空的" in replies[0] and "请发送给研发中心" in replies[1]
    replies = await chat.say("mgr-li", "长" * 1001)
    assert "1001 字" in replies[0] and "1000 字以内" in replies[0]
    big = MP4 + b"\x00" * (app.settings.max_upload_mb * 1024 * 1024)
    assert "文件太大了" in (await chat.upload("mgr-li", big, name="long.mp4"))[0]
    # A tap on the preview's buttons is expected there; free text gets the hint.
    await chat.say("mgr-li", "好的")
    assert "请点击下面的按钮" in (await chat.say("mgr-li", "随便说点什么"))[0]
    assert await stored(app) is None


async def test_redo_and_cancel_change_nothing(
    app: App, chat: MemoryAdapter, manager: Staff
) -> None:
    await chat.say("mgr-li", "/welcome")
    await chat.say("mgr-li", "草稿一")
    assert "请发送给研发中心" in (await chat.tap("mgr-li", "重新写"))[0]
    preview = (await chat.say("mgr-li", "草稿二"))[0]
    assert "草稿二" in preview and "草稿一" not in preview
    assert "已取消，欢迎语没有改动" in (await chat.tap("mgr-li", "取消"))[0]
    assert await stored(app) is None
    await chat.say("mgr-li", "/welcome")
    assert "已取消" in (await chat.tap("mgr-li", "取消"))[0]


async def test_restart_in_the_middle_keeps_the_draft(
    app: App, chat: MemoryAdapter, manager: Staff, restart: Restart
) -> None:
    await chat.say("mgr-li", "/welcome")
    await chat.upload("mgr-li", MP4, name="team.mp4", kind=AttachmentKind.VIDEO)
    confirm = next(b for b in chat.last("mgr-li").buttons if b.label == "确认发布")
    _, chat2 = await restart()
    await chat2.dispatch(chat2.incoming("mgr-li", confirm.label, payload=confirm.payload))
    assert "欢迎语已发布（第 1 版）" in chat2.last("mgr-li").text
    welcome = await stored(app)
    assert welcome is not None and welcome.kind == "video"
    assert Path(welcome.file_path or "").read_bytes() == MP4


async def test_restart_before_the_message_resumes_at_the_ask(
    app: App, chat: MemoryAdapter, manager: Staff, restart: Restart
) -> None:
    await chat.say("mgr-li", "/welcome")
    _, chat2 = await restart()
    assert "新同学收到的是这样的" in (await chat2.say("mgr-li", "大家好，我是李强"))[0]
    stale = Button("确认发布", chat2.last("mgr-li").buttons[0].payload)
    await chat2.dispatch(chat2.incoming("mgr-li", stale.label, payload=stale.payload))
    await chat2.dispatch(chat2.incoming("mgr-li", stale.label, payload=stale.payload))
    assert "按钮已过期" in chat2.last("mgr-li").text  # a second tap does not save twice
    welcome = await stored(app)
    assert welcome is not None and welcome.version == 1


async def test_who_may_record(app: App, chat: MemoryAdapter, manager: Staff) -> None:
    assert "不对你开放" in (await chat.say("hr-wang", "/welcome"))[0]
    hr = await add_staff(app, "刘洋", "hr", user="hr-liu")
    _, code = await add_candidate(app, "孙八", hr=hr, phone="13800000009")
    await chat.say("u9", f"/bind {code}")
    assert "不对你开放" in (await chat.say("u9", "欢迎"))[0]
    await add_staff(app, "周九", "manager", user="mgr-zhou")  # no department
    assert "还没有登记所属部门" in (await chat.say("mgr-zhou", "/welcome"))[0]
    assert "请先用 HR 发给你的邀请码绑定账号" in (await chat.say("stranger", "/welcome"))[0]


async def test_admin_names_the_department(app: App, chat: MemoryAdapter, manager: Staff) -> None:
    assert "还没有登记为员工" in (await chat.say("root", "/welcome"))[0]
    await add_staff(app, "管理员", "admin", user="root")
    assert "写上部门名称" in (await chat.say("root", "/welcome"))[0]
    assert "请发送给市场部新同学" in (await chat.say("root", "/welcome 市场部"))[0]
    await chat.say("root", "市场部欢迎你")
    assert "市场部目前有 1 位新同学" in (await chat.tap("root", "确认发布"))[0]
    assert await stored(app, "市场部") is not None
    assert await stored(app) is None


def test_check_media_judges_bytes_not_names() -> None:
    assert check_media(OGG, max_mb=1)[0] == "voice"
    assert check_media(MOV, max_mb=1)[1].extension == "mov"
