"""Binding a chat account with an invite code."""

from __future__ import annotations

from datetime import timedelta

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.people.binding import (
    BURST_ACCOUNTS,
    BURST_FAILURES,
    BURST_PAUSE,
    BURST_WINDOW,
    INVITE_ALPHABET,
    INVITE_LENGTH,
    LOCKOUT_FAILURES,
    looks_like_code,
    new_code,
    normalize_code,
)
from bot.runtime.app import App
from storage import invites, people
from tests.bot.helpers import add_candidate, add_staff


def test_codes_avoid_look_alikes() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == INVITE_LENGTH >= 10
        assert not set(code) & set("01OIL")
        assert set(code) <= set(INVITE_ALPHABET)
    assert normalize_code(" abcd-e2345 6") == "ABCDE23456"
    assert looks_like_code("abcde 23456")
    assert not looks_like_code("hello there")


async def test_bind_greets_by_name_and_tells_hr(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await add_candidate(app, "李雷", hr=hr)
    _, code = await add_candidate(app, "张三", hr=hr)
    replies = await chat.say("u1", f"/start {code}")
    assert "欢迎你，张三！你是研发中心今年第 1 位新伙伴" in replies[0]
    assert "接下来你需要" in replies[1] and "确认 offer" in replies[1]
    assert any("张三" in m.text and "绑定" in m.text for m in chat.sent["hr-wang"])
    # The second candidate of the department to bind is number 2.
    async with app.db.session() as session:
        lilei = (await people.find_candidates(session=session, name="李雷"))[0]
        invite = await invites.open_invite_for(
            session=session, candidate_id=lilei.id or 0, now=app.clock.now()
        )
    assert invite is not None
    replies = await chat.say("u2", f"绑定 {invite.code.lower()}")
    assert "第 2 位新伙伴" in replies[0]


async def test_bound_candidate_sees_progress(app: App, chat: MemoryAdapter) -> None:
    _, code = await add_candidate(app, "张三")
    await chat.say("u1", f"/bind {code}")
    replies = await chat.say("u1", "进度")
    assert "张三，你的入职准备已完成 0%" in replies[0]
    assert "距培训还有 19 天（2026-06-20）" in replies[0]
    assert "距入职还有 30 天（2026-07-01）" in replies[0]


async def test_used_code(app: App, chat: MemoryAdapter) -> None:
    _, code = await add_candidate(app, "张三")
    await chat.say("u1", f"/bind {code}")
    assert "已经绑定过了" in (await chat.say("u1", f"/bind {code}"))[0]
    assert "已经被使用" in (await chat.say("u2", f"/bind {code}"))[0]
    # u2 stays unbound
    assert "请先用" in (await chat.say("u2", "/progress"))[0]


async def test_expired_code(app: App, chat: MemoryAdapter, clock: FixedClock) -> None:
    _, code = await add_candidate(app, "张三")
    clock.advance(timedelta(days=61))
    assert "已过期" in (await chat.say("u1", f"/bind {code}"))[0]


async def test_unknown_code_and_usage(app: App, chat: MemoryAdapter) -> None:
    assert "不存在" in (await chat.say("u1", "/bind ZZZZZZZZZZ"))[0]
    assert "请在命令后附上邀请码" in (await chat.say("u1", "/bind"))[0]


async def test_bare_code_binds(app: App, chat: MemoryAdapter) -> None:
    _, code = await add_candidate(app, "张三")
    assert "欢迎你，张三" in (await chat.say("u1", code))[0]


async def test_lockout_after_five_failures(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    _, code = await add_candidate(app, "张三")
    for _ in range(4):
        assert "不存在" in (await chat.say("u1", "/bind WRONGWRONG"))[0]
        clock.advance(timedelta(minutes=5))
    fifth = (await chat.say("u1", "/bind WRONGWRONG"))[0]
    assert "错误次数过多" in fifth and "60 分钟" in fifth
    # Even the right code is refused while locked, and the refusal does not extend the lock.
    clock.advance(timedelta(minutes=30))
    locked = (await chat.say("u1", f"/bind {code}"))[0]
    assert "错误次数过多" in locked and "30 分钟" in locked
    # Another user is not affected.
    assert "不存在" in (await chat.say("u2", "/bind WRONGWRONG"))[0]
    clock.advance(timedelta(minutes=31))
    assert "欢迎你，张三" in (await chat.say("u1", f"/bind {code}"))[0]


async def test_failures_spread_out_do_not_lock(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    for _ in range(6):
        assert "不存在" in (await chat.say("u1", "/bind WRONGWRONG"))[0]
        clock.advance(timedelta(minutes=20))


async def test_bound_on_two_platforms(app: App, chat: MemoryAdapter, clock: FixedClock) -> None:
    other = MemoryAdapter(clock, platform="other")
    app.add_adapter(other)
    candidate, code = await add_candidate(app, "张三")
    await chat.say("u1", f"/bind {code}")
    async with app.db.session() as session:
        from bot.people.binding import issue_invite

        invite, created = await issue_invite(
            session=session, candidate_id=candidate.id or 0, now=clock.now(), ttl_days=60
        )
    assert created
    assert "欢迎你，张三" in (await other.say("x9", f"/bind {invite.code}"))[0]
    async with app.db.session() as session:
        identities = await people.identities_of(session=session, candidate_id=candidate.id)
    assert {i.platform for i in identities} == {"memory", "other"}


async def test_staff_cannot_bind(app: App, chat: MemoryAdapter) -> None:
    await add_staff(app, "王芳", "hr", user="hr-wang")
    _, code = await add_candidate(app, "张三")
    assert "员工账号" in (await chat.say("hr-wang", f"/bind {code}"))[0]


async def test_english_candidate(app: App, chat: MemoryAdapter) -> None:
    _, code = await add_candidate(app, "Emily", language="en")
    replies = await chat.say("u1", f"/bind {code}")
    assert replies[0].startswith("Welcome, Emily!")
    assert "ready" in (await chat.say("u1", "/progress"))[0]


async def test_guessing_across_many_accounts_is_slowed_and_reported(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    """60 accounts × 4 wrong codes each (the attack in issue 11) become 60 checked guesses."""
    await add_staff(app, "管理员", "admin", user="admin-1")
    _, code = await add_candidate(app, "张三")
    _, other_code = await add_candidate(app, "李四")
    accounts = [f"guesser-{n}" for n in range(60)]
    answers: list[str] = []
    for _ in range(4):
        for account in accounts:
            answers += await chat.say(account, "/bind WRONGWRONG")
        clock.advance(timedelta(seconds=10))
    checked = [a for a in answers if "不存在" in a]
    slowed = [a for a in answers if "输错过的账号要等一会儿" in a]
    assert len(checked) == 60 and len(slowed) == 180
    # Before the burst a wrong code is just wrong; from the 20th on it says to wait.
    assert all("分钟后再试" not in a for a in checked[: BURST_FAILURES - 1])
    assert all("2 分钟后再试" in a for a in checked[BURST_FAILURES - 1 :])
    async with app.db.session() as session:
        failures, _ = await invites.failures_everywhere(
            session=session, since=clock.now() - timedelta(hours=1)
        )
    assert failures == 60  # the slowed tries were not even looked at
    # The admin hears of it once, with the numbers.
    alerts = [m.text for m in chat.sent["admin-1"] if "安全提醒" in m.text]
    assert len(alerts) == 1
    assert f"{BURST_FAILURES} 个账号一共输错了 {BURST_FAILURES} 次" in alerts[0]
    # Someone typing their own code during the burst binds at once.
    assert "欢迎你，张三" in (await chat.say("newcomer", f"/bind {code}"))[0]
    # A guesser holding a real code waits out the pause, then binds.
    clock.advance(BURST_PAUSE)
    assert "欢迎你，李四" in (await chat.say(accounts[0], f"/bind {other_code}"))[0]
    # More wrong codes within the hour: no second alert.
    for account in accounts[1:30]:
        await chat.say(account, "/bind WRONGWRONG")
    assert len([m for m in chat.sent["admin-1"] if "安全提醒" in m.text]) == 1
    # Once the window has passed, a wrong code is only wrong again.
    clock.advance(BURST_WINDOW + timedelta(minutes=1))
    calm = (await chat.say("latecomer", "/bind WRONGWRONG"))[0]
    assert "不存在" in calm and "分钟后再试" not in calm


async def test_one_account_alone_is_no_burst(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    """Many wrong codes from few accounts are the per-account lockout's business."""
    await add_staff(app, "管理员", "admin", user="admin-1")
    for n in range(BURST_ACCOUNTS - 1):
        for _ in range(LOCKOUT_FAILURES):
            await chat.say(f"typo-{n}", "/bind WRONGWRONG")
    assert not [m for m in chat.sent.get("admin-1", []) if "安全提醒" in m.text]
