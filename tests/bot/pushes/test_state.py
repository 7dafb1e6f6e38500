"""Pushes fit the candidate's state when they are sent (shipped content, hour by hour)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.messages import Outgoing
from bot.runtime.app import App
from tests.bot.helpers import add_candidate, add_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFER = date(2026, 6, 1)


def local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


async def live(
    app: App, chat: MemoryAdapter, clock: FixedClock, user: str, until: date
) -> list[tuple[datetime, Outgoing]]:
    """Tick hour by hour until ``until`` (not at night: quiet hours hold everything back
    to 09:00); what ``user`` received, with when."""
    got: list[tuple[datetime, Outgoing]] = []
    seen = len(chat.sent[user])
    now = clock.now()
    while now < local(until, 0):
        now += timedelta(hours=1)
        clock.set(now)
        if now.astimezone(SHANGHAI).hour in range(9, 22):
            await app.tick()
        got += [(now, m) for m in chat.sent[user][seen:]]
        seen = len(chat.sent[user])
    return got


def offer_buttons(message: Outgoing) -> list[str]:
    return [b.payload for b in message.buttons if b.payload and b.payload.startswith("pa:offer")]


async def candidate(app: App, chat: MemoryAdapter, user: str, **fields: object) -> None:
    hr = await add_staff(app, "王芳", "hr", user=f"hr-{user}")
    values: dict[str, object] = {
        "offer_date": OFFER,
        "training_date": date(2026, 6, 19),
        "onboarding_date": date(2026, 6, 22),
        "doc_deadline": date(2026, 6, 12),
        "hometown": "成都",
        "work_city": "杭州",
        **fields,
    }
    _, code = await add_candidate(app, "张三", hr=hr, **values)
    await chat.say(user, f"/bind {code}")


async def test_a_silent_candidate_is_never_asked_for_documents_and_hears_nothing_after_day_one(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    clock.set(local(OFFER, 11))
    await candidate(app, chat, "silent")
    bound = clock.now()
    got = await live(app, chat, clock, "silent", date(2026, 6, 30))
    texts = [m.text for _, m in got]
    # Nothing asks for documents, lists what to bring or counts down to a start they
    # have not agreed to.
    for text in texts:
        assert "入职材料还差" not in text and "物品清单" not in text, text
        assert "倒计时" not in text and "明天就是你的第一天" not in text, text
    # The welcome push still asks to confirm the offer, two hours after binding.
    first_at, first = got[0]
    assert first_at - bound >= timedelta(hours=2)
    assert "欢迎加入星河科技" in first.text and offer_buttons(first)
    # The journey ends on day one.
    assert all(at < local(date(2026, 6, 22), 0) for at, _ in got)


async def test_an_accepted_candidate_is_not_asked_to_confirm_again(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    clock.set(local(OFFER, 9))
    await candidate(app, chat, "yes")
    await chat.tap("yes", "接受")
    got = await live(app, chat, clock, "yes", date(2026, 6, 23))
    assert not [m.text for _, m in got if offer_buttons(m) or "确认一下 offer" in m.text]
    welcome = next(m for _, m in got if "欢迎加入星河科技" in m.text)
    assert "有任何顾虑都可以直接问我" in welcome.text
    texts = [m.text for _, m in got]
    # Accepted: the document deadline, the list to bring and the countdowns come.
    assert any("入职材料还差" in t for t in texts)
    assert any("明天就是你的第一天" in t for t in texts)
    # Never two pushes within two hours of each other.
    times = [at for at, m in got if m.text.startswith("**")]
    assert all(b - a >= timedelta(hours=2) for a, b in itertools.pairwise(times))
