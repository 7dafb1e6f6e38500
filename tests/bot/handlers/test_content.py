"""Candidate commands around content: /mute, /unmute, /resources and push buttons (pa:...)."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.settings import Settings
from bot.runtime.app import App
from content import ContentPack, Text
from content.models import Audience, ContentItem, ItemLink
from run_bot import build_app
from storage import links, people
from storage.db import Database
from storage.models import Candidate, Staff
from tests.bot.helpers import add_staff
from tests.flows.test_broadcast import bound_candidate
from tests.flows.test_welcome import core_content


def item(
    item_id: str,
    title: str,
    *,
    published: date | None = None,
    links: tuple[str, ...] = (),
    resource: bool = True,
    expires: date | None = None,
    **audience: object,
) -> ContentItem:
    return ContentItem(
        id=item_id,
        kind="guide",
        title=Text(zh=title, en=f"EN {title}"),
        body=Text(zh="正文", en="Body"),
        links=[
            ItemLink(label=Text(zh=f"{item_id}链接{n}", en=f"link {n}"), url=url)
            for n, url in enumerate(links, 1)
        ],
        audience=Audience.model_validate(audience),
        resource=resource,
        published=published,
        expires=expires,
    )


ITEMS = [
    item("guide", "入职指南", published=date(2026, 5, 1), links=("https://example.com/guide",)),
    item(
        "handbook",
        "{{ department }}新人手册",
        published=date(2026, 5, 20),
        links=("https://example.com/rd", "https://example.com/rd2"),
        departments=["研发中心"],
    ),
    item("culture", "企业文化视频", links=("https://example.com/culture",)),
    item("housing", "外地同学租房攻略", published=date(2026, 4, 1), out_of_town=True),
    item("old", "去年的活动", published=date(2026, 3, 1), expires=date(2026, 5, 31)),
    item("market", "市场部手册", published=date(2026, 5, 25), departments=["市场部"]),
    item("news", "本周新闻", published=date(2026, 5, 30), resource=False),
    item("soon", "下周上线的资料", published=date(2026, 6, 10)),
]


@pytest.fixture(scope="module")
def content_pack() -> ContentPack:
    return core_content().model_copy(update={"items": ITEMS})


@pytest.fixture
async def hr(app: App) -> Staff:
    return await add_staff(app, "王芳", "hr", user="hr-wang")


@pytest.fixture
async def zhang(app: App, chat: MemoryAdapter, hr: Staff) -> Candidate:
    return await bound_candidate(
        app,
        "张三",
        hr=hr,
        user="u1",
        offer_status="accepted",
        hometown="成都",
        work_city="杭州",
    )


async def reload(app: App, candidate: Candidate) -> Candidate:
    async with app.db.session() as session:
        found = await people.get_candidate(session=session, candidate_id=candidate.id or 0)
    assert found is not None
    return found


# ---- /mute, /unmute ---------------------------------------------------------------------------


async def test_mute_and_unmute_are_idempotent(
    app: App, chat: MemoryAdapter, zhang: Candidate
) -> None:
    done = (await chat.say("u1", "免打扰"))[0]
    assert "已暂停定期推送的资讯和小贴士" in done and "截止提醒和 HR 的回复还会照常" in done
    assert "取消免打扰" in done  # how to undo
    assert (await reload(app, zhang)).muted_at == app.clock.now()
    again = (await chat.say("u1", "/mute"))[0]
    assert "从 2026-06-01 起已经开启免打扰" in again
    assert "已恢复推送" in (await chat.say("u1", "取消免打扰"))[0]
    assert (await reload(app, zhang)).muted_at is None
    assert "你没有开启免打扰" in (await chat.say("u1", "/unmute"))[0]


async def test_mute_is_for_candidates(app: App, chat: MemoryAdapter, hr: Staff) -> None:
    assert "不对你开放" in (await chat.say("hr-wang", "/mute"))[0]
    assert "不对你开放" in (await chat.say("hr-wang", "/resources"))[0]
    assert "请先用 HR 发给你的邀请码" in (await chat.say("nobody", "资料"))[0]


# ---- /resources -------------------------------------------------------------------------------


async def test_resources_fit_the_candidate_newest_first(
    app: App, chat: MemoryAdapter, zhang: Candidate
) -> None:
    listing = (await chat.say("u1", "资料"))[0]
    lines = listing.splitlines()
    assert lines[0] == "为你整理的入职资料（共 4 条，第 1/1 页）："
    assert lines[1:5] == [
        "1. 研发中心新人手册",  # rendered title; newest first
        "2. 入职指南",
        "3. 外地同学租房攻略",  # out of town: 成都 -> 杭州
        "4. 企业文化视频",  # undated last
    ]
    # Expired, for another department, not a resource, not yet published:
    for absent in ("去年的活动", "市场部手册", "本周新闻", "下周上线"):
        assert absent not in listing
    assert "还有疑问？直接发消息问我就行，比如：「" in lines[5]
    first_faq = app.content.faq[0].questions["zh"][0]
    assert first_faq in lines[5]
    sent = chat.last("u1")
    assert [link.label for link in sent.links] == [
        "1. handbook链接1",
        "1. handbook链接2",
        "2. guide链接1",
        "4. culture链接1",
    ]
    assert not sent.buttons
    # Links are tracked: each goes through /r/<token> to the item's URL.
    base = app.settings.public_base_url.rstrip("/") + "/r/"
    assert all(link.url.startswith(base) for link in sent.links)
    token = sent.links[2].url.removeprefix(base)
    async with app.db.session() as session:
        clicked = await links.click(session=session, token=token, now=app.clock.now())
    assert clicked is not None
    assert (clicked.url, clicked.item_id, clicked.candidate_id) == (
        "https://example.com/guide",
        "guide",
        zhang.id,
    )


async def test_resources_in_english_and_for_another_profile(
    app: App, chat: MemoryAdapter, hr: Staff
) -> None:
    await bound_candidate(app, "Li", hr=hr, user="u2", department="市场部", language="en")
    listing = (await chat.say("u2", "/resources"))[0]
    assert "EN 市场部手册" in listing and "EN 入职指南" in listing
    assert "新人手册" not in listing.replace("市场部手册", "")  # not the R&D handbook
    assert "租房" not in listing  # cities unknown: no out-of-town items
    assert "Just ask me, for example: “" in listing


def app_with(
    settings: Settings, database: Database, clock: FixedClock, items: list[ContentItem]
) -> tuple[App, MemoryAdapter]:
    """An app whose library holds just ``items``."""
    pack = core_content().model_copy(update={"items": items})
    other = build_app(settings, clock=clock, content=pack, db=database)
    chat = MemoryAdapter(clock)
    other.add_adapter(chat)
    return other, chat


async def test_resources_are_paged(
    settings: Settings, database: Database, clock: FixedClock
) -> None:
    many = [
        item(f"tip{n:02d}", f"小贴士{n:02d}", published=date(2026, 5, n + 1)) for n in range(10)
    ]
    app, chat = app_with(settings, database, clock, many)
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await bound_candidate(app, "张三", hr=hr, user="u1")
    first = (await chat.say("u1", "资料"))[0]
    assert "共 10 条，第 1/2 页" in first
    assert "1. 小贴士09" in first and "8. 小贴士02" in first and "小贴士01" not in first
    assert "还有疑问" not in first
    second = (await chat.tap("u1", "下一页"))[0]
    assert "第 2/2 页" in second and "9. 小贴士01" in second and "10. 小贴士00" in second
    assert "还有疑问" in second
    assert not chat.last("u1").buttons
    assert "第 2/2 页" in (await chat.say("u1", "/resources 5"))[0]  # past the end: the last


async def test_no_resources_points_to_questions(
    settings: Settings, database: Database, clock: FixedClock
) -> None:
    app, chat = app_with(settings, database, clock, [item("x", "内部资料", resource=False)])
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await bound_candidate(app, "张三", hr=hr, user="u1")
    replies = await chat.say("u1", "资料")
    assert replies[0].startswith("暂时还没有适合你的资料")
    assert "还有疑问？直接发消息问我就行" in replies[0]


# ---- push buttons -----------------------------------------------------------------------------


async def tap(chat: MemoryAdapter, user: str, payload: str) -> list[str]:
    before = len(chat.sent[user])
    await chat.dispatch(chat.incoming(user, "按钮", payload=payload))
    return [m.text for m in chat.sent[user][before:]]


async def test_push_buttons_open_the_matching_command(
    app: App, chat: MemoryAdapter, hr: Staff
) -> None:
    await bound_candidate(app, "张三", hr=hr, user="u1", offer_status="offered")
    assert "恭喜你收到研发中心" in (await tap(chat, "u1", "pa:offer"))[0]
    await chat.say("u1", "/cancel")
    assert "📝 占用你一分钟做个小问卷吧" in (await tap(chat, "u1", "pa:survey"))[0]
    await chat.say("u1", "/cancel")
    assert "📁 入职材料清单" in (await tap(chat, "u1", "pa:documents"))[0]
    assert "📚 岗前培训" in (await tap(chat, "u1", "pa:quiz"))[0]
    assert "为你整理的入职资料" in (await tap(chat, "u1", "pa:resources"))[0]
    assert "按钮已失效" in (await tap(chat, "u1", "pa:lottery"))[0]
    assert "按钮已失效" in (await tap(chat, "u1", "pa"))[0]


async def test_offer_button_says_the_state_when_already_answered(
    app: App, chat: MemoryAdapter, zhang: Candidate
) -> None:
    assert "你已经接受了 offer" in (await tap(chat, "u1", "pa:offer"))[0]


async def test_push_buttons_are_for_candidates(app: App, chat: MemoryAdapter, hr: Staff) -> None:
    assert "不对你开放" in (await tap(chat, "hr-wang", "pa:offer"))[0]
