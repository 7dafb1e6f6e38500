"""Pushes fit the candidate's state when they are sent (shipped content, hour by hour)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.messages import Outgoing
from bot.pushes.planner import plan_pushes
from bot.runtime.app import App
from storage import outbox, people, welcomes
from storage.models import Outbox, OutboxCategory
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


async def candidate(
    app: App, chat: MemoryAdapter, user: str, *, accept: bool = False, **fields: object
) -> None:
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
    if accept:
        await chat.tap(user, "接受")


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
        assert "训练营就开营啦" not in text and "截止日" not in text, text
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
    # The eve of training says when and where; a passed deadline is followed up once.
    [eve] = [(at, t) for at, m in got if "训练营就开营啦" in (t := m.text)]
    assert eve[0].astimezone(SHANGHAI).date() == date(2026, 6, 18)
    assert "明天（6月19日）" in eve[1] and "B 座 3 楼培训中心" in eve[1]
    [overdue] = [(at, t) for at, m in got if "已经过了" in (t := m.text)]
    assert overdue[0].astimezone(SHANGHAI).date() == date(2026, 6, 13)
    assert "截止日（6月12日）已经过了" in overdue[1] and "身份证正面" in overdue[1]
    # Never two pushes within two hours of each other.
    times = [at for at, m in got if m.text.startswith("**")]
    assert all(b - a >= timedelta(hours=2) for a, b in itertools.pairwise(times))


# ---- promises kept on their day -----------------------------------------------------------


async def record_welcome(app: App, text: str) -> None:
    async with app.db.session() as session:
        manager = await people.add_staff(
            session=session, name="李强", role="manager", department="研发中心", now=app.clock.now()
        )
        assert manager.id is not None
        await welcomes.save_welcome(
            session=session,
            department="研发中心",
            staff_id=manager.id,
            kind="text",
            text=text,
            file_path=None,
            file_name=None,
            mime_type=None,
            now=app.clock.now(),
        )


async def test_the_managers_welcome_reaches_new_and_earlier_candidates(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    """On day 3 for a new candidate; as the next push for one past day 3 at recording."""
    clock.set(local(OFFER, 11))
    await candidate(app, chat, "early", accept=True)
    await live(app, chat, clock, "early", date(2026, 6, 8))  # day 7: past day 3
    await record_welcome(app, "欢迎加入研发中心！报到那天我在门口等你。")
    recorded = clock.now()
    later = date(2026, 6, 9)
    hr = await add_staff(app, "赵敏", "hr", user="hr-late")
    _, code = await add_candidate(
        app,
        "李四",
        hr=hr,
        offer_date=later,
        training_date=date(2026, 6, 19),
        onboarding_date=date(2026, 6, 22),
    )
    early = await live(app, chat, clock, "early", later)
    clock.set(local(later, 10))
    await chat.say("late", f"/bind {code}")
    await chat.tap("late", "接受")
    late = await live(app, chat, clock, "late", date(2026, 6, 15))
    early_at = next(at for at, m in early if "报到那天我在门口等你" in m.text)
    assert early_at - recorded < timedelta(days=1)  # the next push
    late_at = next(at for at, m in late if "报到那天我在门口等你" in m.text)
    assert late_at.astimezone(SHANGHAI).date() == later + timedelta(days=3)
    assert sum("报到那天我在门口等你" in m.text for _, m in early + late) == 2


async def test_a_birthday_is_greeted_on_the_day_even_in_a_full_week(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    clock.set(local(OFFER, 9))
    # Day 1 and day 3 bring two pushes (the weekly cap); the birthday on day 4 still comes.
    await candidate(app, chat, "bday", birthday=date(2001, 6, 5))
    got = await live(app, chat, clock, "bday", date(2026, 6, 7))
    greetings = [at for at, m in got if "生日快乐" in m.text]
    assert [at.astimezone(SHANGHAI).date() for at in greetings] == [date(2026, 6, 5)]


async def test_a_long_silence_goes_past_the_cap(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    """Two pushes 6½ and 6¼ days ago fill the week's cap; the candidate has heard nothing
    since, so the open check-in goes anyway (PUSH_MAX_SILENCE_DAYS)."""
    wednesday = local(date(2026, 6, 10), 10)  # the check-in of Tuesday 06-09 is open
    clock.set(wednesday - timedelta(days=30))  # bound long ago: the first weeks' slots are past
    await candidate(
        app,
        chat,
        "quiet",
        offer_date=date(2026, 5, 1),
        training_date=date(2026, 7, 10),
        onboarding_date=date(2026, 7, 15),
        doc_deadline=date(2026, 7, 5),
        accept=True,
    )
    async with app.db.session() as session:
        cid = (await people.find_candidates(session=session, name="张三"))[0].id
        for ago in (timedelta(days=6, hours=12), timedelta(days=6, hours=6)):
            row = await outbox.enqueue(
                session=session,
                kind="push",
                payload={"text": "earlier"},
                due_at=wednesday - ago,
                now=wednesday - ago,
                candidate_id=cid,
                category=OutboxCategory.PUSH.value,
            )
            assert row is not None
            await outbox.mark_sent(session=session, row_id=row, now=wednesday - ago)
    clock.set(wednesday)
    await plan_pushes(app.db, app.services, clock.now())
    async with app.db.session() as session:
        keys = [
            r.dedupe_key
            for r in (await session.exec(select(Outbox).where(Outbox.candidate_id == cid))).all()
        ]
    assert f"push:{cid}:checkin:2026-06-09" in keys
