"""The Telegram adapter against a fake Bot API server, through the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select
from telegram import Update

from adapters import telegram_payloads as tp
from adapters.ratelimit import RateLimiter
from adapters.telegram import OVERALL, PER_CHAT, WEBHOOK_PATH, TelegramAdapter
from bot.core.cache import SharedCache
from bot.core.clock import FixedClock
from bot.core.messages import (
    AttachmentKind,
    Button,
    ChatAddress,
    DeliveryError,
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
from tests.adapters.fake_telegram import TOKEN, FakeTelegram
from tests.bot.helpers import add_candidate, add_staff, same_picture

pytestmark = pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning"  # raised inside PTB's own RetryAfter
)
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
CANDIDATE, HR = 1001, 2001


class FakeTime:
    """A monotonic clock that moves only when someone sleeps (shared by limiter and server)."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # Like a real clock, a sleep always moves time on a little: with exactly
        # `now += seconds`, float rounding can leave an expired entry in the
        # RateLimiter's window that lets sends through at a frozen instant.
        self.now += seconds + 1e-6
        await asyncio.sleep(0)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def tg_settings(base: Settings, fake: FakeTelegram, **more: object) -> Settings:
    values = {"telegram_bot_token": TOKEN, "telegram_api_base_url": fake.api_base, **more}
    return base.model_copy(update=values)


@pytest.fixture
def plain_settings(tmp_path: Path) -> Settings:
    """Settings for tests that need no database."""
    return Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.close()


def adapter_for(app: App, settings: Settings, **kwargs: object) -> TelegramAdapter:
    cache = SharedCache(app.db, app.clock)
    adapter = TelegramAdapter(settings=settings, cache=cache, clock=app.clock, **kwargs)  # type: ignore[arg-type]
    app.add_adapter(adapter)
    return adapter


@pytest.fixture
async def polling(
    app: App, fake: FakeTelegram, settings: Settings
) -> AsyncIterator[TelegramAdapter]:
    adapter = adapter_for(app, tg_settings(settings, fake), limiter=RateLimiter(), poll_timeout=5)
    await adapter.start()
    yield adapter
    await adapter.stop()


@pytest.fixture
async def webhook(
    app: App, fake: FakeTelegram, settings: Settings
) -> AsyncIterator[tuple[TelegramAdapter, WebServer]]:
    configured = tg_settings(settings, fake, telegram_webhook_secret="s3cret-Token_1")
    adapter = adapter_for(app, configured, limiter=RateLimiter())
    web = WebServer(app.db, "127.0.0.1", 0)  # mounted the way App.run_platforms does
    web.add_routes(adapter.routes())
    await web.start()
    url = f"http://127.0.0.1:{web.bound_port}{WEBHOOK_PATH}"
    adapter.settings = configured.model_copy(update={"telegram_webhook_url": url})
    await adapter.start()
    yield adapter, web
    await adapter.stop()
    await web.stop()
    await app.dispatcher.drain_background()


async def settle(fake: FakeTelegram) -> None:
    """Wait until every queued update was fetched and its batch handled (the next poll came)."""
    await until(lambda: not fake.updates)
    polls = fake.calls_to("getUpdates")
    last = max(i for i, call in enumerate(polls) if call.served)
    await until(lambda: len(fake.calls_to("getUpdates")) > last + 1)


async def inbound_count(app: App) -> int:
    async with app.db.session() as session:
        return len((await session.exec(select(InboundEvent))).all())


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 40), "red").save(out, "JPEG")
    return out.getvalue()


# ---- pure translation ----------------------------------------------------------------


def test_html_rendering_never_breaks_markup() -> None:
    text = "**张三** <script>&amp; a*b** ** <b>x</b>"
    assert (
        tp.render_html(text) == "<b>张三</b> &lt;script&gt;&amp;amp; a*b** ** &lt;b&gt;x&lt;/b&gt;"
    )
    assert tp.render_html("**<i>**") == "<b>&lt;i&gt;</b>"
    assert tp.plain_text("a **b** c") == "a b c"
    long = "\n".join(f"line {i} " + "字" * 50 for i in range(200))
    pieces = tp.split_text(long)
    assert len(pieces) > 1 and all(tp.utf16_len(p) <= tp.CHUNK for p in pieces)
    assert "\n".join(pieces) == long
    assert all(tp.utf16_len(p) <= tp.CHUNK for p in tp.split_text("x" * 10_000))


def test_keyboard_and_links() -> None:
    short = tp.keyboard([Button("是", "q:1"), Button("否", "q:2"), Button("跳过", "q:3")], [])
    assert short is not None
    assert [[b.callback_data for b in row] for row in short.inline_keyboard] == [
        ["q:1", "q:2"],
        ["q:3"],
    ]
    long = tp.keyboard(
        [Button("张三 · 研发中心 · 清华大学", "st:1")], [Link("手册", "https://x.y")]
    )
    assert long is not None
    assert long.inline_keyboard[0][0].callback_data == "st:1"
    assert long.inline_keyboard[1][0].url == "https://x.y"
    assert tp.keyboard([], []) is None
    assert not tp.is_button_url("mailto:hr@example.com")
    assert tp.file_base_url("http://127.0.0.1:81/bot") == "http://127.0.0.1:81/file/bot"
    assert tp.file_base_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"


def test_updates_become_incoming() -> None:
    fake = FakeTelegram()

    def parse(data: dict[str, object]) -> Incoming | None:
        return tp.parse_update(Update.de_json(data, None), now=NOW)

    msg = parse(fake.message(CANDIDATE, "/start@preboard_bot ABC"))
    assert msg is not None and msg.text == "/start@preboard_bot ABC"
    assert (msg.sender.platform, msg.sender.user_id, msg.sender.chat_id) == (
        "telegram",
        "1001",
        "1001",
    )
    assert msg.event_id.isdigit() and msg.extras["update_id"] == int(msg.event_id)
    photo = parse(fake.photo(CANDIDATE, b"\xff\xd8big-photo", caption="身份证"))
    assert photo is not None and photo.text == "身份证"
    (att,) = photo.attachments
    assert att.kind is AttachmentKind.PHOTO and att.size == len(b"\xff\xd8big-photo")
    doc = {
        "file_id": "d1",
        "file_unique_id": "d",
        "file_name": "a.pdf",
        "mime_type": "application/pdf",
    }
    voice = {"file_id": "v1", "file_unique_id": "v", "duration": 2}
    note = {"file_id": "n1", "file_unique_id": "n", "length": 240, "duration": 2}
    mixed = parse(fake.message(CANDIDATE, document=doc, voice=voice, video_note=note))
    assert mixed is not None
    assert [(a.kind, a.file_id) for a in mixed.attachments] == [
        (AttachmentKind.FILE, "d1"),
        (AttachmentKind.VOICE, "v1"),
        (AttachmentKind.VIDEO, "n1"),
    ]
    named = fake.message(CANDIDATE, "hi")
    named["message"]["from"].update(first_name="长" * 64, last_name="名" * 64)
    long_name = parse(named)
    assert long_name is not None and long_name.sender.display_name == ("长" * 64 + " " + "名" * 35)
    group = fake.message(CANDIDATE, "/progress")
    group["message"]["chat"] = {"id": -5, "type": "group", "title": "g"}
    assert parse(group) is None
    assert parse({"update_id": 5, "edited_message": fake.message(1, "x")["message"]}) is None


def test_adapter_configuration(plain_settings: Settings) -> None:
    settings = plain_settings
    cache: SharedCache = None  # type: ignore[assignment]
    custom = settings.model_copy(
        update={"telegram_bot_token": TOKEN, "telegram_api_base_url": "http://127.0.0.1:9/bot"}
    )
    adapter = TelegramAdapter(settings=custom, cache=cache, clock=FixedClock(NOW))
    assert adapter.bot.base_url == f"http://127.0.0.1:9/bot{TOKEN}"
    assert adapter.bot.base_file_url == f"http://127.0.0.1:9/file/bot{TOKEN}"
    assert not adapter.webhook_mode and len(adapter.secret) == 64
    explicit = custom.model_copy(update={"telegram_file_base_url": "http://files:1/f/bot"})
    adapter = TelegramAdapter(settings=explicit, cache=cache, clock=FixedClock(NOW))
    assert adapter.bot.base_file_url == f"http://files:1/f/bot{TOKEN}"
    public = settings.model_copy(update={"telegram_bot_token": TOKEN})
    adapter = TelegramAdapter(settings=public, cache=cache, clock=FixedClock(NOW))
    assert adapter.bot.base_url == f"https://api.telegram.org/bot{TOKEN}"
    # Production pace: at most 1 a second per chat and 30 a second overall, spread out.
    assert adapter.limiter.per_key == (PER_CHAT,) and adapter.limiter.overall == OVERALL
    assert PER_CHAT.count == 1 and PER_CHAT.seconds >= 1.0
    assert all(w.count <= 30 for w in OVERALL if w.seconds >= 1.0)
    assert any(w.count == 1 and w.seconds > 0 for w in OVERALL)  # never two at one instant


async def test_start_refuses_bad_token_and_secret(
    plain_settings: Settings, fake: FakeTelegram
) -> None:
    from bot.core.errors import StartupError

    clock = FixedClock(NOW)
    wrong = tg_settings(plain_settings, fake, telegram_bot_token="1:wrong")
    adapter = TelegramAdapter(settings=wrong, cache=None, clock=clock)  # type: ignore[arg-type]
    with pytest.raises(StartupError, match="rejected TELEGRAM_BOT_TOKEN") as refused:
        await adapter.start()
    assert "1:wrong" not in str(refused.value)
    await adapter.stop()
    odd = tg_settings(plain_settings, fake, telegram_webhook_secret="not allowed!")
    adapter = TelegramAdapter(settings=odd, cache=None, clock=clock)  # type: ignore[arg-type]
    with pytest.raises(StartupError, match="TELEGRAM_WEBHOOK_SECRET"):
        await adapter.start()


# ---- sending: pace, limits and errors (no database) ----------------------------------


def paced_adapter(settings: Settings, fake: FakeTelegram, time: FakeTime) -> TelegramAdapter:
    limiter = RateLimiter(
        per_key=PER_CHAT, overall=OVERALL, monotonic=time.monotonic, sleep=time.sleep
    )
    fake.monotonic = time.monotonic
    return TelegramAdapter(
        settings=tg_settings(settings, fake),
        cache=None,  # type: ignore[arg-type]
        clock=FixedClock(NOW),
        limiter=limiter,
    )


async def test_burst_to_one_chat_keeps_one_per_second(
    plain_settings: Settings, fake: FakeTelegram
) -> None:
    time = FakeTime()
    adapter = paced_adapter(plain_settings, fake, time)
    to = ChatAddress("telegram", "7", "7")
    await asyncio.gather(*(adapter.send(to, Outgoing(f"m{i}")) for i in range(100)))
    sent = fake.sent(7)
    assert [c.params["text"] for c in sent] == [f"m{i}" for i in range(100)]  # none lost, in order
    stamps = [c.at for c in sent]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(stamps))
    assert stamps[-1] < 99 * 1.1  # and not slower than needed
    await adapter.bot.shutdown()


async def test_many_chats_keep_thirty_per_second(
    plain_settings: Settings, fake: FakeTelegram
) -> None:
    time = FakeTime()
    adapter = paced_adapter(plain_settings, fake, time)
    for i in range(100):
        await adapter.send(ChatAddress("telegram", str(i), str(i)), Outgoing("hi"))
    stamps = sorted(c.at for c in fake.sent())
    assert len(stamps) == 100
    assert all(stamps[i + 30] - stamps[i] >= 1.0 for i in range(len(stamps) - 30))
    await adapter.bot.shutdown()


async def test_429_waited_out_inline_and_errors_mapped(
    plain_settings: Settings, fake: FakeTelegram
) -> None:
    settings = plain_settings
    time = FakeTime()
    adapter = paced_adapter(settings, fake, time)
    to = ChatAddress("telegram", "7", "7")
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    await adapter.send(to, Outgoing("**hi** <you>", buttons=(Button("OK", "ok:1"),)))
    failed, ok = fake.calls_to("sendMessage", ok=False)
    assert failed.status == 429 and ok.status == 200
    assert ok.at - failed.at >= 2.0  # retry_after honoured on the server's clock
    assert ok.params["text"] == "<b>hi</b> &lt;you&gt;" and ok.params["parse_mode"] == "HTML"
    assert ok.buttons == [("OK", "ok:1")]

    fake.fail("sendMessage", 429, "Too Many Requests: retry after 60", retry_after=60)
    with pytest.raises(DeliveryError) as long_wait:
        await adapter.send(to, Outgoing("later"))
    assert long_wait.value.retry_after == 60 and not long_wait.value.permanent
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(DeliveryError) as blocked:
        await adapter.send(to, Outgoing("x"))
    assert blocked.value.unreachable
    fake.fail("sendMessage", 400, "Bad Request: message is too long")
    with pytest.raises(DeliveryError) as bad:
        await adapter.send(to, Outgoing("x"))
    assert bad.value.permanent and not bad.value.unreachable
    fake.fail("sendMessage", 500, "Internal Server Error")
    with pytest.raises(DeliveryError) as flaky:
        await adapter.send(to, Outgoing("x"))
    assert not flaky.value.permanent and flaky.value.retry_after is None
    fake.fail("sendMessage", 400, "Bad Request: can't parse entities: unsupported tag")
    await adapter.send(to, Outgoing("**plain** now"))
    assert fake.sent(7)[-1].params["text"] == "plain now"
    assert "parse_mode" not in fake.sent(7)[-1].params

    # Files: inline bytes and a path under DATA_DIR, each with its own method.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "guide.pdf").write_bytes(b"%PDF-1.4 guide")
    await adapter.send(
        to,
        Outgoing(
            "附件",
            links=(Link("手册", "https://example.com/h"), Link("邮件", "mailto:hr@example.com")),
            files=(
                OutgoingFile(AttachmentKind.PHOTO, "a.jpg", data=b"\xff\xd8jpeg"),
                OutgoingFile(AttachmentKind.FILE, "guide.pdf", path="guide.pdf"),
                OutgoingFile(AttachmentKind.VOICE, "v.ogg", data=b"OggS"),
                OutgoingFile(AttachmentKind.VIDEO, "v.mp4", data=b"mp4"),
            ),
        ),
    )
    text, photo, doc, voice, video = fake.sent(7)[-5:]
    assert text.buttons == [("手册", "https://example.com/h")]
    assert "mailto:hr@example.com" in text.params["text"]
    assert photo.files["photo"] == b"\xff\xd8jpeg" and doc.files["document"] == b"%PDF-1.4 guide"
    assert voice.method == "sendVoice" and video.method == "sendVideo"
    with pytest.raises(DeliveryError) as other:
        await adapter.send(ChatAddress("wecom", "7", "7"), Outgoing("x"))
    assert other.value.permanent
    await adapter.bot.shutdown()


# ---- polling, end to end -------------------------------------------------------------


async def test_polling_journey(app: App, fake: FakeTelegram, polling: TelegramAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr", user=str(HR), platform="telegram")
    _, code = await add_candidate(app, "张三", hr=hr)
    await add_candidate(app, "张三", hr=hr, department="市场部")

    # Start with the invite code (a deep link), delivered three times across polls.
    start = fake.message(CANDIDATE, f"/start {code}")
    for _ in range(3):
        fake.push(start)
        await settle(fake)
    welcome = [t for t in fake.texts(CANDIDATE) if "欢迎你，张三" in t]
    assert len(welcome) == 1
    assert any("张三" in t and "绑定" in t for t in fake.texts(HR))
    offsets = [c.params.get("offset") for c in fake.calls_to("getUpdates")]
    assert str(start["update_id"] + 1) in offsets

    fake.push(fake.message(CANDIDATE, "/progress"))
    await settle(fake)
    assert "你的入职准备已完成" in fake.texts(CANDIDATE)[-1]

    # Confirm the offer with a button.
    fake.push(fake.message(CANDIDATE, "/offer"))
    await settle(fake)
    ask = fake.sent(CANDIDATE)[-1]
    accept = next(payload for label, payload in ask.buttons if label == "接受 offer")
    fake.push(fake.tap(CANDIDATE, ask, accept))
    await settle(fake)
    assert "太好了，欢迎加入" in fake.texts(CANDIDATE)[-1]

    # Documents: pick a checklist item with a button, then send a photo of it.
    fake.push(fake.message(CANDIDATE, "/docs"))
    await settle(fake)
    checklist = fake.sent(CANDIDATE)[-1]
    item = next(payload for label, payload in checklist.buttons if "身份证正面" in label)
    fake.push(fake.tap(CANDIDATE, checklist, item))
    await settle(fake)
    assert "请发送「身份证正面」" in fake.texts(CANDIDATE)[-1]
    photo = jpeg()
    fake.push(fake.photo(CANDIDATE, photo))
    await settle(fake)
    assert any("已收到「身份证正面」" in t for t in fake.texts(CANDIDATE)[-2:])
    # HR's review notice carries the very file, sent as a photo or document.
    assert any(same_picture(f, photo) for call in fake.sent(HR) for f in call.files.values())

    # Training: tap a course, start, answer the first question with a button.
    fake.push(fake.message(CANDIDATE, "/quiz"))
    await settle(fake)
    courses = fake.sent(CANDIDATE)[-1]
    assert "岗前培训" in courses.params["text"]
    fake.push(fake.tap(CANDIDATE, courses, courses.buttons[0][1]))
    await settle(fake)
    study = fake.sent(CANDIDATE)[-1]
    begin = next(payload for label, payload in study.buttons if label == "开始答题")
    fake.push(fake.tap(CANDIDATE, study, begin))
    await settle(fake)
    question = fake.sent(CANDIDATE)[-1]
    assert "第 1/" in question.params["text"]
    fake.push(fake.tap(CANDIDATE, question, question.buttons[0][1]))
    await settle(fake)
    assert any("回答正确" in t or "答错了" in t for t in fake.texts(CANDIDATE)[-2:])
    taps = 5  # offer, checklist item, course, start, answer

    # HR: two candidates share a name, so the bot asks with buttons; tapping one shows them.
    fake.push(fake.message(HR, "/status 张三"))
    await settle(fake)
    question = fake.sent(HR)[-1]
    assert len(question.buttons) == 2 and all(p.startswith("st:") for _, p in question.buttons)
    label, payload = question.buttons[1]
    tap = fake.tap(HR, question, payload)
    fake.push(tap, tap)  # a redelivered tap in the same batch
    await settle(fake)
    await until(lambda: len(fake.calls_to("answerCallbackQuery")) == taps + 1)
    answered = fake.calls_to("answerCallbackQuery")[-1].params["callback_query_id"]
    assert answered == tap["callback_query"]["id"]
    assert "市场部" in fake.texts(HR)[-1]
    async with app.db.session() as session:
        event = (
            await session.exec(
                select(InboundEvent).where(InboundEvent.event_id == str(tap["update_id"]))
            )
        ).one()
    assert event.payload is not None
    assert (event.payload["payload"], event.payload["text"]) == (payload, label)

    # A photo reaches the dispatcher, and download returns its exact bytes.
    data = b"\xff\xd8\xff\xe0" + os.urandom(2048)
    upload = fake.photo(CANDIDATE, data)
    fake.push(upload)
    await settle(fake)
    async with app.db.session() as session:
        stored = (
            await session.exec(
                select(InboundEvent).where(InboundEvent.event_id == str(upload["update_id"]))
            )
        ).one()
    assert stored.payload is not None and stored.processed_at is not None
    (attachment,) = Incoming.from_json(stored.payload).attachments
    assert attachment.kind is AttachmentKind.PHOTO
    assert await polling.download(attachment) == data
    assert fake.calls_to("setMyCommands") and fake.calls_to("deleteWebhook")
    menu = [c["command"] for c in fake.calls_to("setMyCommands")[0].params["commands"]]
    assert {"start", "progress", "help"} <= set(menu)


async def test_429_goes_back_to_the_courier(
    app: App, clock: FixedClock, fake: FakeTelegram, polling: TelegramAdapter
) -> None:
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 60", retry_after=60)
    fake.push(fake.message(CANDIDATE, "/help"))
    await settle(fake)
    assert fake.texts(CANDIDATE) == []  # refused once, kept in the outbox
    assert await app.courier.drain() == 0  # not due before retry_after
    clock.advance(timedelta(seconds=61))
    assert await app.courier.drain() == 1
    assert "你可以使用这些命令" in fake.texts(CANDIDATE)[0]


async def test_blocked_user_is_marked_unreachable(
    app: App, fake: FakeTelegram, polling: TelegramAdapter
) -> None:
    hr = await add_staff(app, "王芳", "hr", user=str(HR), platform="telegram")
    _, code = await add_candidate(app, "张三", hr=hr)
    fake.push(fake.message(CANDIDATE, f"/start {code}"))
    await settle(fake)
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=CANDIDATE)
    fake.push(fake.message(CANDIDATE, "/progress"))
    await settle(fake)
    async with app.db.session() as session:
        identity = await people.get_identity(
            session=session, platform="telegram", user_id=str(CANDIDATE)
        )
    assert identity is not None and identity.unreachable
    assert any("无法通过Telegram联系到 张三" in t for t in fake.texts(HR))


# ---- webhook, end to end -------------------------------------------------------------


async def test_webhook_journey_and_guards(
    app: App, fake: FakeTelegram, webhook: tuple[TelegramAdapter, WebServer]
) -> None:
    _, web = webhook
    assert fake.webhook_url == f"http://127.0.0.1:{web.bound_port}/telegram/webhook"
    assert fake.webhook_secret == "s3cret-Token_1"
    assert fake.calls_to("setWebhook")[0].params["allowed_updates"] == ["message", "callback_query"]
    assert not fake.calls_to("getUpdates")
    hr = await add_staff(app, "王芳", "hr", user=str(HR), platform="telegram")
    _, code = await add_candidate(app, "张三", hr=hr)
    await add_candidate(app, "张三", hr=hr, department="市场部")

    # Refused: no secret, wrong secret. Nothing stored, nothing sent.
    start = fake.message(CANDIDATE, f"/start {code}")
    assert await fake.post_webhook(start, secret=None) == 403
    assert await fake.post_webhook(start, secret="wrong") == 403
    await app.dispatcher.drain_background()
    assert await inbound_count(app) == 0 and fake.sent() == []

    # Malformed bodies: 400, and the server keeps serving.
    assert await fake.post_webhook(b"{not json") == 400
    assert await fake.post_webhook(b"[1, 2]") == 400
    assert await fake.post_webhook(b'{"update_id": "x"}') == 400
    assert await fake.post_webhook(b"x" * (1024 * 1024 + 1)) == 413

    # Delivered three times: one welcome.
    for _ in range(3):
        assert await fake.post_webhook(start) == 200
    await app.dispatcher.drain_background()
    assert len([t for t in fake.texts(CANDIDATE) if "欢迎你，张三" in t]) == 1
    assert await inbound_count(app) == 1

    # A button round trip: the payload comes back and the tap is answered once.
    assert await fake.post_webhook(fake.message(HR, "/status 张三")) == 200
    await app.dispatcher.drain_background()
    question = fake.sent(HR)[-1]
    _, payload = question.buttons[0]
    tap = fake.tap(HR, question, payload)
    for _ in range(3):
        assert await fake.post_webhook(tap) == 200
    await app.dispatcher.drain_background()
    await until(lambda: len(fake.calls_to("answerCallbackQuery")) == 1)
    assert "研发中心" in fake.texts(HR)[-1]
    assert await fake.post_webhook(fake.message(CANDIDATE, "/progress")) == 200
    await app.dispatcher.drain_background()
    assert "你的入职准备已完成" in fake.texts(CANDIDATE)[-1]


# ---- python run_bot.py against the fake server ---------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_run_bot_end_to_end(fake: FakeTelegram, tmp_path: Path, mode: str) -> None:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECOM_", "FEISHU_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=fake.api_base,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        DATA_DIR=str(tmp_path / "data"),
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
    )
    if mode == "webhook":
        env["TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/telegram/webhook"
        env["TELEGRAM_WEBHOOK_SECRET"] = "run-bot-secret"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_bot.py"),
        "run",
        cwd=tmp_path,  # no stray .env
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        if mode == "polling":
            await until(lambda: bool(fake.calls_to("getUpdates")), timeout=20)
            fake.push(fake.message(CANDIDATE, "/start"), fake.message(CANDIDATE, "/help"))
        else:
            await until(lambda: fake.webhook_url is not None, timeout=20)
            assert await fake.post_webhook(fake.message(CANDIDATE, "/start"), secret="no") == 403
            assert await fake.post_webhook(fake.message(CANDIDATE, "/start")) == 200
            assert await fake.post_webhook(fake.message(CANDIDATE, "/help")) == 200
        await until(lambda: len(fake.texts(CANDIDATE)) >= 2, timeout=10)
        # Webhook updates are processed in the background, so either reply may come first.
        texts = fake.texts(CANDIDATE)
        assert any("我是入职助手" in t for t in texts)
        assert any("你可以使用这些命令" in t for t in texts)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 15)
        assert process.returncode == 0, stderr.decode()
        assert TOKEN not in stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_command_menus_per_role(
    app: App, fake: FakeTelegram, polling: TelegramAdapter
) -> None:
    await add_staff(app, "王芳", "hr", user=str(HR), platform="telegram")
    await add_staff(app, "李强", "manager", user="777", platform="telegram")
    fake.calls.clear()
    await polling._register_commands()
    calls = fake.calls_to("setMyCommands")
    default = [c for c in calls if "scope" not in c.params]
    assert {c.params.get("language_code") for c in default} == {None, "zh", "en"}
    everyone = {c["command"] for c in default[0].params["commands"]}
    assert {"start", "bind", "progress", "docs", "quiz"} <= everyone and "status" not in everyone
    scoped = {
        json.loads(c.params["scope"])["chat_id"]
        if isinstance(c.params["scope"], str)
        else c.params["scope"]["chat_id"]: {x["command"] for x in c.params["commands"]}
        for c in calls
        if "scope" in c.params
    }
    assert {"status", "review", "reply"} <= scoped[HR] and "progress" not in scoped[HR]
    assert "status" not in scoped[777]
