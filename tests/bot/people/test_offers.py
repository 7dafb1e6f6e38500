"""Offers over the wait, as transcripts: taking a decline back, an unanswered offer asked
again after 3 and 7 days and HR told on day 10, the decision day, late binders."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.runtime.app import App
from storage import people
from storage.models import Candidate, Staff
from tests.bot.helpers import add_candidate, add_staff
from tests.conftest import START

DAY = timedelta(days=1)


@pytest.fixture
async def hr(app: App) -> Staff:
    return await add_staff(app, "王芳", "hr", user="hr-wang")


async def bound(
    app: App,
    chat: MemoryAdapter,
    hr: Staff,
    name: str = "张三",
    user: str = "u1",
    **fields: object,
) -> Candidate:
    candidate, code = await add_candidate(app, name, hr=hr, **fields)
    await chat.say(user, f"/bind {code}")
    return candidate


async def status_of(app: App, candidate: Candidate) -> str:
    async with app.db.session() as session:
        found = await people.get_candidate(session=session, candidate_id=candidate.id or 0)
    assert found is not None
    return found.offer_status


async def decline(chat: MemoryAdapter, user: str = "u1") -> list[str]:
    await chat.tap(user, "婉拒")
    await chat.tap(user, "确定婉拒")
    await chat.say(user, "1")
    return await chat.tap(user, "跳过")


# ---- taking a decline back ---------------------------------------------------------------------


async def test_a_decline_can_be_taken_back_within_a_day(
    app: App, chat: MemoryAdapter, hr: Staff
) -> None:
    candidate = await bound(app, chat, hr)
    replies = await decline(chat)
    assert "24 小时内如果改变主意" in replies[-1]
    assert chat.last("u1").buttons[0].label == "我改主意了，撤回婉拒"
    assert await status_of(app, candidate) == "declined"
    assert "婉拒了 offer" in chat.last("hr-wang").text
    app.clock.advance(timedelta(hours=20))  # type: ignore[attr-defined]
    # /offer meanwhile says so, with the same button.
    assert "点下面的按钮就能撤回" in (await chat.say("u1", "/offer"))[0]
    replies = await chat.tap("u1", "我改主意了，撤回婉拒")
    assert "已经撤回婉拒" in replies[0] and "恭喜" in replies[1]  # and the offer is asked again
    assert await status_of(app, candidate) == "offered"
    assert "撤回了婉拒" in chat.last("hr-wang").text
    await chat.tap("u1", "接受 offer")
    assert await status_of(app, candidate) == "accepted"
    # The old button does nothing now.
    assert "已经接受了 offer" in (await chat.tap_payload("u1", "ou"))[0]


async def test_too_late_or_after_hr_acted_the_decline_stays(
    app: App, chat: MemoryAdapter, clock: FixedClock, hr: Staff
) -> None:
    late = await bound(app, chat, hr)
    await decline(chat)
    clock.advance(timedelta(hours=25))
    replies = await chat.tap("u1", "我改主意了，撤回婉拒")
    assert "超过可撤回的时间" in replies[0] and "联系你的 HR" in replies[0]
    assert await status_of(app, late) == "declined"
    assert "撤回" not in (await chat.say("u1", "/offer"))[0]

    acted = await bound(app, chat, hr, "李四", "u2")
    await decline(chat, "u2")
    await chat.say("hr-wang", "/outcome 李四 毁约 去了别家")
    replies = await chat.tap("u2", "我改主意了，撤回婉拒")
    assert "HR 已经处理过了" in replies[0]
    assert await status_of(app, acted) == "declined"


# ---- an unanswered offer ---------------------------------------------------------------------


def _texts(chat: MemoryAdapter, user: str, since: int) -> list[str]:
    return [m.text for m in chat.sent[user][since:]]


async def live(app: App, clock: FixedClock, first: datetime, days: int) -> None:
    """Tick every half hour from ``first`` for ``days`` days, as the scheduler would."""
    moment = first
    while moment < first + days * DAY:
        clock.set(moment)
        await app.tick()
        moment += timedelta(minutes=30)


async def test_an_unanswered_offer_is_asked_again_then_hr_is_told(
    app: App, chat: MemoryAdapter, clock: FixedClock, hr: Staff
) -> None:
    silent = await bound(app, chat, hr, offer_date=START.date())
    answered = await bound(app, chat, hr, "李四", "u2", offer_date=START.date())
    await chat.tap("u2", "接受 offer")
    before = {user: len(chat.sent[user]) for user in ("u1", "u2", "hr-wang")}
    await live(app, clock, START, 12)
    to_silent = _texts(chat, "u1", before["u1"])
    reminders = [t for t in to_silent if "offer 还在等你确认" in t or "想再跟你确认一下" in t]
    assert len(reminders) == 2, to_silent
    assert "还在等你确认" in reminders[0] and "想再跟你确认一下" in reminders[1]
    assert not any("确认" in t and "offer" in t for t in _texts(chat, "u2", before["u2"]))
    to_hr = [t for t in _texts(chat, "hr-wang", before["hr-wang"]) if "没有回复" in t]
    assert to_hr == [
        "⏰ 张三（研发中心）的 offer 已经 10 天没有回复（机器人已提醒过两次）。"
        "建议打个电话问问有什么顾虑。"
    ]
    assert await status_of(app, silent) == "offered"
    # The reminder's button opens the offer.
    assert "恭喜" in (await chat.tap_payload("u1", "pa:offer"))[0]
    assert answered.id is not None


async def test_the_decision_day_asks_again(
    app: App, chat: MemoryAdapter, clock: FixedClock, hr: Staff
) -> None:
    await bound(app, chat, hr, offer_date=START.date())
    await chat.tap("u1", "需要更多时间")
    until = START.date() + timedelta(days=5)
    await chat.say("u1", until.isoformat())
    since = len(chat.sent["u1"])
    await live(app, clock, START + timedelta(hours=1), 6)
    texts = _texts(chat, "u1", since)
    assert sum("说想考虑到今天" in t for t in texts) == 1
    assert not any("offer 还在等你确认" in t for t in texts)  # not "unanswered": delayed


async def test_a_late_binder_starts_the_journey_when_they_arrive(
    app: App, chat: MemoryAdapter, clock: FixedClock, hr: Staff
) -> None:
    offer = date(2026, 5, 1)  # a month before they bind (START is 2026-06-01)
    await bound(
        app, chat, hr, offer_date=offer, training_date=date(2026, 8, 1), onboarding_date=None
    )
    since = len(chat.sent["u1"])
    await live(app, clock, START + timedelta(hours=1), 4)
    texts = _texts(chat, "u1", since)
    # Day 0, 1 and 3 from binding, not lapsed a month ago: welcome, team intro, reminder.
    assert any("恭喜你拿到" in t for t in texts), texts
    assert any("offer 还在等你确认" in t for t in texts), texts
