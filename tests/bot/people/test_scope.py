"""The staff data scope: HR see their own candidates, admins everyone; ambiguous names ask."""

from __future__ import annotations

from adapters.memory import MemoryAdapter
from bot.runtime.app import App
from tests.bot.helpers import add_candidate, add_staff


async def test_hr_sees_only_own_candidates(app: App, chat: MemoryAdapter) -> None:
    hr_a = await add_staff(app, "王芳", "hr", user="hr-a")
    hr_b = await add_staff(app, "刘洋", "hr", user="hr-b")
    await add_candidate(app, "张三", hr=hr_a, phone="+8613812345678", school="浙江大学")
    reply_a = (await chat.say("hr-a", "/status 张三"))[0]
    assert "张三" in reply_a and "浙江大学" in reply_a
    assert "138****5678" in reply_a and "13812345678" not in reply_a
    reply_b = (await chat.say("hr-b", "/status 张三"))[0]
    assert "没有找到你负责的候选人「张三」" in reply_b
    assert "浙江大学" not in reply_b
    # Guessing an id does not get around the scope either.
    assert "没有找到" in (await chat.say("hr-b", "/status #1"))[0]
    assert hr_b.id is not None


async def test_admin_sees_everyone(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr")
    await add_candidate(app, "张三", hr=hr, school="浙江大学")
    # "memory:root" is in ADMIN_IDS in the test settings.
    assert "浙江大学" in (await chat.say("root", "/status 张三"))[0]
    admin = await add_staff(app, "陈静", "admin", user="admin-chen")
    assert admin.id is not None
    assert "浙江大学" in (await chat.say("admin-chen", "状态 张三"))[0]


async def test_ambiguous_name_asks_which(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-a")
    await add_candidate(app, "张伟", hr=hr, school="浙江大学", phone="+8613800000001")
    await add_candidate(app, "张伟", hr=hr, school="复旦大学", phone="+8613800000002")
    replies = await chat.say("hr-a", "/status 张伟")
    assert "找到 2 位" in replies[0]
    labels = [b.label for b in chat.last("hr-a").buttons]
    assert any("复旦大学" in label for label in labels)
    chosen = (await chat.tap("hr-a", "复旦大学"))[0]
    assert "复旦大学" in chosen and "浙江大学" not in chosen


async def test_other_hrs_button_is_refused(app: App, chat: MemoryAdapter) -> None:
    hr_a = await add_staff(app, "王芳", "hr", user="hr-a")
    await add_staff(app, "刘洋", "hr", user="hr-b")
    candidate, _ = await add_candidate(app, "张三", hr=hr_a, school="浙江大学")
    # A forged or forwarded button payload is checked like the command.
    await chat.dispatch(chat.incoming("hr-b", "x", payload=f"st:{candidate.id}"))
    assert "没有找到" in chat.last("hr-b").text
