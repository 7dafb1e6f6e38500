"""The weekly check-in: a push every week with three answers, remembered and scored."""

from __future__ import annotations

from datetime import date, timedelta

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.runtime.app import App
from bot.scoring.jobs import refresh
from storage import checkins
from tests.bot.helpers import add_candidate, add_staff
from tests.bot.pushes.test_state import SHANGHAI, live, local

OFFER = date(2026, 5, 4)  # four weeks before: the offer-day journey is over


async def test_every_week_a_check_in_and_a_worried_answer_reaches_hr(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    clock.set(local(date(2026, 6, 1), 9))  # a Monday
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    candidate, code = await add_candidate(
        app,
        "张三",
        hr=hr,
        offer_date=OFFER,
        training_date=date(2026, 8, 28),
        onboarding_date=date(2026, 9, 1),
        offer_status="accepted",
        # Bound on another account weeks ago: the first weeks' journey is behind them.
        bound_at=local(OFFER, 10),
    )
    await chat.say("zs", f"/bind {code}")
    got = await live(app, chat, clock, "zs", date(2026, 6, 29))
    asks = [(at, m) for at, m in got if [b.payload for b in m.buttons][:1] == ["ci:fine"]]
    # Last week's check-in is still open when they bind this account (the next tick),
    # then one a week on Tuesday evening, each week a different wording.
    when = [at.astimezone(SHANGHAI).strftime("%a %H:%M") for at, _ in asks]
    assert when == ["Mon 10:00"] + ["Tue 19:00"] * 4
    assert len({m.text for _, m in asks[:4]}) == 4
    assert [b.label for b in asks[0][1].buttons] == ["😊 一切顺利", "😟 有点担心", "🙋 我有问题"]

    reply = await chat.tap("zs", "有点担心")
    assert "已经请王芳联系你" in reply[0]
    await chat.tap("zs", "有点担心")  # tapped again the same week: HR hears once
    notices = [m.text for m in chat.sent["hr-wang"] if "本周签到" in m.text]
    assert notices == ["📋 张三（研发中心）在本周签到里选了「有点担心」，方便的话联系一下 TA。"]
    assert candidate.id is not None
    async with app.db.session() as session:
        answers = await checkins.checkins_since(
            session=session, candidate_ids=[candidate.id], since=clock.now() - timedelta(days=1)
        )
        score = await refresh(session, app.services, candidate, clock.now(), force=True)
    assert [a.answer for a in answers] == ["worried"]
    assert {"code": "checkin_worried"} in score.reasons
    # Changing one's mind the same week replaces the answer.
    assert "太好了" in (await chat.tap("zs", "一切顺利"))[0]
