"""Offer confirmation dialog."""

from __future__ import annotations

import asyncio

from adapters.memory import MemoryAdapter
from bot.runtime.app import App
from storage import people
from storage.models import Candidate
from tests.bot.helpers import add_candidate, add_staff
from tests.flows.conftest import Restart


async def bound(app: App, chat: MemoryAdapter, user: str = "u1", **fields: object) -> Candidate:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    candidate, code = await add_candidate(app, "张三", hr=hr, position="后端开发工程师", **fields)
    replies = await chat.say(user, f"/bind {code}")
    assert "恭喜你收到研发中心「后端开发工程师」的 offer" in replies[-1]
    return candidate


async def reload(app: App, candidate: Candidate) -> Candidate:
    async with app.db.session() as session:
        found = await people.get_candidate(session=session, candidate_id=candidate.id or 0)
    assert found is not None
    return found


async def test_accept_with_button(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    replies = await chat.tap("u1", "接受 offer")
    assert "欢迎加入" in replies[0]
    assert (await reload(app, candidate)).offer_status == "accepted"
    assert "✅ 确认 offer" in (await chat.say("u1", "进度"))[0]
    assert "已经接受了 offer" in (await chat.say("u1", "/offer"))[0]


async def test_need_more_time_asks_until_when(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    ask = (await chat.tap("u1", "需要更多时间"))[0]
    # The example is a week ahead of today (2026-06-01), never a date already past.
    assert "什么时候" in ask and "例如 2026-06-08 或 6月8日" in ask
    bad = (await chat.say("u1", "下周吧"))[0]
    assert "没能识别" in bad and "2026-06-08" in bad
    assert "今天之后" in (await chat.say("u1", "2026-05-01"))[0]  # in the past
    replies = await chat.say("u1", "6月15日")
    assert "2026-06-15" in replies[0]
    stored = await reload(app, candidate)
    assert stored.offer_status == "delayed" and str(stored.offer_delay_until) == "2026-06-15"
    assert "需要更多时间" in chat.last("hr-wang").text and "2026-06-15" in chat.last("hr-wang").text
    # A delayed candidate can come back and accept.
    await chat.say("u1", "/offer")
    await chat.tap("u1", "接受 offer")
    assert (await reload(app, candidate)).offer_status == "accepted"


async def test_decline_with_reason_and_note_tells_hr(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    await chat.tap("u1", "婉拒")
    assert "确定要婉拒" in chat.last("u1").text  # one more tap before anything happens
    assert (await reload(app, candidate)).offer_status == "offered"
    await chat.tap("u1", "确定婉拒")
    assert (
        "请点击下面的按钮" in (await chat.say("u1", "就是不想去"))[0]
    )  # text where a choice is needed
    await chat.say("u1", "3")  # option number: location
    replies = await chat.say("u1", "家在成都，离家太远")
    assert "谢谢你坦诚" in replies[0]
    stored = await reload(app, candidate)
    assert stored.offer_status == "declined"
    assert stored.offer_decline_reason == "location"
    assert stored.offer_decline_note == "家在成都，离家太远"
    notice = chat.last("hr-wang").text
    assert "婉拒" in notice and "工作地点" in notice and "离家太远" in notice


async def test_wrong_inputs_get_the_hint_again(app: App, chat: MemoryAdapter) -> None:
    await bound(app, chat)
    replies = await chat.upload("u1", b"\xff\xd8\xff" + b"0" * 100, name="x.jpg")
    assert "请点击下面的按钮" in replies[0] and "恭喜" in replies[1]
    replies = await chat.say("u1", "9")
    assert "请点击下面的按钮" in replies[0]


async def test_help_and_progress_inside_the_flow(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    assert "/progress" in (await chat.say("u1", "/help"))[0]
    assert "准备已完成" in (await chat.say("u1", "进度"))[0]
    await chat.say("u1", "1")  # still at the decision step
    assert (await reload(app, candidate)).offer_status == "accepted"


async def test_cancel_leaves_the_flow(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    assert "已退出「offer 确认」" in (await chat.say("u1", "取消"))[0]
    await chat.say("u1", "1")  # no longer a choice: plain text outside any dialog
    assert (await reload(app, candidate)).offer_status == "offered"
    assert "没有进行中的操作" in (await chat.say("u1", "/cancel"))[0]


async def test_restart_resumes_at_the_same_step(
    app: App, chat: MemoryAdapter, restart: Restart
) -> None:
    candidate = await bound(app, chat)
    await chat.tap("u1", "婉拒")
    await chat.tap("u1", "确定婉拒")
    app2, chat2 = await restart()  # the process died; a new one takes over
    replies = await chat2.say("u1", "2")  # the decline-reason step: further study
    assert "补充" in replies[0]
    await chat2.say("u1", "跳过")
    stored = await reload(app2, candidate)
    assert stored.offer_status == "declined" and stored.offer_decline_reason == "further_study"


async def test_old_buttons_do_not_advance(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    decision = next(m for m in reversed(chat.sent["u1"]) if m.buttons)
    await chat.tap("u1", "需要更多时间")
    accept = next(b for b in decision.buttons if "接受" in b.label)
    await chat.dispatch(chat.incoming("u1", accept.label, payload=accept.payload))
    assert "按钮已过期" in chat.sent["u1"][-2].text
    assert "什么时候" in chat.last("u1").text  # and the question it is waiting for
    assert (await reload(app, candidate)).offer_status == "offered"


async def test_two_taps_at_once_advance_once(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    decision = next(m for m in reversed(chat.sent["u1"]) if m.buttons)
    decline = next(b for b in decision.buttons if "婉拒" in b.label)
    later = next(b for b in decision.buttons if "更多时间" in b.label)
    await asyncio.gather(
        chat.dispatch(chat.incoming("u1", decline.label, payload=decline.payload)),
        chat.dispatch(chat.incoming("u1", later.label, payload=later.payload)),
    )
    texts = [m.text for m in chat.sent["u1"][-3:]]
    assert sum("按钮已过期" in t for t in texts) == 1
    assert (await reload(app, candidate)).offer_status == "offered"


async def test_two_processes_one_step(app: App, chat: MemoryAdapter, restart: Restart) -> None:
    """Two processes get two different messages for the same step at once."""
    candidate = await bound(app, chat)
    await chat.tap("u1", "婉拒")
    await chat.tap("u1", "确定婉拒")
    _, chat2 = await restart()
    await asyncio.gather(chat.say("u1", "1"), chat2.say("u1", "4"))
    stored = await reload(app, candidate)
    # The messages were taken one after the other: one chose the reason, the other
    # met the next step (the free-text note) -- never both as the reason.
    assert (stored.offer_decline_reason, stored.offer_decline_note) in (
        ("better_offer", "4"),
        ("salary", "1"),
    )


async def test_declining_can_be_reconsidered_and_hr_hears_of_acceptance(
    app: App, chat: MemoryAdapter
) -> None:
    candidate = await bound(app, chat)
    await chat.tap("u1", "婉拒")
    replies = await chat.tap("u1", "再想想")
    assert "不着急" in replies[0] and "恭喜" in replies[1]  # back to the decision
    assert (await reload(app, candidate)).offer_status == "offered"
    await chat.tap("u1", "接受")
    assert (await reload(app, candidate)).offer_status == "accepted"
    assert "接受了 offer" in chat.last("hr-wang").text


async def test_a_question_during_the_offer_prompt_is_answered_first(
    app: App, chat: MemoryAdapter
) -> None:
    candidate = await bound(app, chat)
    replies = await chat.say("u1", "公司有员工宿舍吗？")
    assert replies[0].startswith("💡") and "再来看看 offer" in replies[0]
    assert "恭喜" in replies[1]  # and the offer is asked again
    replies = await chat.say("u1", "我能带我的猫来上班吗")
    assert "确认完 offer 后再发我一次" in replies[0]
    assert (await reload(app, candidate)).offer_status == "offered"


async def test_pending_approval_offer_is_not_asked(app: App, chat: MemoryAdapter) -> None:
    _, code = await add_candidate(app, "李四", offer_status="pending_approval")
    replies = await chat.say("u2", f"/bind {code}")
    assert not any("恭喜" in r for r in replies)
    assert "审批" in (await chat.say("u2", "/offer"))[0]
