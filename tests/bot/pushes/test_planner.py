"""The push planner: what each candidate gets, when, and never twice.

Runs on the test journey and library in tests/bot/pushes/planner_content/ (the shipped
content/journey.yaml and content/library/ are written in parallel).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import TypeAdapter
from sqlmodel import col, select

import content
from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.messages import Outgoing
from bot.core.settings import Settings
from bot.pushes.planner import plan_pushes
from bot.pushes.slots import occurrences
from bot.runtime.app import App
from content import ContentPack
from content.calendar import Holiday, china_holiday
from content.models import Checklists, ContentItem, Course, FaqEntry, Journey
from content.render import check_template
from run_bot import build_app
from storage import documents, people, pushes
from storage.db import Database
from storage.models import (
    Candidate,
    ContentReceipt,
    LinkToken,
    Outbox,
    OutboxCategory,
    Outcome,
    WelcomeMessage,
)
from tests.bot.helpers import add_candidate, add_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTENT = Path(__file__).parent / "planner_content"


def local(*args: int) -> datetime:
    """A Shanghai wall-clock time as an aware datetime."""
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def _yaml(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@functools.cache
def base_pack() -> ContentPack:
    """The shipped checklists, courses and FAQ (independent of the shipped journey and library)."""
    root = Path(content.__file__).parent
    return ContentPack(
        checklists=Checklists.model_validate(_yaml(root / "checklists.yaml")),
        courses=[
            Course.model_validate(_yaml(p)) for p in sorted((root / "courses").glob("*.yaml"))
        ],
        faq=TypeAdapter(list[FaqEntry]).validate_python(_yaml(root / "faq.yaml")),
    )


def library_items() -> list[ContentItem]:
    return TypeAdapter(list[ContentItem]).validate_python(_yaml(CONTENT / "items.yaml"))


def planner_pack(*extra: ContentItem, **slot_changes: dict[str, object]) -> ContentPack:
    """The test journey and library; ``slot_changes`` edit slots by id."""
    journey = Journey.model_validate(_yaml(CONTENT / "journey.yaml")).slots
    journey = [s.model_copy(update=slot_changes.get(s.id, {})) for s in journey]
    items = library_items() + list(extra)
    for item in items:
        for text in (item.title.zh, item.title.en, item.body.zh, item.body.en):
            check_template(text)
    return base_pack().model_copy(update={"journey": journey, "items": items})


@pytest.fixture
async def app(settings: Settings, database: Database, clock: FixedClock) -> AsyncIterator[App]:
    yield build_app(settings, clock=clock, content=planner_pack(), db=database)


async def bound_candidate(
    app: App, chat: MemoryAdapter, user: str, name: str, **fields: object
) -> int:
    """A candidate bound to the memory chat user ``user`` with their invite code."""
    candidate, code = await add_candidate(app, name, **fields)
    await chat.say(user, code)
    assert candidate.id is not None
    return candidate.id


TITLE_IDS = {item.title.zh: item.id for item in library_items()}


def describe(message: Outgoing) -> str:
    """The item ids in a delivered push: "welcome_all", or "digest:news_a+news_b"."""
    titles = re.findall(r"\*\*(.+?)\*\*", message.text)
    if titles and titles[0] == "本周公司动态":
        return "digest:" + "+".join(TITLE_IDS[t] for t in titles[1:])
    return TITLE_IDS[titles[0]]


async def tick(app: App, when: datetime) -> None:
    app.clock.set(when)  # type: ignore[union-attr]
    await plan_pushes(app.db, app.services, app.clock.now())


async def rows_of(app: App, candidate_id: int) -> list[Outbox]:
    async with app.db.session() as session:
        stmt = (
            select(Outbox)
            .where(Outbox.candidate_id == candidate_id, Outbox.kind == "push")
            .order_by(col(Outbox.id))
        )
        return list((await session.exec(stmt)).all())


async def receipts(app: App, candidate_id: int) -> set[str]:
    async with app.db.session() as session:
        found = await pushes.receipts_of(session=session, candidate_ids=[candidate_id])
    return found[candidate_id]


# ---- 1. sixty days of one candidate ----------------------------------------------------------

# (local time delivered, what) over 2026-06-01 10:00 .. 2026-07-31 10:00, mute 06-19 12:00 ..
# 06-24 12:00. Weekly cap 2, quiet hours 21:00-09:00.
EXPECTED_SIXTY_DAYS = [
    ("06-01 12:00", "welcome_all"),  # offer day, two hours after binding (MIN_GAP)
    ("06-02 10:00", "team_intro_cs"),  # the computer-science variant, not finance or general
    # team_video was due 06-04 10:00: two pushes in the past 7 days, so it waits (cap) ...
    # ... and weekly news of 06-05 lapses (capped until it closes at the end of 06-06).
    # 06-08 10:00: six days since the last push (PUSH_MAX_SILENCE_DAYS - 1): past the cap
    ("06-08 10:00", "team_video_general"),
    # onboarding_guide, due 06-08 10:00 too, waits one day for the 06-02 push to leave the window
    ("06-09 10:00", "guide_out_of_town"),  # Chengdu -> Hangzhou: the out-of-town variant
    # weekly news of 06-12 lapses: capped (06-08 and 06-09) until it closes
    ("06-16 09:00", "survey_invite"),  # due 06-15 22:00 in quiet hours: delivered next morning
    # muted from 06-19 12:00: weekly news of 06-19 lapses while muted ...
    ("06-23 10:00", "doc_reminder"),  # ... but the transactional reminder still arrives
    # materials (also a reminder) was due 06-23 10:00 too: one reminder a day, so the next day,
    # planned at 00:00 and held until quiet hours end
    ("06-24 09:00", "materials_list"),
    ("06-26 17:00", "digest:news_cs+news_a+news_b"),  # best 3 of 4: the CS item first
    ("07-03 17:00", "digest:news_c+news_d"),  # the rest; news_old expired, news_finance not his
    ("07-08 09:00", "birthday_card"),
    # weekly news of 07-10, 07-17, 07-24, 07-31: nothing left unread, no message
    ("07-13 10:00", "countdown_general"),
    ("07-19 10:00", "day_before_general"),
]


async def test_sixty_days_of_pushes(app: App, clock: FixedClock) -> None:
    chat = MemoryAdapter(clock)
    app.add_adapter(chat)
    hr = await add_staff(app, "王芳", "hr")
    manager = await add_staff(app, "李强", "manager")
    candidate_id = await bound_candidate(
        app,
        chat,
        "zs",
        "张三",
        hr=hr,
        manager_id=manager.id,
        major="计算机科学与技术",
        position="后端开发工程师",
        hometown="成都",
        work_city="杭州",
        offer_date=date(2026, 6, 1),
        training_date=date(2026, 7, 3),
        onboarding_date=date(2026, 7, 20),
        doc_deadline=date(2026, 6, 26),
        birthday=date(2000, 7, 8),
    )
    seen = len(chat.sent["zs"])
    delivered: list[tuple[str, str]] = []
    messages: list[Outgoing] = []
    start = local(2026, 6, 1, 10)
    for hour in range(60 * 24 + 1):
        now = start + timedelta(hours=hour)
        clock.set(now)
        if now in (local(2026, 6, 19, 12), local(2026, 6, 24, 12)):
            async with app.db.session() as session:
                await pushes.set_muted(
                    session=session,
                    candidate_id=candidate_id,
                    muted=now.day == 19,
                    now=clock.now(),
                )
        await plan_pushes(app.db, app.services, clock.now())
        await app.courier.drain()
        for message in chat.sent["zs"][seen:]:
            delivered.append((now.astimezone(SHANGHAI).strftime("%m-%d %H:%M"), describe(message)))
            messages.append(message)
        seen = len(chat.sent["zs"])

    assert delivered == EXPECTED_SIXTY_DAYS

    # No item twice, and every delivered item is recorded as received.
    items = [i for _, what in delivered for i in what.removeprefix("digest:").split("+")]
    assert len(items) == len(set(items))
    assert await receipts(app, candidate_id) == set(items)

    # Personalised text, a tracked link and the offer button in the first push.
    welcome = messages[0]
    assert welcome.text == (
        "**欢迎加入**\n\n张三，欢迎加入星河科技研发中心！你的 HR 是王芳，经理是李强。"
    )
    assert [b.payload for b in welcome.buttons] == ["pa:offer"]
    assert welcome.links[0].label == "公司介绍"
    assert welcome.links[0].url.startswith("http://127.0.0.1:8080/r/")
    guide = messages[3]
    assert guide.text == "**异地入职指南**\n\n从成都到杭州：租房和交通攻略。"
    # The reminder lists the documents still missing.
    required = app.content.checklists.items_for("研发中心", "后端开发工程师")
    reminder = messages[5]
    assert reminder.text == (
        "**材料截止提醒**\n\n还差：" + "、".join(i.title.zh for i in required) + "，3 天后截止。"
    )

    # Rows: reminders are REMINDER, the rest PUSH; the survey row was held for the morning.
    rows = await rows_of(app, candidate_id)
    categories = {r.dedupe_key: r.category for r in rows}
    assert categories[f"push:{candidate_id}:doc_deadline"] == OutboxCategory.REMINDER.value
    assert categories[f"push:{candidate_id}:materials"] == OutboxCategory.REMINDER.value
    assert categories[f"push:{candidate_id}:welcome"] == OutboxCategory.PUSH.value
    survey = next(r for r in rows if r.dedupe_key == f"push:{candidate_id}:survey")
    assert survey.created_at == local(2026, 6, 15, 22)
    assert survey.due_at == local(2026, 6, 16, 9)
    assert survey.expires_at == local(2026, 6, 18)  # lapse (end of 06-16) + 1 day


# ---- 2. personalisation --------------------------------------------------------------------


async def test_different_profiles_get_different_items(app: App, clock: FixedClock) -> None:
    chat = MemoryAdapter(clock)
    app.add_adapter(chat)
    common = {"offer_date": date(2026, 6, 1), "work_city": "杭州", "training_date": None}
    engineer = await bound_candidate(
        app, chat, "zs", "张三", major="计算机科学与技术", hometown="成都", **common
    )
    analyst = await bound_candidate(
        app, chat, "ls", "李四", major="金融学", hometown="杭州市", **common
    )
    await tick(app, local(2026, 6, 2, 10))  # the welcome (one ordinary push a day) ...
    await tick(app, local(2026, 6, 3, 10))  # ... then team_intro
    await tick(app, local(2026, 6, 10, 10))  # onboarding_guide (team_video has lapsed)
    # Both got the welcome (open until the end of 06-02); the rest differs.
    assert await receipts(app, engineer) == {"welcome_all", "team_intro_cs", "guide_out_of_town"}
    assert await receipts(app, analyst) == {"welcome_all", "team_intro_finance", "guide_local"}


async def test_shipped_library_personalises(
    settings: Settings, database: Database, clock: FixedClock, content_pack: ContentPack
) -> None:
    """The same on the shipped journey and library (content/journey.yaml, content/library/)."""
    app = build_app(settings, clock=clock, content=content_pack, db=database)
    common = {"offer_date": date(2026, 6, 1), "work_city": "杭州", "training_date": None}
    engineer = await plain_candidate(
        app,
        "张三",
        "zs",
        major="计算机科学与技术",
        motivation="想做AI方向",
        hometown="成都",
        **common,
    )
    maker = await plain_candidate(
        app, "李四", "ls", major="电子信息工程", department="智能制造部", hometown="杭州", **common
    )
    await tick(app, local(2026, 6, 1, 10))  # welcome
    await tick(app, local(2026, 6, 2, 12, 30))  # team_intro
    await tick(app, local(2026, 6, 8, 10))  # team_video, held by the weekly cap until day 7
    await tick(app, local(2026, 6, 9, 12, 30))  # onboarding_guide, a day later for the same reason
    # Neither has answered the offer: day 7's reminder went too (day 3's lapsed untried).
    assert await receipts(app, engineer) == {
        "welcome",
        "offer_last_call",
        "team_intro_ai",  # major + motivation: the most specific
        "team_video_rnd",  # the R&D centre's video
        "onboarding_guide_relocation",  # Chengdu -> Hangzhou
    }
    assert await receipts(app, maker) == {
        "welcome",
        "offer_last_call",
        "team_intro_hardware",  # major (ties with the department's item; then by id)
        "team_video_manufacturing",  # 智能制造部 matches the manufacturing video
        "onboarding_guide_local",
    }


# ---- 3. no duplicates ------------------------------------------------------------------------


async def test_same_tick_twice_and_concurrently_adds_nothing(
    app: App, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    chat = MemoryAdapter(clock)
    app.add_adapter(chat)
    ids = [
        await bound_candidate(
            app,
            chat,
            f"u{n}",
            f"同学{n}",
            offer_date=date(2026, 6, 1),
            hometown="杭州",
            work_city="杭州",
        )
        for n in range(4)
    ]

    async def snapshot() -> tuple[list[tuple[int | None, str | None]], list[tuple[int, str]]]:
        async with app.db.session() as session:
            rows = (await session.exec(select(Outbox.candidate_id, Outbox.dedupe_key))).all()
            got = (
                await session.exec(select(ContentReceipt.candidate_id, ContentReceipt.item_id))
            ).all()
        return sorted(rows, key=str), sorted(got)

    caplog.set_level(logging.ERROR)
    await tick(app, local(2026, 6, 1, 10))
    first = await snapshot()
    await tick(app, local(2026, 6, 1, 10))
    assert await snapshot() == first
    assert {key for _, key in first[0] if key and key.startswith("push:")} == {
        f"push:{i}:welcome" for i in ids
    }

    # Two planners at once, a week later: team_video (due 06-04) and onboarding_guide (06-08)
    # are both due; the welcome (06-01 12:00, two hours after binding) has just left the
    # cap's 7 days. One ordinary push a day: team_video, the one due first.
    clock.set(local(2026, 6, 8, 13))
    await asyncio.gather(
        plan_pushes(app.db, app.services, clock.now()),
        plan_pushes(app.db, app.services, clock.now()),
    )
    rows, got = await snapshot()
    push_keys = [key for _, key in rows if key and key.startswith("push:")]
    assert sorted(push_keys) == sorted(
        f"push:{i}:{slot}" for i in ids for slot in ("welcome", "team_video")
    )
    assert got == sorted((i, item) for i in ids for item in ("welcome_all", "team_video_general"))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# ---- 4. slots and items ------------------------------------------------------------------------


async def push_payload(app: App, key: str) -> Outgoing | None:
    async with app.db.session() as session:
        row = (await session.exec(select(Outbox).where(Outbox.dedupe_key == key))).first()
    return None if row is None else Outgoing.from_json(row.payload)


async def plain_candidate(app: App, name: str, user: str, **fields: object) -> int:
    """A candidate bound straight in storage (no chat messages), with no dates unless given."""
    values: dict[str, object] = {"training_date": None, "onboarding_date": None}
    values.update(fields)
    candidate, _ = await add_candidate(app, name, **values)
    assert candidate.id is not None
    async with app.db.session() as session:
        identity = await people.touch_identity(
            session=session,
            platform="memory",
            user_id=user,
            chat_id=user,
            display_name=name,
            now=app.clock.now(),
        )
        await people.bind_identity(session=session, identity=identity, candidate_id=candidate.id)
    return candidate.id


async def test_weekly_digest_lists_up_to_three_unexpired_items(app: App) -> None:
    early = await plain_candidate(app, "早鸟", "early")
    await tick(app, local(2026, 6, 5, 17))  # Friday 17:00
    digest = await push_payload(app, f"push:{early}:weekly_news:2026-06-05")
    assert digest is not None
    # news_old (priority 9) is still valid on 06-05, so it leads; three items at most.
    assert re.findall(r"\*\*(.+?)\*\*", digest.text) == [
        "本周公司动态",
        "过期活动",
        "新园区启用",
        "年中技术大会",
    ]
    assert await receipts(app, early) == {"news_old", "news_a", "news_b"}

    late = await plain_candidate(app, "晚到", "late")
    await tick(app, local(2026, 6, 12, 17))
    digest = await push_payload(app, f"push:{late}:weekly_news:2026-06-12")
    assert digest is not None
    # news_old expired on 06-10; news_c is published only on 06-20; news_cs and news_finance
    # are for other majors.
    assert digest.text == (
        "**本周公司动态**\n\n**新园区启用**\n滨江新园区下月启用。\n\n**年中技术大会**\n年中技术大会报名开始。"
    )
    assert [link.label for link in digest.links] == ["新园区启用"]  # the item with a link
    assert digest.links[0].url.startswith("http://127.0.0.1:8080/r/")
    assert await receipts(app, late) == {"news_a", "news_b"}
    # The early candidate has had news_a/news_b/news_old: nothing new for them this week.
    assert await push_payload(app, f"push:{early}:weekly_news:2026-06-12") is None


async def test_digest_item_wraps_the_news(
    settings: Settings, database: Database, clock: FixedClock
) -> None:
    frame = ContentItem.model_validate(
        {
            "id": "weekly_frame",
            "kind": "news",
            "title": {"zh": "{{ name }}的周报", "en": "Weekly for {{ name }}"},
            "body": {
                "zh": "本周：\n{% for n in news %}- {{ n.title }}（{{ n.summary }}）{{ n.url }}\n"
                "{% endfor %}",
                "en": "This week:\n{% for n in news %}- {{ n.title }}\n{% endfor %}",
            },
        }
    )
    app = build_app(
        settings,
        clock=clock,
        content=planner_pack(frame, weekly_news={"digest": "weekly_frame"}),
        db=database,
    )
    reader = await plain_candidate(app, "读者", "reader")
    await tick(app, local(2026, 6, 12, 17))
    digest = await push_payload(app, f"push:{reader}:weekly_news:2026-06-12")
    assert digest is not None
    lines = digest.text.split("\n")
    assert lines[:3] == ["**读者的周报**", "", "本周："]
    assert lines[3].startswith("- 新园区启用（滨江新园区下月启用。）http://127.0.0.1:8080/r/")
    assert lines[4] == "- 年中技术大会（年中技术大会报名开始。）"
    # The frame is a layout, not news: it is not recorded, so next week can use it again.
    assert await receipts(app, reader) == {"news_a", "news_b"}


async def test_birthday_and_holiday(app: App) -> None:
    zh = await plain_candidate(app, "张三", "zs", birthday=date(1999, 6, 3))
    en = await plain_candidate(app, "Tom", "tom", language="en")
    await tick(app, local(2026, 6, 3, 9))
    card = await push_payload(app, f"push:{zh}:birthday:2026")
    assert card is not None and card.text == "**生日快乐**\n\n张三，生日快乐！"

    assert china_holiday("Mid-Autumn Festival", 2026) == Holiday(
        date(2026, 9, 25), "Mid-Autumn Festival", "中秋节"
    )
    await tick(app, local(2026, 9, 25, 9, 59))
    assert await push_payload(app, f"push:{zh}:mid_autumn:2026") is None
    await tick(app, local(2026, 9, 25, 10))
    greeting = await push_payload(app, f"push:{zh}:mid_autumn:2026")
    assert greeting is not None and greeting.text == "**节日祝福**\n\n中秋节快乐，张三！"
    greeting = await push_payload(app, f"push:{en}:mid_autumn:2026")
    assert greeting is not None
    assert greeting.text == "**Holiday greetings**\n\nHappy Mid-Autumn Festival, Tom!"
    # max_delay_days 0: the next morning it has lapsed for someone bound only now.
    late = await plain_candidate(app, "晚到", "late")
    await tick(app, local(2026, 9, 26, 10))
    assert await push_payload(app, f"push:{late}:mid_autumn:2026") is None


def test_birthday_on_29_february_is_kept_on_the_28th() -> None:
    journey = planner_pack().journey
    candidate = Candidate(id=1, name="闰年", birthday=date(2004, 2, 29))
    found = occurrences(candidate, journey, local(2027, 2, 28, 9), SHANGHAI)
    assert [(o.key, o.day) for o in found] == [("birthday:2027", date(2027, 2, 28))]
    found = occurrences(candidate, journey, local(2028, 2, 29, 9), SHANGHAI)
    assert [(o.key, o.day) for o in found] == [("birthday:2028", date(2028, 2, 29))]


async def test_document_reminder_only_with_missing_documents(app: App) -> None:
    required = app.content.checklists.items_for("研发中心", None)
    done = await plain_candidate(app, "齐全", "done", doc_deadline=date(2026, 6, 26))
    missing = await plain_candidate(app, "缺材料", "missing", doc_deadline=date(2026, 6, 26))
    async with app.db.session() as session:
        for n, item in enumerate(required):
            for candidate_id in (done, missing) if n < 2 else (done,):
                await documents.submit_document(
                    session=session,
                    candidate_id=candidate_id,
                    item=item.id,
                    sha256=f"{candidate_id:02d}{n:062d}",
                    mime_type="image/jpeg",
                    size=100,
                    file_name=f"{item.id}.jpg",
                    now=app.clock.now(),
                )
    await tick(app, local(2026, 6, 23, 10))
    assert await push_payload(app, f"push:{done}:doc_deadline") is None
    reminder = await push_payload(app, f"push:{missing}:doc_deadline")
    assert reminder is not None
    titles = "、".join(i.title.zh for i in required[2:])
    assert reminder.text == f"**材料截止提醒**\n\n还差：{titles}，3 天后截止。"
    assert [b.payload for b in reminder.buttons] == ["pa:documents"]
    rows = await rows_of(app, missing)
    assert [(r.category, r.due_at) for r in rows] == [
        (OutboxCategory.REMINDER.value, local(2026, 6, 23, 10))
    ]


async def test_manager_welcome_replaces_the_team_video(app: App) -> None:
    manager = await add_staff(app, "李强", "manager", department="研发中心")
    async with app.db.session() as session:
        session.add(
            WelcomeMessage(
                department="研发中心",
                staff_id=manager.id,
                kind="video",
                text="欢迎你们，期待见面！",
                file_path="welcome/li.mp4",
                file_name="li.mp4",
                mime_type="video/mp4",
                created_at=app.clock.now(),
                updated_at=app.clock.now(),
            )
        )
    engineer = await plain_candidate(app, "张三", "zs", offer_date=date(2026, 6, 1))
    marketer = await plain_candidate(
        app, "李四", "ls", offer_date=date(2026, 6, 1), department="市场部"
    )
    await tick(app, local(2026, 6, 4, 10))  # team_intro, still open: one ordinary push a day
    await tick(app, local(2026, 6, 5, 10))
    welcome = await push_payload(app, f"push:{engineer}:team_video")
    assert welcome is not None
    assert welcome.text == "李强（研发中心负责人）给你录了一段欢迎：\n\n欢迎你们，期待见面！"
    assert [(f.kind.value, f.name, f.path) for f in welcome.files] == [
        ("video", "li.mp4", "welcome/li.mp4")
    ]
    assert "manager:welcome" in await receipts(app, engineer)
    video = await push_payload(app, f"push:{marketer}:team_video")
    assert video is not None and video.text.startswith("**团队视频**")
    assert "team_video_general" in await receipts(app, marketer)


async def test_only_plannable_candidates_get_pushes(app: App) -> None:
    dates = {"offer_date": date(2026, 6, 1)}
    ok = await plain_candidate(app, "正常", "ok", **dates)
    unbound, _ = await add_candidate(app, "未绑定", phone="13900000001", **dates)
    declined = await plain_candidate(app, "拒绝", "declined", offer_status="declined", **dates)
    pending = await plain_candidate(
        app, "待审批", "pending", offer_status="pending_approval", **dates
    )
    joined = await plain_candidate(app, "已入职", "joined", **dates)
    forgetting = await plain_candidate(app, "注销", "forget", **dates)
    async with app.db.session() as session:
        session.add(Outcome(candidate_id=joined, outcome="joined", at=app.clock.now()))
        person = await session.get(Candidate, forgetting)
        assert person is not None
        person.forget_requested_at = app.clock.now()
    await tick(app, local(2026, 6, 1, 10))
    for candidate_id in (unbound.id, declined, pending, joined, forgetting):
        assert candidate_id is not None
        assert await rows_of(app, candidate_id) == []
    assert [r.dedupe_key for r in await rows_of(app, ok)] == [f"push:{ok}:welcome"]


# ---- 5. item images ----------------------------------------------------------------------------


def image_item(item_id: str, major: str, image: str) -> ContentItem:
    return ContentItem.model_validate(
        {
            "id": item_id,
            "kind": "article",
            "trigger": "team_intro",
            "audience": {"majors": [major]},
            "title": {"zh": f"团队介绍·{major}", "en": f"Meet the team: {major}"},
            "body": {"zh": "看看我们的团队。", "en": "Meet us."},
            "links": [
                {"label": {"zh": "团队主页", "en": "Team page"}, "url": "https://example.com/t"}
            ],
            "image": image,
        }
    )


async def test_item_images_are_sent(
    settings: Settings,
    database: Database,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A local image goes as a photo (an absolute path), a URL image as a tracked link."""
    from PIL import Image

    root = tmp_path / "content"
    (root / "img").mkdir(parents=True)
    Image.new("RGB", (4, 3), (200, 30, 30)).save(root / "img" / "team.png")
    monkeypatch.setattr("bot.pushes.composer.CONTENT_ROOT", root)
    pack = planner_pack(
        image_item("team_design", "设计", "img/team.png"),
        image_item("team_history", "历史", "https://example.com/img/team.jpg"),
        image_item("team_art", "美术", "img/gone.png"),
    )
    app = build_app(settings, clock=clock, content=pack, db=database)
    chat = MemoryAdapter(clock)
    app.add_adapter(chat)
    offer = {"offer_date": date(2026, 6, 1)}
    designer = await plain_candidate(app, "设计师", "design", major="视觉设计", **offer)
    historian = await plain_candidate(app, "Clio", "clio", major="历史学", language="en", **offer)
    artist = await plain_candidate(app, "画家", "art", major="美术学", **offer)
    caplog.set_level(logging.WARNING)
    await tick(app, local(2026, 6, 2, 10))  # the welcome (one ordinary push a day) ...
    await tick(app, local(2026, 6, 3, 10))  # ... then team_intro

    photo = await push_payload(app, f"push:{designer}:team_intro")
    assert photo is not None and photo.text == "**团队介绍·设计**\n\n看看我们的团队。"
    assert [(f.kind.value, f.name, f.path) for f in photo.files] == [
        ("photo", "team.png", str((root / "img" / "team.png").resolve()))
    ]
    assert [link.label for link in photo.links] == ["团队主页"]

    linked = await push_payload(app, f"push:{historian}:team_intro")
    assert linked is not None and linked.files == ()
    assert [link.label for link in linked.links] == ["Team page", "View image"]
    assert linked.links[1].url.startswith("http://127.0.0.1:8080/r/")
    async with app.db.session() as session:
        token = linked.links[1].url.rsplit("/", 1)[1]
        row = (await session.exec(select(LinkToken).where(LinkToken.token == token))).one()
    assert (row.candidate_id, row.item_id, row.url) == (
        historian,
        "team_history",
        "https://example.com/img/team.jpg",
    )

    # A file removed since start-up: the push goes without it, and the log says so.
    text_only = await push_payload(app, f"push:{artist}:team_intro")
    assert text_only is not None and text_only.files == ()
    assert [link.label for link in text_only.links] == ["团队主页"]
    assert any("gone.png" in r.getMessage() for r in caplog.records)

    # Delivered: the memory chat gets the photo.
    await app.courier.drain()
    files = [(f.kind.value, f.name) for m in chat.sent["design"] for f in m.files]
    assert files == [("photo", "team.png")]
