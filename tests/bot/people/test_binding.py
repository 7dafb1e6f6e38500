"""Binding a chat account with an invite code."""

from __future__ import annotations

from datetime import timedelta

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.people.binding import (
    INVITE_ALPHABET,
    INVITE_LENGTH,
    looks_like_code,
    new_code,
    normalize_code,
)
from bot.runtime.app import App
from storage import people
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
        from storage import invites

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
