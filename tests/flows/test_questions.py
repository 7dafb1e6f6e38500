"""Questions answered from the FAQ, or carried to HR as tickets."""

from __future__ import annotations

from datetime import date, timedelta

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


async def test_overdue_tickets_are_reminded_in_one_message_a_day(
    app: App, chat: MemoryAdapter, clock: FixedClock, people: tuple[Staff, Candidate]
) -> None:
    """The issue's case: many questions left unanswered give HR one digest and each admin
    one grouped escalation a day, not one message per ticket per person."""
    await add_staff(app, "陈静", "admin", user="admin-chen")
    asked = ["我能带我的猫来上班吗", "公司可以养鱼吗", "能在工位上种一盆向日葵吗"]
    asked += [f"我的第 {n} 只猫可以一起带来公司吗" for n in range(11)]
    for text in asked:
        await chat.say("u1", text)
        await chat.tap("u1", "转给 HR")
    hr_before = len(chat.sent["hr-wang"])
    clock.advance(timedelta(hours=23))  # 09:00 the next day: not overdue yet
    await app.housekeeping()
    assert not chat.sent["admin-chen"]
    clock.advance(timedelta(hours=2))  # 11:00: all fourteen past the 24-hour SLA
    await app.housekeeping()
    [escalation] = chat.sent["admin-chen"]
    assert escalation.text.startswith("⏰ 升级提醒：14 个问题超过 24 小时无人回复")
    assert "· #1 张三（HR：王芳，已等 25 小时）：我能带我的猫来上班吗" in escalation.text
    assert "还有 9 个，发送 /reply 查看全部" in escalation.text
    assert [b.payload for b in escalation.buttons] == [f"tk:{n}" for n in range(1, 6)]
    # HR: no message per ticket; at 09:00 the day was calm (no digest on a Tuesday), so
    # the day's digest is written once the SLA passed and lists them, with reply buttons.
    [digest] = chat.sent["hr-wang"][hr_before:]
    assert "超过 24 小时未回复的问题 14 个" in digest.text
    assert "· #1 张三：我能带我的猫来上班吗" in digest.text
    assert [b.payload for b in digest.buttons] == ["tk:1", "tk:2", "tk:3"]
    for _ in range(3):
        await app.housekeeping()
    assert len(chat.sent["admin-chen"]) == 1 and len(chat.sent["hr-wang"]) == hr_before + 1
    clock.advance(timedelta(hours=22))  # 09:00 the day after: the digest lists them again
    await app.housekeeping()
    assert "超过 24 小时未回复的问题 14 个" in chat.last("hr-wang").text
    assert len(chat.sent["admin-chen"]) == 1  # escalated once, not again every day
    # A new one crossing the SLA later that day waits for the next day's message.
    await chat.say("u1", "宿舍里可以自己做饭吗这个想问问")
    await chat.tap("u1", "转给 HR")
    clock.advance(timedelta(days=1, hours=1))
    await app.housekeeping()
    assert len(chat.sent["admin-chen"]) == 2
    assert "1 个问题超过 24 小时" in chat.last("admin-chen").text


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
    for hello in ("你好", "在吗？", "Hi!"):  # a hello is greeted, not offered to HR
        reply = (await chat.say("u1", hello))[0]
        assert reply.startswith("你好，张三！") and "「进度」" in reply, hello
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


async def test_the_quoted_faq_misses_are_answered_right(
    app: App, chat: MemoryAdapter, people: tuple[Staff, Candidate]
) -> None:
    laptop = (await chat.say("u1", "培训要带电脑吗"))[0]
    assert "公司配发电脑" in laptop and "不用自带" in laptop
    # A December hire asking to postpone hears their own date, not a summer deadline.
    hr, _ = people
    _, code = await add_candidate(
        app, "陈七", hr=hr, onboarding_date=date(2026, 12, 14), offer_status="accepted"
    )
    await chat.say("u7", f"/bind {code}")
    later = (await chat.say("u7", "可以推迟入职吗"))[0]
    assert "你现在的入职日期是 12月14日" in later, later
    assert "8 月 31 日" not in later and "王芳" in later
    start = (await chat.say("u7", "我哪天入职"))[0]
    assert "你的入职日期是 12月14日" in start and "7 月" not in start
    # In English too, and without a date on file the answer says where to find it.
    _, code = await add_candidate(app, "Lee", hr=hr, onboarding_date=None)
    await chat.say("u8", f"/bind {code}")
    await chat.say("u8", "/lang en")
    when = (await chat.say("u8", "When is my start date?"))[0]
    assert "offer and joining notice" in when and "{" not in when
