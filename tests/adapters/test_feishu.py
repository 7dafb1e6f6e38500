"""The Feishu adapter end to end: signed, encrypted events in; Open API calls out (a fake)."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import func
from sqlmodel import select

from adapters import feishu_payloads as payloads
from adapters.feishu import FeishuAdapter
from bot.core.cache import SharedCache
from bot.core.clock import FixedClock
from bot.core.messages import (
    Attachment,
    AttachmentKind,
    Button,
    ChatAddress,
    Incoming,
    Link,
    Outgoing,
    OutgoingFile,
)
from bot.core.settings import Settings
from bot.core.web import WebServer
from bot.runtime.app import App
from storage import people
from storage.models import InboundEvent
from tests.adapters.fake_feishu import (
    Failure,
    FakeFeishu,
    FeishuEvents,
    event_frame,
    wait_for,
)
from tests.bot.helpers import add_candidate, add_staff, same_picture
from tests.conftest import START

ENCRYPT_KEY = "encrypt-key-for-tests"
TOKEN = "verification-token-for-tests"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
MESSAGES = "/open-apis/im/v1/messages"


@dataclass
class Feishu:
    """The bot with a Feishu adapter, its web server, the fake platform and an event maker."""

    app: App
    adapter: FeishuAdapter
    fake: FakeFeishu
    events: FeishuEvents
    url: str
    http: aiohttp.ClientSession

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.http.post(self.url, data=body, headers=headers or {}) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None

    async def deliver(self, payload: dict[str, Any]) -> tuple[int, Any]:
        """POST one event as Feishu would, then wait for its processing."""
        answer = await self.post(*self.events.seal(payload))
        await self.app.dispatcher.drain_background()
        return answer

    async def say(self, open_id: str, text: str) -> list[str]:
        before = len(self.fake.texts(open_id))
        status, _ = await self.deliver(self.events.text(open_id, text))
        assert status == 200
        return self.fake.texts(open_id)[before:]

    async def tap(self, open_id: str, payload: str) -> list[str]:
        before = len(self.fake.texts(open_id))
        status, body = await self.deliver(self.events.card_action(open_id, payload))
        assert (status, body) == (200, {})
        return self.fake.texts(open_id)[before:]


def feishu_settings(settings: Settings, fake: FakeFeishu, **extra: Any) -> Settings:
    values = {
        "feishu_app_id": fake.app_id,
        "feishu_app_secret": fake.app_secret,
        "feishu_encrypt_key": ENCRYPT_KEY,
        "feishu_verification_token": TOKEN,
        "feishu_domain": fake.url,
        **extra,
    }
    return settings.model_copy(update=values)


@pytest.fixture
async def fake() -> AsyncIterator[FakeFeishu]:
    server = FakeFeishu()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def feishu(app: App, fake: FakeFeishu, settings: Settings) -> AsyncIterator[Feishu]:
    adapter = FeishuAdapter(
        settings=feishu_settings(settings, fake),
        cache=SharedCache(app.db, app.clock),
        clock=app.clock,
    )
    app.add_adapter(adapter)
    web = WebServer(app.db, "127.0.0.1", 0)
    web.add_routes(adapter.routes())
    await web.start()
    await adapter.start()
    events = FeishuEvents(encrypt_key=ENCRYPT_KEY, verification_token=TOKEN, app_id=fake.app_id)
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{web.bound_port}/feishu/events"
        yield Feishu(app, adapter, fake, events, url, http)
    await app.dispatcher.drain_background()
    await adapter.stop()
    await web.stop()


async def inbound_count(app: App) -> int:
    async with app.db.session() as session:
        return int((await session.exec(select(func.count()).select_from(InboundEvent))).one())


# ---- the journey --------------------------------------------------------------------------


async def test_candidate_and_hr_journey(feishu: Feishu) -> None:
    app, fake = feishu.app, feishu.fake
    hr = await add_staff(app, "王芳", "hr", user="ou_hr", platform="feishu")
    first, _ = await add_candidate(app, "张三", hr=hr, school="北京大学")
    second, _ = await add_candidate(app, "张三", hr=hr, school="清华大学")
    _, code = await add_candidate(app, "李雷", hr=hr)

    replies = await feishu.say("ou_lilei", f"/start {code}")
    assert "欢迎你，李雷" in replies[0]
    assert any("李雷" in text and "飞书" in text for text in fake.texts("ou_hr"))
    assert "李雷，你的入职准备已完成 0%" in (await feishu.say("ou_lilei", "/progress"))[0]

    # The offer: binding asks for it with card buttons; tapping "accept" records it.
    if not any(p.endswith(":accept") for _, p in fake.buttons("ou_lilei")):
        await feishu.say("ou_lilei", "/offer")
    accept = next(p for _, p in fake.buttons("ou_lilei") if p.endswith(":accept"))
    assert await feishu.tap("ou_lilei", accept)
    async with app.db.session() as session:
        lilei = (await people.find_candidates(session=session, name="李雷"))[0]
    assert lilei.offer_status == "accepted"

    # HR: two candidates share a name -> a card whose buttons carry our payloads.
    assert "找到 2 位同名候选人" in (await feishu.say("ou_hr", "/status 张三"))[0]
    buttons = fake.buttons("ou_hr")
    assert [payload for _, payload in buttons] == [f"st:{first.id}", f"st:{second.id}"]
    shown = await feishu.tap("ou_hr", f"st:{second.id}")
    assert "清华大学" in shown[0] and "北京大学" not in shown[0]

    # A photo reaches the dispatcher; download() returns its exact bytes.
    fake.resources[("om_photo", "img_v2_user")] = PNG
    photo = feishu.events.message(
        "ou_lilei", "image", {"image_key": "img_v2_user"}, message_id="om_photo"
    )
    before = len(fake.to("ou_lilei"))
    assert (await feishu.deliver(photo))[0] == 200
    assert len(fake.to("ou_lilei")) > before  # answered (no /docs dialog is open)
    async with app.db.session() as session:
        stored = (await session.exec(select(InboundEvent))).all()
    found = [a for e in stored for a in (e.payload or {})["attachments"]]
    attachment = Attachment(AttachmentKind(found[0][0]), found[0][1])
    assert attachment.file_id == "om_photo:img_v2_user:image"
    assert await feishu.adapter.download(attachment) == PNG

    # /docs: a checklist card; its item button opens the upload step.
    listing = await feishu.say("ou_lilei", "材料")
    assert "⬜ 身份证正面：未提交" in listing[0]
    docs = dict(fake.buttons("ou_lilei"))
    pick = docs["⬜ 身份证正面"]
    assert pick.startswith("f:docs:") and pick.endswith(":id_front")
    assert "请发送「身份证正面」" in (await feishu.tap("ou_lilei", pick))[0]

    # A real JPEG arrives as an encrypted, signed image event and is downloaded.
    buf = io.BytesIO()
    Image.new("RGB", (64, 40), "red").save(buf, "JPEG")
    jpeg = buf.getvalue()
    fake.resources[("om_id_front", "img_v2_id_front")] = jpeg
    id_front = feishu.events.message(
        "ou_lilei", "image", {"image_key": "img_v2_id_front"}, message_id="om_id_front"
    )
    hr_before, images_before = len(fake.to("ou_hr")), len(fake.calls("/open-apis/im/v1/images"))
    before = len(fake.texts("ou_lilei"))
    assert (await feishu.deliver(id_front))[0] == 200
    replies = fake.texts("ou_lilei")[before:]
    assert "已收到「身份证正面」" in replies[0]
    assert "⏳ 身份证正面：已提交，待审核" in replies[1]
    downloads = fake.calls(f"{MESSAGES}/om_id_front/resources/img_v2_id_front")
    assert len(downloads) == 1 and downloads[0].query["type"] == "image"
    # HR: the notice with approve / reject buttons, then the photo itself.
    notice, photo_message = fake.to("ou_hr")[hr_before:]
    assert "李雷（研发中心）提交了「身份证正面」" in fake.texts("ou_hr")[hr_before]
    assert [p[-2:] for _, p in fake.buttons("ou_hr")] == [":a", ":r"]
    assert notice["msg_type"] == "interactive" and photo_message["msg_type"] == "image"
    assert len(fake.calls("/open-apis/im/v1/images")) == images_before + 1
    assert same_picture(fake.uploads[photo_message["content"]["image_key"]][1], jpeg)
    done = next(p for label, p in fake.buttons("ou_lilei") if label == "先到这里")
    await feishu.tap("ou_lilei", done)

    # /quiz: pick a course, start, answer the first question with its button.
    assert "岗前培训" in (await feishu.say("ou_lilei", "培训"))[0]
    culture = next(p for label, p in fake.buttons("ou_lilei") if "企业文化" in label)
    assert "客户第一、务实创新" in (await feishu.tap("ou_lilei", culture))[0]
    start = dict(fake.buttons("ou_lilei"))["开始答题"]
    assert "第 1/4 题" in (await feishu.tap("ou_lilei", start))[0]
    course = app.content.course("culture")
    assert course is not None
    letters = dict(fake.buttons("ou_lilei"))
    assert list(letters) == ["A", "B", "C", "D"]
    feedback = await feishu.tap("ou_lilei", letters[course.questions[0].answer])
    assert "回答正确" in feedback[0] and "第 2/4 题" in feedback[1]

    # Every send: p2p by open_id, a uuid, our token (fetched once).
    creates = fake.calls(MESSAGES)
    assert creates and all(c.query == {"receive_id_type": "open_id"} for c in creates)
    assert all(
        c.body["uuid"] and c.headers["Authorization"] == f"Bearer {fake.tenant_token}"
        for c in creates
    )
    assert len({c.body["uuid"] for c in creates}) == len(creates)
    assert len(fake.calls("/open-apis/auth/v3/tenant_access_token/internal")) == 1


async def test_challenge_and_events_we_do_not_handle(feishu: Feishu) -> None:
    assert await feishu.deliver(feishu.events.challenge("ch-123")) == (200, {"challenge": "ch-123"})
    bad = feishu.events.challenge("ch-123", token="forged")
    assert (await feishu.deliver(bad))[0] == 403
    # A verified event of a type we do not handle is acknowledged (no redelivery), not stored.
    read = feishu.events.envelope("im.message.message_read_v1", {"reader": {}})
    assert (await feishu.deliver(read))[0] == 200
    assert await inbound_count(feishu.app) == 0


async def test_redelivered_events_have_one_effect(feishu: Feishu) -> None:
    app, fake = feishu.app, feishu.fake
    hr = await add_staff(app, "王芳", "hr", user="ou_hr", platform="feishu")
    first, _ = await add_candidate(app, "张三", hr=hr)
    await add_candidate(app, "张三", hr=hr)
    message = feishu.events.text("ou_hr", "/status 张三")
    tap = feishu.events.card_action("ou_hr", f"st:{first.id}")
    for payload in (message, tap):
        for _ in range(3):  # freshly encrypted and signed each time, same event_id
            assert (await feishu.deliver(payload))[0] == 200
    assert len(fake.to("ou_hr")) == 2
    assert await inbound_count(app) == 2


# ---- refusals -----------------------------------------------------------------------------


async def test_forged_events_are_refused_and_not_processed(feishu: Feishu) -> None:
    events = feishu.events
    body, headers = events.seal(events.text("ou_x", "/help"))
    tampered = {**headers, "X-Lark-Signature": "0" * 64}
    assert (await feishu.post(body, tampered))[0] == 401
    assert (await feishu.post(body, {}))[0] == 401
    assert (await feishu.post(*events.seal(events.text("ou_x", "/help"), key="other-key")))[
        0
    ] == 401
    wrong_token = events.text("ou_x", "/help")
    wrong_token["header"]["token"] = "forged"
    assert (await feishu.post(*events.seal(wrong_token)))[0] == 403
    plain = json.dumps(events.text("ou_x", "/help")).encode()
    assert (await feishu.post(plain, events.sign(plain, "guessed-key")))[0] == 401
    await feishu.app.dispatcher.drain_background()
    assert await inbound_count(feishu.app) == 0
    assert feishu.fake.calls(MESSAGES) == []


async def test_stale_timestamps_are_refused(feishu: Feishu) -> None:
    """Signed correctly but sent (or replayed) outside Feishu's retry span: 401, not stored."""
    events = feishu.events
    now = time.time()
    for offset in (-payloads.TIMESTAMP_WINDOW - 60, payloads.TIMESTAMP_WINDOW + 60):
        body, headers = events.seal(events.text("ou_x", "/help"), timestamp=now + offset)
        assert (await feishu.post(body, headers))[0] == 401
    # Feishu retries for hours (15 s, 5 min, 1 h, 6 h), so a six-hour-old retry is fine.
    body, headers = events.seal(events.text("ou_x", "/help"), timestamp=now - 6 * 3600)
    assert (await feishu.post(body, headers))[0] == 200
    await feishu.app.dispatcher.drain_background()
    assert await inbound_count(feishu.app) == 1


async def test_malformed_and_oversized_bodies(feishu: Feishu) -> None:
    events = feishu.events
    assert (await feishu.post(b"{not json", events.sign(b"{not json")))[0] == 400
    assert (await feishu.post(b"[1, 2]", events.sign(b"[1, 2]")))[0] == 400
    huge = b'{"encrypt": "' + b"A" * (1024 * 1024 + 10) + b'"}'
    assert (await feishu.post(huge, events.sign(huge)))[0] == 413
    assert await feishu.say("ou_x", "/help")  # still serving
    assert await inbound_count(feishu.app) == 1


# ---- sending ------------------------------------------------------------------------------


async def test_rate_limit_honoured_and_gone_recipient_flagged(
    feishu: Feishu, clock: FixedClock
) -> None:
    fake = feishu.fake
    fake.fail_next.append(
        Failure(429, {"code": 99991400, "msg": "too many"}, {"x-ogw-ratelimit-reset": "7"})
    )
    assert await feishu.say("ou_x", "/help") == []
    clock.advance(timedelta(seconds=5))
    assert await feishu.app.courier.drain() == 0
    clock.advance(timedelta(seconds=3))
    assert await feishu.app.courier.drain() == 1
    assert len(fake.to("ou_x")) == 1
    first, second = fake.calls(MESSAGES)
    assert first.body["uuid"] == second.body["uuid"]
    # A recipient Feishu says is gone is flagged unreachable.
    fake.fail_next.append(Failure(400, {"code": 230013, "msg": "Bot has NO availability"}))
    await feishu.say("ou_gone", "/help")
    async with feishu.app.db.session() as session:
        identity = await people.get_identity(session=session, platform="feishu", user_id="ou_gone")
    assert identity is not None and identity.unreachable


async def test_retried_send_reuses_its_uuid(feishu: Feishu, clock: FixedClock) -> None:
    fake = feishu.fake
    # The message gets through but the answer is lost: the courier retries it later.
    fake.fail_next.append(Failure(500, {"code": 2200, "msg": "internal"}, deliver=True))
    assert len(await feishu.say("ou_x", "/help")) == 1
    clock.advance(timedelta(seconds=31))
    assert await feishu.app.courier.drain() == 1
    first, second = fake.calls(MESSAGES)
    assert first.body["uuid"] == second.body["uuid"]
    assert len(fake.to("ou_x")) == 1
    # Asking again is a new message, with a new uuid, and is delivered.
    assert len(await feishu.say("ou_x", "/help")) == 1
    assert len({c.body["uuid"] for c in fake.calls(MESSAGES)}) == 2


async def test_rendering_and_files(feishu: Feishu, tmp_path: Path) -> None:
    fake, adapter = feishu.fake, feishu.adapter
    guide = tmp_path / "guide.pdf"
    guide.write_bytes(b"%PDF-1.4 guide")
    message = Outgoing(
        "Hi **Li**",
        links=(Link("Handbook", "https://example.com/h"),),
        files=(
            OutgoingFile(AttachmentKind.PHOTO, "map.png", data=PNG),
            OutgoingFile(AttachmentKind.FILE, "guide.pdf", path=str(guide)),
        ),
    )
    await adapter.send(ChatAddress("feishu", "ou_a", "ou_a"), message)
    post, image, document = fake.to("ou_a")
    assert post["msg_type"] == "post"
    rows = post["content"]["zh_cn"]["content"]
    assert rows[0] == [
        {"tag": "text", "text": "Hi "},
        {"tag": "text", "text": "Li", "style": ["bold"]},
    ]
    assert rows[1] == [{"tag": "a", "text": "Handbook", "href": "https://example.com/h"}]
    assert fake.uploads[image["content"]["image_key"]][1] == PNG
    assert fake.uploads[document["content"]["file_key"]] == ("guide.pdf", b"%PDF-1.4 guide")
    assert fake.calls("/open-apis/im/v1/files")[0].body["file_type"] == "pdf"
    # A group chat is addressed by chat_id; the same picture is not uploaded twice.
    group = Outgoing("", files=(OutgoingFile(AttachmentKind.PHOTO, "map.png", data=PNG),))
    await adapter.send(ChatAddress("feishu", "ou_a", "oc_group"), group)
    assert fake.to("oc_group")[0]["receive_id_type"] == "chat_id"
    assert len(fake.calls("/open-apis/im/v1/images")) == 1
    card = Outgoing("Pick", buttons=(Button("Yes", "ok:1"), Button("No", "ok:0")))
    await adapter.send(ChatAddress("feishu", "ou_a", "ou_a"), card)
    assert fake.buttons("ou_a") == [("Yes", "ok:1"), ("No", "ok:0")]


async def test_token_is_shared_between_processes(
    app: App, fake: FakeFeishu, settings: Settings
) -> None:
    config = feishu_settings(settings, fake)
    for user in ("ou_1", "ou_2"):  # two adapters = two processes sharing the database
        adapter = FeishuAdapter(
            settings=config, cache=SharedCache(app.db, app.clock), clock=app.clock
        )
        await adapter.start()
        await adapter.send(ChatAddress("feishu", user, user), Outgoing("hello"))
        await adapter.stop()
    assert len(fake.calls("/open-apis/auth/v3/tenant_access_token/internal")) == 1
    assert len(fake.messages) == 2


# ---- long connection ----------------------------------------------------------------------


async def test_long_connection_refused_starts_and_stops(
    app: App, fake: FakeFeishu, settings: Settings
) -> None:
    adapter = FeishuAdapter(
        settings=feishu_settings(settings, fake, feishu_mode="ws"),
        cache=SharedCache(app.db, app.clock),
        clock=app.clock,
    )
    assert adapter.routes() == []
    await adapter.start()
    await wait_for(lambda: fake.calls("/callback/ws/endpoint"))
    assert fake.calls("/callback/ws/endpoint")[0].body["AppID"] == fake.app_id
    thread = adapter._ws_thread
    assert thread is not None and thread.is_alive()  # waiting to reconnect
    await asyncio.wait_for(adapter.stop(), 3)
    assert not thread.is_alive()


async def test_long_connection_delivers_events(feishu_ws: Feishu) -> None:
    fake = feishu_ws.fake
    acks = lambda: [f for f in fake.ws_replies if f.method == 1]  # noqa: E731 (not pings)
    await wait_for(lambda: len(acks()) == 2)  # both frames answered
    assert all(json.loads(frame.payload)["code"] == 200 for frame in acks())
    await wait_for(lambda: len(fake.to("ou_ws")) == 1)
    assert await inbound_count(feishu_ws.app) == 1


@pytest.fixture
async def feishu_ws(app: App, fake: FakeFeishu, settings: Settings) -> AsyncIterator[Feishu]:
    events = FeishuEvents(encrypt_key=ENCRYPT_KEY, verification_token=TOKEN, app_id=fake.app_id)
    fake.accept_ws()
    hello = events.text("ou_ws", "/help")
    fake.ws_frames = [event_frame(hello), event_frame(hello, message_id="m2")]  # + redelivery
    adapter = FeishuAdapter(
        settings=feishu_settings(settings, fake, feishu_mode="ws"),
        cache=SharedCache(app.db, app.clock),
        clock=app.clock,
    )
    app.add_adapter(adapter)
    await adapter.start()
    async with aiohttp.ClientSession() as http:
        yield Feishu(app, adapter, fake, events, "", http)
    await asyncio.wait_for(adapter.stop(), 3)


# ---- payloads and wiring ------------------------------------------------------------------


def incoming(message_type: str, content: Any, chat_type: str = "p2p") -> Incoming:
    return payloads.message_incoming(
        event_id="e1",
        open_id="ou_1",
        chat_id="oc_1",
        chat_type=chat_type,
        message_id="om_1",
        message_type=message_type,
        content=json.dumps(content),
        received_at=START,
    )


def test_payload_parsing_and_errors() -> None:
    group = incoming("text", {"text": "@_user_1 /progress"}, chat_type="group")
    assert (group.text, group.sender.chat_id, group.extras["message_id"]) == (
        "/progress",
        "oc_1",
        "om_1",
    )
    file = incoming("file", {"file_key": "fk", "file_name": "cv.pdf"})
    assert file.sender.chat_id == "ou_1"  # p2p chats are addressed by open_id
    assert file.attachments == (Attachment(AttachmentKind.FILE, "om_1:fk:file", name="cv.pdf"),)
    rows = [[{"tag": "text", "text": "hi"}, {"tag": "img", "image_key": "ik"}]]
    post = incoming("post", {"title": "", "content": rows})
    assert post.text == "hi" and post.attachments[0].file_id == "om_1:ik:image"
    foreign = {"other": 1}  # a card button that is not ours
    tap = payloads.card_incoming(
        event_id="e",
        open_id="ou_1",
        value=foreign,
        open_chat_id=None,
        open_message_id=None,
        received_at=START,
    )
    assert tap is None
    assert payloads.resolve_domain("lark") == payloads.LARK_URL
    assert payloads.resolve_domain(None) == payloads.FEISHU_URL
    assert payloads.render_text("plain") == ("text", '{"text": "plain"}')
    limited = payloads.delivery_error("send", 400, 230020, "slow down", {})
    assert limited.retry_after == 1.0 and not limited.permanent
    assert payloads.delivery_error("send", 400, 230035, "blocked", {}).unreachable
    assert payloads.delivery_error("send", 400, 230001, "bad param", {}).permanent
    assert not payloads.delivery_error("send", 502, None, None, {}).permanent
    with pytest.raises(ValueError):
        payloads.split_file_id("no-colons")


def test_bot_app_does_not_import_lark() -> None:
    code = "import sys, bot.runtime.app, adapters; print('lark_oapi' in sys.modules)"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2]
    )
    assert (run.returncode, run.stdout.strip()) == (0, "False"), run.stderr
