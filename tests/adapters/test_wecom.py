"""The WeCom adapter against a fake WeCom, through encrypted callbacks and the real wechatpy."""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from PIL import Image
from sqlmodel import select

from adapters import build_platform_adapters
from adapters.ratelimit import RateLimiter, Window
from adapters.wecom import WeComAdapter
from adapters.wecom_payloads import PayloadError, parse_fields, split_text, to_incoming
from bot.core.cache import SharedCache
from bot.core.clock import FixedClock
from bot.core.messages import (
    Attachment,
    AttachmentKind,
    Button,
    ChatAddress,
    DeliveryError,
    Link,
    Outgoing,
    OutgoingFile,
)
from bot.core.settings import Settings
from bot.core.web import MAX_BODY, WebServer
from bot.runtime.app import App
from bot.runtime.logs import MaskingFilter
from storage import people
from storage.models import InboundEvent, Outbox
from tests.adapters.fake_wecom import FakeWeCom, WeComCallbacks
from tests.bot.helpers import add_candidate, add_staff, same_picture

CORP_ID = "ww5f0c1a2b3c4d5e6f"
SECRET = "app-secret-0123456789"
TOKEN = "CallbackToken42"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
AGENT_ID = 1000002


@dataclass
class Harness:
    app: App
    adapter: WeComAdapter
    fake: FakeWeCom
    callbacks: WeComCallbacks
    http: aiohttp.ClientSession
    web: WebServer

    async def settle(self) -> None:
        await self.app.dispatcher.drain_background()
        await self.adapter.drain()

    async def deliver(self, plain_xml: str, times: int = 1) -> list[int]:
        statuses = []
        params, body = self.callbacks.seal(plain_xml)
        for _ in range(times):
            status, text = await self.callbacks.post(self.http, params, body)
            assert text in ("", "success") or status != 200
            statuses.append(status)
        await self.settle()
        return statuses

    async def say(self, user: str, text: str) -> list[str]:
        before = len(self.fake.texts(user))
        assert await self.deliver(self.callbacks.text(user, text)) == [200]
        return self.fake.texts(user)[before:]

    async def tap(self, user: str, key_or_label: str) -> list[str]:
        """Tap the newest card button whose key is, or whose text contains, ``key_or_label``."""
        card, key = next(
            (c, b["key"])
            for c in reversed(self.fake.cards(user))
            for b in c["button_list"]
            if key_or_label == b["key"] or key_or_label in b["text"]
        )
        before = len(self.fake.texts(user))
        assert await self.deliver(self.callbacks.card_tap(user, key, card["task_id"])) == [200]
        return self.fake.texts(user)[before:]


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    server = FakeWeCom(CORP_ID, SECRET, AGENT_ID)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def wecom_settings(settings: Settings, fake: FakeWeCom) -> Settings:
    return settings.model_copy(
        update={
            "wecom_corp_id": CORP_ID,
            "wecom_agent_id": str(AGENT_ID),
            "wecom_secret": SECRET,
            "wecom_token": TOKEN,
            "wecom_aes_key": AES_KEY,
            "wecom_api_base_url": fake.base_url,
        }
    )


@pytest.fixture
async def wecom(
    app: App, wecom_settings: Settings, fake: FakeWeCom, clock: FixedClock
) -> AsyncIterator[Harness]:
    adapter = WeComAdapter(settings=wecom_settings, cache=SharedCache(app.db, clock), clock=clock)
    app.add_adapter(adapter)
    server = WebServer(app.db, "127.0.0.1", 0)
    server.add_routes(adapter.routes())
    await server.start()
    url = f"http://127.0.0.1:{server.bound_port}/wecom/callback"
    callbacks = WeComCallbacks(
        url, token=TOKEN, aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID
    )
    async with aiohttp.ClientSession() as http:
        yield Harness(app, adapter, fake, callbacks, http, server)
    await app.dispatcher.drain_background()
    await server.stop()
    await adapter.stop()


def card_key(fake: FakeWeCom, user: str, suffix: str) -> str:
    """The key of the newest card button for ``user`` whose key ends with ``suffix``."""
    return next(
        b["key"]
        for card in reversed(fake.cards(user))
        for b in card["button_list"]
        if b["key"].endswith(suffix)
    )


async def inbound_count(app: App) -> int:
    async with app.db.session() as session:
        return len((await session.exec(select(InboundEvent))).all())


# ---- the journey -----------------------------------------------------------------------------


async def test_candidate_and_hr_journey(wecom: Harness) -> None:
    app, fake = wecom.app, wecom.fake
    hr = await add_staff(app, "王芳", "hr", user="hr-wang", platform="wecom")
    _, code = await add_candidate(app, "张三", hr=hr, school="清华大学")
    await add_candidate(app, "张三", hr=hr, department="市场部", school="北京大学")

    replies = await wecom.say("zhangsan", f"/start {code}")
    assert "欢迎你，张三！" in replies[0]
    assert any("张三" in t and "绑定" in t for t in fake.texts("hr-wang"))
    # The offer question comes as a card; accepting is one tap.
    assert await wecom.tap("zhangsan", "接受") == [wecom.fake.texts("zhangsan")[-1]]
    assert "欢迎加入" in fake.texts("zhangsan")[-1]
    progress = await wecom.say("zhangsan", "/progress")
    assert "张三，你的入职准备已完成" in progress[0] and "✅ 确认 offer" in progress[0]

    # Two candidates share the name: HR gets a button card, taps one, sees that candidate.
    await wecom.say("hr-wang", "/status 张三")
    card = fake.cards("hr-wang")[-1]
    keys = [b["key"] for b in card["button_list"]]
    assert len(keys) == 2 and all(k.startswith("st:") for k in keys)
    assert "找到 2 位同名候选人" in card["main_title"]["title"]
    assert "北京大学" in card["sub_title_text"] and "清华大学" in card["sub_title_text"]
    async with app.db.session() as session:
        pku = next(
            c
            for c in await people.find_candidates(session=session, name="张三")
            if c.school == "北京大学"
        )
    shown = await wecom.tap("hr-wang", f"st:{pku.id}")
    assert "👤 张三 · 市场部" in shown[0]
    # The tapped card is greyed out through the response code WeCom gave with the tap.
    update = fake.calls("message/update_template_card")[-1].body
    assert update == {
        "userids": ["hr-wang"],
        "agentid": AGENT_ID,
        "response_code": f"RC-{card['task_id']}",
        "button": {"replace_name": "✓"},
    }

    # A photo reaches the dispatcher and its bytes come back through media/get.
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
    fake.media["PHOTO-1"] = (photo, "id.jpg")
    before = len(fake.texts("zhangsan"))
    await wecom.deliver(wecom.callbacks.image("zhangsan", "PHOTO-1"))
    assert "发送「材料」" in fake.texts("zhangsan")[before]  # a stray file: pointed to /docs
    async with app.db.session() as session:
        events = (await session.exec(select(InboundEvent))).all()
    stored = next(e for e in events if e.payload and e.payload["attachments"])
    kind, file_id, *_ = stored.payload["attachments"][0]  # type: ignore[index]
    assert (kind, file_id) == ("photo", "PHOTO-1")
    data = await wecom.adapter.download(Attachment(AttachmentKind.PHOTO, file_id))
    assert data == photo

    # /docs: the checklist comes as cards; tapping an item asks for its photo.
    assert any("身份证正面" in t for t in await wecom.say("zhangsan", "材料"))
    key = card_key(fake, "zhangsan", ":id_front")
    assert key.startswith("f:docs:")
    asked = await wecom.tap("zhangsan", key)
    assert any("身份证正面" in t for t in asked)
    # A real JPEG, sent as an encrypted image callback and fetched through media/get.
    buf = io.BytesIO()
    Image.new("RGB", (64, 40), "red").save(buf, "JPEG")
    jpeg = buf.getvalue()
    fake.media["ID-FRONT-1"] = (jpeg, "id_front.jpg")
    hr_before = len(fake.sent("hr-wang"))
    uploads_before = len(fake.calls("media/upload"))
    before = len(fake.texts("zhangsan"))
    assert await wecom.deliver(wecom.callbacks.image("zhangsan", "ID-FRONT-1")) == [200]
    assert any(r.query.get("media_id") == "ID-FRONT-1" for r in fake.calls("media/get"))
    assert any("已收到「身份证正面」" in t for t in fake.texts("zhangsan")[before:])
    # HR gets the review notice with approve / reject buttons and the photo itself.
    to_hr = fake.sent("hr-wang")[hr_before:]
    assert any(
        "张三" in t and "提交了「身份证正面」" in t for t in fake.texts("hr-wang")[hr_before:]
    )
    review_keys = [
        b["key"]
        for body in to_hr
        if body["msgtype"] == "template_card"
        for b in body["template_card"]["button_list"]
    ]
    assert any(k.startswith("dr:") and k.endswith(":a") for k in review_keys)
    uploads = fake.calls("media/upload")[uploads_before:]
    assert len(uploads) == 1 and uploads[0].query.get("type") == "image"
    images = [b for b in to_hr if b["msgtype"] == "image"]
    assert len(images) == 1
    assert same_picture(fake.media[images[0]["image"]["media_id"]][0], jpeg)

    # /quiz: pick a course, start, answer the first question right.
    pick = await wecom.say("zhangsan", "培训")
    assert any("岗前培训" in t for t in pick)
    course = card_key(fake, "zhangsan", ":culture")
    assert course.startswith("f:quiz:")
    study = await wecom.tap("zhangsan", course)
    assert any("开始答题" in t for t in study)
    question = await wecom.tap("zhangsan", "开始答题")
    assert any("第 1/" in t for t in question)
    feedback = await wecom.tap("zhangsan", card_key(fake, "zhangsan", ":B"))
    assert any("回答正确" in t for t in feedback)
    assert any("第 2/" in t for t in feedback)
    # Everything went through the one token fetched at the start.
    assert fake.token_fetches == 1


async def test_redeliveries_have_one_effect(wecom: Harness) -> None:
    app, fake = wecom.app, wecom.fake
    hr = await add_staff(app, "王芳", "hr", user="hr-wang", platform="wecom")
    await add_candidate(app, "张三", hr=hr)
    await add_candidate(app, "张三", hr=hr, department="市场部")
    status = wecom.callbacks.text("hr-wang", "/status 张三")
    assert await wecom.deliver(status, times=3) == [200] * 3
    assert len(fake.sent("hr-wang")) == 1
    card = fake.cards("hr-wang")[0]
    key = card["button_list"][0]["key"]
    tap = wecom.callbacks.card_tap("hr-wang", key, card["task_id"], create_time=1780000000)
    assert await wecom.deliver(tap, times=3) == [200] * 3
    assert len(fake.sent("hr-wang")) == 2
    assert len(fake.calls("message/update_template_card")) == 1
    assert await inbound_count(app) == 2


# ---- refusing bad requests -------------------------------------------------------------------


async def test_bad_signature_is_refused_and_nothing_processed(wecom: Harness) -> None:
    params, body = wecom.callbacks.seal(wecom.callbacks.text("u1", "/help"))
    forged = dict(params, msg_signature="0" * 40)
    assert (await wecom.callbacks.post(wecom.http, forged, body))[0] == 403
    other = WeComCallbacks(
        wecom.callbacks.url, token="WrongToken", aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID
    )
    assert (await other.deliver(wecom.http, other.text("u1", "/help")))[0] == 403
    await wecom.settle()
    assert await inbound_count(wecom.app) == 0
    assert wecom.fake.calls("message/send") == []


async def test_url_verification(wecom: Harness) -> None:
    url = wecom.callbacks.url
    params = wecom.callbacks.verification("1234567890123456789")
    async with wecom.http.get(url, params=params) as resp:
        assert resp.status == 200 and await resp.text() == "1234567890123456789"
    async with wecom.http.get(url, params=dict(params, msg_signature="f" * 40)) as resp:
        assert resp.status == 403 and "1234567890123456789" not in await resp.text()
    async with wecom.http.get(url, params={"echostr": "x"}) as resp:
        assert resp.status == 400


async def test_oversized_and_malformed_bodies(wecom: Harness) -> None:
    callbacks, http = wecom.callbacks, wecom.http
    params, _ = callbacks.seal(callbacks.text("u1", "/help"))
    assert (await callbacks.post(http, params, b"<xml>" + b"x" * MAX_BODY + b"</xml>"))[0] == 413
    assert (await callbacks.post(http, params, "<xml><Encrypt>oops"))[0] == 400
    assert (await callbacks.post(http, params, "<xml><ToUserName>x</ToUserName></xml>"))[0] == 400
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    assert (await callbacks.post(http, params, bomb))[0] == 400
    assert (await callbacks.post(http, {}, "<xml/>"))[0] == 400
    # Correctly signed, but the ciphertext is garbage, or the plaintext is not XML.
    garbage = base64.b64encode(b"not a real ciphertext, 32 bytes!").decode()
    body = f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>"
    sealed, _ = callbacks.seal("ignored")
    from wechatpy.utils import WeChatSigner

    signer = WeChatSigner()
    signer.add_data(TOKEN, sealed["timestamp"], sealed["nonce"], garbage)
    signed = dict(sealed, msg_signature=signer.signature)
    assert (await callbacks.post(http, signed, body))[0] == 400
    assert (await callbacks.deliver(http, "this is not xml"))[0] == 400
    assert (await callbacks.deliver(http, "<xml><MsgType>text</MsgType></xml>"))[0] == 400
    await wecom.settle()
    assert await inbound_count(wecom.app) == 0
    # The server keeps serving.
    assert "/bind" in "".join(await wecom.say("u1", "/help"))


async def test_ignored_events_are_acknowledged(wecom: Harness) -> None:
    assert await wecom.deliver(wecom.callbacks.event("u1", "enter_agent")) == [200]
    assert await inbound_count(wecom.app) == 0


# ---- delivery outcomes ---------------------------------------------------------------------


async def test_rate_limit_is_honoured_and_nothing_lost(wecom: Harness, clock: FixedClock) -> None:
    fake = wecom.fake
    fake.send_results.append({"errcode": 45009, "errmsg": "api freq out of limit"})
    assert await wecom.say("u1", "/help") == []
    async with wecom.app.db.session() as session:
        row = (await session.exec(select(Outbox))).one()
    assert row.status == "pending" and "45009" in (row.last_error or "")
    due = row.due_at.replace(tzinfo=None)
    assert due >= (clock.now() + timedelta(seconds=59)).replace(tzinfo=None)
    assert await wecom.app.courier.drain() == 0  # not before the wait is over
    clock.advance(timedelta(seconds=61))
    assert await wecom.app.courier.drain() == 1
    assert "/bind" in fake.texts("u1")[0]
    first, second = (
        {k: v for k, v in r.body.items() if k != "_accepted"} for r in fake.calls("message/send")
    )
    assert first == second


async def test_invalid_user_marks_identity_unreachable_and_tells_hr(wecom: Harness) -> None:
    app, fake = wecom.app, wecom.fake
    hr = await add_staff(app, "王芳", "hr", user="hr-wang", platform="wecom")
    _, code = await add_candidate(app, "张三", hr=hr)
    await wecom.say("zhangsan", f"/start {code}")
    fake.invalid_users.add("zhangsan")
    assert await wecom.say("zhangsan", "/progress") == []
    async with app.db.session() as session:
        identity = await people.get_identity(session=session, platform="wecom", user_id="zhangsan")
    assert identity is not None and identity.unreachable
    assert any("无法通过企业微信联系到 张三" in t for t in fake.texts("hr-wang"))


async def test_token_cached_and_shared_between_processes(
    wecom: Harness, wecom_settings: Settings, clock: FixedClock
) -> None:
    fake, to = wecom.fake, ChatAddress("wecom", "u1", "u1")
    await wecom.adapter.send(to, Outgoing("one"))
    await wecom.adapter.send(to, Outgoing("two"))
    assert fake.token_fetches == 1
    # Another process on the same database reuses the token.
    other = WeComAdapter(
        settings=wecom_settings, cache=SharedCache(wecom.app.db, clock), clock=clock
    )
    await other.send(to, Outgoing("three"))
    assert fake.token_fetches == 1
    # WeCom says it expired: dropped everywhere, fetched again, the send retried once.
    fake.expire_tokens()
    await other.send(to, Outgoing("four"))
    assert fake.token_fetches == 2
    await wecom.adapter.send(to, Outgoing("five"))  # finds the new token in the shared cache
    assert fake.token_fetches == 2
    # After its lifetime it is fetched again.
    clock.advance(timedelta(hours=2))
    await wecom.adapter.send(to, Outgoing("six"))
    assert fake.token_fetches == 3
    assert fake.texts("u1") == ["one", "two", "three", "four", "five", "six"]
    await other.stop()


async def test_error_mapping(wecom: Harness) -> None:
    fake, adapter, to = wecom.fake, wecom.adapter, ChatAddress("wecom", "u1", "u1")
    cases: list[tuple[dict[str, Any] | int, dict[str, Any]]] = [
        ({"errcode": 45033, "errmsg": "concurrent"}, {"retry_after": 10.0}),
        ({"errcode": 81013, "errmsg": "user & party & tag all invalid"}, {"unreachable": True}),
        ({"errcode": 40058, "errmsg": "invalid parameter"}, {"permanent": True}),
        ({"errcode": -1, "errmsg": "system busy"}, {"permanent": False}),
        (500, {"permanent": False}),
        (429, {"retry_after": 60.0}),
    ]
    for answer, expected in cases:
        if isinstance(answer, int):
            fake.http_status.append(answer)
        else:
            fake.send_results.append(answer)
        with pytest.raises(DeliveryError) as caught:
            await adapter.send(to, Outgoing("hi"))
        for attr, value in expected.items():
            assert getattr(caught.value, attr) == value, (answer, attr)
    await fake.stop()  # network down: a plain error the courier retries
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(to, Outgoing("hi"))
    assert not caught.value.permanent and caught.value.retry_after is None


# ---- rendering -----------------------------------------------------------------------------


async def test_rendering_markdown_cards_and_files(wecom: Harness, tmp_path: Any) -> None:
    fake, adapter, to = wecom.fake, wecom.adapter, ChatAddress("wecom", "u1", "u1")
    await adapter.send(to, Outgoing("plain"))
    await adapter.send(
        to, Outgoing("**粗体** 和 链接", links=(Link("手册", "https://x.example/h"),))
    )
    sent = fake.sent("u1")
    assert sent[0]["msgtype"] == "text" and sent[0]["agentid"] == AGENT_ID
    assert sent[1] == {
        **sent[1],
        "msgtype": "markdown",
        "markdown": {"content": "**粗体** 和 链接\n[手册](https://x.example/h)"},
    }
    # Long text: split under 2048 bytes, then a card whose title is the last line.
    long = "\n".join(f"第 {n} 行：" + "内容" * 30 for n in range(60)) + "\n**请选择：**"
    buttons = tuple(Button(f"选项{n}", f"opt:{n}") for n in range(8))
    await adapter.send(to, Outgoing(long, buttons=buttons))
    new = fake.sent("u1")[2:]
    texts = [b for b in new if b["msgtype"] == "markdown"]
    assert len(texts) >= 2 and all(len(b["markdown"]["content"].encode()) <= 2048 for b in texts)
    joined = "".join(b["markdown"]["content"] for b in texts)
    assert joined.replace("\n", "") == long.replace("\n", "")
    cards = [b["template_card"] for b in new if b["msgtype"] == "template_card"]
    assert [len(c["button_list"]) for c in cards] == [6, 2]
    assert cards[0]["main_title"]["title"] == "请选择："
    assert [b["key"] for c in cards for b in c["button_list"]] == [f"opt:{n}" for n in range(8)]
    assert len({c["task_id"] for c in cards}) == 2
    # Files: uploaded as temporary media, then sent as an image or file message.
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "guide.pdf").write_bytes(b"%PDF-1.4 guide")
    await adapter.send(
        to,
        Outgoing(
            "附件",
            files=(
                OutgoingFile(AttachmentKind.PHOTO, "map.png", data=b"\x89PNG map"),
                OutgoingFile(AttachmentKind.FILE, "guide.pdf", path="guide.pdf"),
            ),
        ),
    )
    last = fake.sent("u1")[-3:]
    assert [b["msgtype"] for b in last] == ["text", "image", "file"]
    assert fake.media[last[1]["image"]["media_id"]] == (b"\x89PNG map", "map.png")
    assert fake.media[last[2]["file"]["media_id"]] == (b"%PDF-1.4 guide", "guide.pdf")


async def test_partial_failure_does_not_repeat_delivered_parts(wecom: Harness) -> None:
    fake, adapter, to = wecom.fake, wecom.adapter, ChatAddress("wecom", "u1", "u1")
    message = Outgoing("说明\n" + "很长的一段话。" * 30, buttons=(Button("好", "ok:1"),))
    await adapter.send(to, Outgoing("warm-up"))
    fake.send_results.extend([{"errcode": 0, "errmsg": "ok"}, {"errcode": 45009, "errmsg": "freq"}])
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(to, message)
    assert caught.value.retry_after == 60.0
    before = len(fake.calls("message/send"))
    await adapter.send(to, message)
    retried = fake.calls("message/send")[before:]
    assert [r.body["msgtype"] for r in retried] == ["template_card"]
    # The same message again later is sent whole.
    await adapter.send(to, message)
    assert [r.body["msgtype"] for r in fake.calls("message/send")[before + 1 :]] == [
        "text",
        "template_card",
    ]


async def test_per_member_rate_limit(wecom: Harness) -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    wecom.adapter.limiter = RateLimiter(
        per_key=Window(30, 60.0), monotonic=lambda: now[0], sleep=sleep
    )
    to = ChatAddress("wecom", "u1", "u1")
    await asyncio.gather(*(wecom.adapter.send(to, Outgoing(f"m{n}")) for n in range(31)))
    assert waits and sum(waits) == pytest.approx(60.0)
    assert len(wecom.fake.sent("u1")) == 31


async def test_build_from_settings(wecom_settings: Settings, app: App, clock: FixedClock) -> None:
    adapters = build_platform_adapters(
        wecom_settings, cache=SharedCache(app.db, clock), clock=clock
    )
    assert [a.platform for a in adapters] == ["wecom"]
    assert [r.path for r in adapters[0].routes()] == ["/wecom/callback", "/wecom/callback"]


# ---- parsing (no database) -------------------------------------------------------------------


def _xml(**fields: str) -> str:
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"


def test_parsing_message_kinds() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 6, 1, tzinfo=UTC)
    base = {"ToUserName": CORP_ID, "FromUserName": "lisi", "CreateTime": "1780000000"}
    text = to_incoming(_xml(**base, MsgType="text", Content="进度", MsgId="11", AgentID="1"), at)
    assert text and (text.text, text.event_id, text.sender.user_id) == ("进度", "11", "lisi")
    assert text.sender.chat_id == "lisi" and text.extras["agent_id"] == "1"
    file = to_incoming(_xml(**base, MsgType="file", MediaId="M1", FileName="a.pdf", MsgId="12"), at)
    assert file and file.attachments == (Attachment(AttachmentKind.FILE, "M1", "a.pdf"),)
    voice = to_incoming(_xml(**base, MsgType="voice", MediaId="V1", Format="amr", MsgId="13"), at)
    assert voice and voice.attachments[0].kind is AttachmentKind.VOICE
    tap = to_incoming(
        _xml(
            **base,
            MsgType="event",
            Event="template_card_event",
            EventKey="st:7",
            TaskId="pb-1",
            ResponseCode="RC",
        ),
        at,
    )
    assert tap and tap.payload == "st:7" and tap.event_id == "lisi:1780000000:st:7"
    assert tap.extras["task_id"] == "pb-1" and tap.extras["response_code"] == "RC"
    assert to_incoming(_xml(**base, MsgType="event", Event="enter_agent"), at) is None
    with pytest.raises(PayloadError):
        to_incoming(_xml(**base, MsgType="image", MsgId="14"), at)
    with pytest.raises(PayloadError):
        parse_fields("<xml><a>")


def test_split_text_respects_bytes() -> None:
    text = "短行\n" + "长" * 1500 + "\n" + "x" * 10
    chunks = split_text(text, 2000)
    assert all(len(c.encode()) <= 2000 for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")


# ---- hostile input -----------------------------------------------------------------------


async def test_stale_timestamps_are_refused(wecom: Harness) -> None:
    """A signed request older than five minutes is a replay, however good its signature."""
    month_ago = int(time.time()) - 30 * 86400
    params = wecom.callbacks.verification("1234567890123456789", timestamp=month_ago)
    async with wecom.http.get(wecom.callbacks.url, params=params) as resp:
        assert resp.status == 403 and "1234567890123456789" not in await resp.text()
    params, body = wecom.callbacks.seal(wecom.callbacks.text("u1", "/help"), int(time.time()) - 400)
    assert (await wecom.callbacks.post(wecom.http, params, body))[0] == 403
    garbled = dict(params, timestamp="１７００")
    assert (await wecom.callbacks.post(wecom.http, garbled, body))[0] == 403
    recent = int(time.time()) - 60  # WeCom's own retries come within seconds
    assert (
        await wecom.callbacks.deliver_at(wecom.http, wecom.callbacks.text("u1", "/help"), recent)
    )[0] == 200
    await wecom.settle()
    assert await inbound_count(wecom.app) == 1


async def test_secrets_never_reach_the_error_or_the_log(
    wecom_settings: Settings, app: App, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """With WeCom unreachable, requests quotes the gettoken URL, corpsecret included."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings = wecom_settings.model_copy(
        update={"wecom_api_base_url": f"http://127.0.0.1:{closed}/cgi-bin/"}
    )
    adapter = WeComAdapter(settings=settings, cache=SharedCache(app.db, clock), clock=clock)
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as failed:
        await adapter.send(ChatAddress("wecom", "u1", "u1"), Outgoing("hi"))
    assert SECRET not in failed.value.reason and "gettoken" in failed.value.reason
    handler = logging.StreamHandler(stream := io.StringIO())
    handler.addFilter(MaskingFilter(settings.secrets()))
    logging.getLogger("t").addHandler(handler)
    try:
        logging.getLogger("t").error("boom", exc_info=failed.value)
    finally:
        logging.getLogger("t").removeHandler(handler)
    assert SECRET not in stream.getvalue() and SECRET not in caplog.text
