"""Role refusals and HR data scope."""

from __future__ import annotations

from adapters.memory import MemoryAdapter
from bot.runtime.app import App
from tests.bot.helpers import add_candidate, add_staff


async def test_unknown_command_gets_short_help(app: App, chat: MemoryAdapter) -> None:
    replies = await chat.say("u1", "/frobnicate")
    assert "没有 /frobnicate 这个命令" in replies[0]
    assert "/bind" in replies[1]


async def test_candidate_cannot_run_staff_command(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await add_candidate(app, "李四", hr=hr, phone="+8613800000002")
    _, code = await add_candidate(app, "张三", hr=hr)
    await chat.say("u1", f"/bind {code}")
    reply = (await chat.say("u1", "/status 李四"))[0]
    assert "不对你开放" in reply
    assert "李四" not in reply and "138" not in reply


async def test_unbound_user_is_asked_to_bind(app: App, chat: MemoryAdapter) -> None:
    assert "邀请码" in (await chat.say("stranger", "/status 张三"))[0]
    assert "邀请码" in (await chat.say("stranger", "/progress"))[0]


async def test_manager_cannot_use_status(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr")
    await add_staff(app, "李强", "manager", user="mgr")
    await add_candidate(app, "张三", hr=hr, school="浙江大学")
    reply = (await chat.say("mgr", "/status 张三"))[0]
    assert "不对你开放" in reply and "浙江大学" not in reply


async def test_language_switch(app: App, chat: MemoryAdapter) -> None:
    _, code = await add_candidate(app, "张三")
    await chat.say("u1", f"/bind {code}")
    assert "English" in (await chat.say("u1", "/lang en"))[0]
    assert "ready" in (await chat.say("u1", "/progress"))[0]
    assert "/lang zh" in (await chat.say("u1", "/lang fr"))[0]
