"""Questions answered from the FAQ, or carried to HR as tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.runtime.app import App
from storage import questions
from storage.models import Candidate, Staff
from tests.bot.helpers import add_candidate, add_staff


@pytest.fixture
async def people(app: App, chat: MemoryAdapter) -> tuple[Staff, Candidate]:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    candidate, code = await add_candidate(app, "张三", hr=hr, offer_status="accepted")
    await chat.say("u1", f"/bind {code}")
    return hr, candidate


async def test_faq_answer_and_helpful(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    replies = await chat.say("u1", "公司有员工宿舍吗？我是外地的")
    assert "人才公寓" in replies[0] and "有帮助吗" in replies[0]
    assert "太好了" in (await chat.tap("u1", "有帮助"))[0]
    assert "已经收到你的反馈" in (await chat.tap("u1", "有帮助"))[0]
    assert not any("问题 #" in m.text for m in chat.sent["hr-wang"])


async def test_not_helpful_opens_a_ticket_and_hr_replies_by_button(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    await chat.say("u1", "公司有员工宿舍吗？")
    replies = await chat.tap("u1", "没解决")
    assert "转给你的 HR 王芳" in replies[0] and "24 小时" in replies[0]
    notice = chat.last("hr-wang").text
    assert "张三" in notice and "员工宿舍" in notice
    assert "请输入给 张三 的回复" in (await chat.tap("hr-wang", "回复"))[0]
    assert "已把回复发给 张三" in (await chat.say("hr-wang", "可以住 3 号楼，入职前一周联系我"))[0]
    answer = chat.last("u1").text
    assert "王芳" in answer and "3 号楼" in answer and "员工宿舍" in answer


async def test_unknown_question_goes_to_hr_and_reply_command(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    replies = await chat.say("u1", "我能带我的猫来上班吗")
    assert replies == ["这个问题我暂时答不上来。要我转给你的 HR 吗？"]
    assert not [m for m in chat.sent["hr-wang"] if "#" in m.text]  # nothing yet
    replies = await chat.tap("u1", "转给 HR")
    assert "转给你的 HR" in replies[0]
    assert "已经转给 HR" in (await chat.tap("u1", "转给 HR"))[0]  # tapped twice: one ticket
    notice = chat.last("hr-wang").text
    ticket_id = notice.split("#", 1)[1].split(" ", 1)[0]
    await chat.say("hr-wang", f"/reply {ticket_id} 抱歉，办公区不能带宠物")
    assert "办公区不能带宠物" in chat.last("u1").text
    assert "已经回复过了" in (await chat.say("hr-wang", f"/reply {ticket_id} 再说一次"))[0]
    assert "没有待回复的问题" in (await chat.say("hr-wang", "/reply"))[0]


async def test_other_hr_cannot_answer(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    await add_staff(app, "刘洋", "hr", user="hr-liu")
    await chat.say("u1", "我能带我的猫来上班吗")
    await chat.tap("u1", "转给 HR")
    ticket_id = chat.last("hr-wang").text.split("#", 1)[1].split(" ", 1)[0]
    assert "找不到你负责的问题" in (await chat.say("hr-liu", f"/reply {ticket_id} 可以"))[0]
    assert not any(m.text == "可以" for m in chat.sent["u1"])


async def test_overdue_ticket_is_escalated_once(
    app: App, chat: MemoryAdapter, clock: FixedClock, people: tuple[Staff, Candidate]
) -> None:
    await add_staff(app, "陈静", "admin", user="admin-chen")
    await chat.say("u1", "我能带我的猫来上班吗")
    await chat.tap("u1", "转给 HR")
    clock.advance(timedelta(hours=23))
    await app.housekeeping()
    assert not chat.sent["admin-chen"]
    clock.advance(timedelta(hours=2))
    await app.housekeeping()
    assert "超过 24 小时" in chat.last("hr-wang").text
    assert "升级提醒" in chat.last("admin-chen").text
    before = len(chat.sent["admin-chen"])
    await app.housekeeping()
    assert len(chat.sent["admin-chen"]) == before


async def test_file_outside_a_flow_gets_a_pointer(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    assert "发送「材料」" in (await chat.upload("u1", b"\xff\xd8\xff", name="x.jpg"))[0]


async def test_noise_and_thanks_get_a_kind_word_not_a_ticket(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    """The cases from issue 12: none of them reaches HR."""
    for noise in ("asdfghjkl", "😀😀😀", "？？？", "A", "123"):
        assert "没太明白你的意思" in (await chat.say("u1", noise))[0], noise
    assert "不客气" in (await chat.say("u1", "谢谢！"))[0]
    assert "一两句话" in (await chat.say("u1", "很长的一段话。" * 800))[0]
    # A real question the FAQ cannot answer is offered, and "no" keeps it here.
    assert "要我转给你的 HR 吗" in (await chat.say("u1", "今天天气怎么样"))[0]
    assert "不转了" in (await chat.tap("u1", "不用了"))[0]
    assert not [m for m in chat.sent["hr-wang"] if "#" in m.text]
    async with app.db.session() as session:
        assert await questions.ticket_for_question(session=session, question_id=1) is None


async def test_staff_notices_quote_a_long_question_in_part(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    long_question = "请问入职以后的住房补贴怎么申请？" + "我想了解得更详细一些。" * 40
    await chat.say("u1", long_question)
    await chat.tap("u1", "转给 HR")
    notice = chat.last("hr-wang").text
    assert long_question[:50] in notice and long_question not in notice and "…" in notice
    assert len(notice) < 450


async def test_reply_alone_lists_open_questions_oldest_first_with_buttons(
    app: App, chat: MemoryAdapter, clock: FixedClock, people: tuple[Staff, Candidate]
) -> None:
    for n in range(12):
        await chat.say("u1", f"第 {n} 个问题：能不能带宠物{n}号来上班")
        await chat.tap("u1", "转给 HR")
        clock.advance(timedelta(hours=1))
    listing = (await chat.say("hr-wang", "回复"))[0]
    assert "共 12 个" in listing and "第 1/2 页" in listing
    assert listing.index("第 0 个问题") < listing.index("第 9 个问题")  # oldest first
    assert "第 10 个问题" not in listing and "用法" in listing
    buttons = [b.label for b in chat.last("hr-wang").buttons]
    assert buttons[:2] == ["回复 #1", "回复 #2"] and buttons[-1].startswith("下一页")
    second = (await chat.tap("hr-wang", "下一页"))[0]
    assert "第 2/2 页" in second and "第 11 个问题" in second
    # Another HR sees none of them.
    await add_staff(app, "刘洋", "hr", user="hr-liu")
    assert "没有待回复的问题" in (await chat.say("hr-liu", "/reply"))[0]
