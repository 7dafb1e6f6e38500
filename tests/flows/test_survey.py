"""Satisfaction survey."""

from __future__ import annotations

from datetime import timedelta

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.runtime.app import App
from storage import surveys
from storage.models import Candidate, SurveyResponse
from tests.bot.helpers import add_candidate, add_staff
from tests.flows.conftest import Restart

RATING_HINT = "请点击 1–5 的按钮打分"


async def bound(app: App, chat: MemoryAdapter, user: str = "u1") -> Candidate:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    candidate, code = await add_candidate(app, "张三", hr=hr, offer_status="accepted")
    await chat.say(user, f"/bind {code}")
    return candidate


async def responses(app: App, candidate: Candidate) -> list[SurveyResponse]:
    async with app.db.session() as session:
        return list(
            await surveys.survey_responses_of(session=session, candidate_id=candidate.id or 0)
        )


def hr_texts(chat: MemoryAdapter, since: int) -> list[str]:
    return [m.text for m in chat.sent["hr-wang"][since:]]


async def test_answer_the_survey(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    hr_before = len(chat.sent["hr-wang"])
    replies = await chat.say("u1", "问卷")
    assert "6 个问题" in replies[0] and "（1/6）" in replies[1] and "HR 的沟通" in replies[1]
    assert [b.label for b in chat.last("u1").buttons] == ["1", "2", "3", "4", "5"]
    assert "（2/6）" in (await chat.tap("u1", "4"))[0]
    assert "（3/6）" in (await chat.tap("u1", "5"))[0]
    assert "（4/6）" in (await chat.say("u1", "4"))[0]  # a typed rating
    assert [b.label for b in chat.last("u1").buttons] == ["跳过"]
    assert "（5/6）" in (await chat.say("u1", "认识新同事，做真正上线的产品"))[0]
    replies = await chat.tap("u1", "跳过")
    assert "（6/6）" in replies[0]
    assert [b.label for b in chat.last("u1").buttons] == ["有", "没有", "不方便说"]
    replies = await chat.tap("u1", "没有")
    assert "问卷完成，谢谢你的反馈" in replies[0]
    [row] = await responses(app, candidate)
    assert row.ratings == {"hr_communication": 4, "next_steps": 5, "confidence": 4}
    assert row.looking_forward == "认识新同事，做真正上线的产品"
    assert row.open_questions is None and row.other_offers == "no"
    assert hr_texts(chat, hr_before) == []  # nothing worrying, nothing to answer
    assert "还没有积分" in (await chat.say("u1", "/points"))[0]  # the survey is over


async def test_low_ratings_alert_hr_at_once(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    hr_before = len(chat.sent["hr-wang"])
    await chat.say("u1", "/survey")
    await chat.tap("u1", "2")
    [alert] = hr_texts(chat, hr_before)
    assert "张三（研发中心）" in alert and "「与 HR 的沟通」打了 2 分" in alert
    await chat.tap("u1", "3")
    await chat.tap("u1", "1")
    assert "「对选择的信心」打了 1 分" in hr_texts(chat, hr_before)[-1]
    assert len(hr_texts(chat, hr_before)) == 2
    await chat.say("u1", "跳过")  # the skip label, typed
    await chat.tap("u1", "跳过")
    await chat.tap("u1", "不方便说")
    [row] = await responses(app, candidate)
    assert row.ratings == {"hr_communication": 2, "next_steps": 3, "confidence": 1}
    assert row.looking_forward is None and row.open_questions is None
    assert row.other_offers == "private"
    assert len(hr_texts(chat, hr_before)) == 2


async def test_question_and_other_offers_go_to_hr(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    hr_before = len(chat.sent["hr-wang"])
    await chat.say("u1", "/survey")
    for score in ("5", "4", "5"):
        await chat.tap("u1", score)
    await chat.tap("u1", "跳过")
    await chat.say("u1", "入职体检需要在哪家医院做？")
    [question] = hr_texts(chat, hr_before)
    assert "张三" in question and "入职体检需要在哪家医院做？" in question
    replies = await chat.tap("u1", "有")
    assert "你的问题已经转给 HR" in replies[0]
    assert "其他 offer" in hr_texts(chat, hr_before)[-1]
    [row] = await responses(app, candidate)
    assert row.looking_forward is None
    assert row.open_questions == "入职体检需要在哪家医院做？"
    assert row.other_offers == "yes"
    # A numbered ticket with a reply button: HR answers it like any other question.
    assert question.startswith("❓ 问题 #") and "在满意度问卷里留了一个问题" in question
    number = question.split("#")[1].split("：")[0]
    hr_message = next(m for m in chat.sent["hr-wang"] if m.text == question)
    assert hr_message.buttons[0].payload == f"tk:{number}"
    listed = (await chat.say("hr-wang", "/reply"))[0]
    assert f"#{number}" in listed and "入职体检" in listed
    await chat.say("hr-wang", f"/reply {number} 在公司附近的体检中心，地址稍后发你")
    assert "体检中心" in chat.last("u1").text


async def test_nothing_to_ask_in_the_survey_is_no_ticket(app: App, chat: MemoryAdapter) -> None:
    await bound(app, chat)
    hr_before = len(chat.sent["hr-wang"])
    await chat.say("u1", "/survey")
    for score in ("5", "4", "5"):
        await chat.tap("u1", score)
    await chat.tap("u1", "跳过")
    await chat.say("u1", "暂时没有")
    replies = await chat.tap("u1", "没有")
    assert "问卷完成" in replies[0] and "转给 HR" not in replies[0]
    assert hr_texts(chat, hr_before) == []
    assert "没有待回复" in (await chat.say("hr-wang", "/reply"))[0]


async def test_bad_inputs_get_the_hint(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    await chat.say("u1", "/survey")
    replies = await chat.say("u1", "还行吧")
    assert RATING_HINT in replies[0] and "（1/6）" in replies[1]
    replies = await chat.say("u1", "6")
    assert RATING_HINT in replies[0] and "（1/6）" in replies[1]
    replies = await chat.upload("u1", b"\xff\xd8\xff" + b"0" * 100, name="x.jpg")
    assert RATING_HINT in replies[0]
    assert "（2/6）" in (await chat.say("u1", "5"))[0]
    await chat.say("u1", "5")
    await chat.say("u1", "5")
    replies = await chat.upload("u1", b"\xff\xd8\xff" + b"0" * 100, name="x.jpg")
    assert "请直接回复文字，或点击「跳过」" in replies[0] and "（4/6）" in replies[1]
    await chat.say("u1", "1")  # free text here, not a choice
    await chat.tap("u1", "跳过")
    replies = await chat.say("u1", "也许吧")
    assert "请点击下面的按钮" in replies[0] and "（6/6）" in replies[1]
    await chat.say("u1", "2")  # the option number: no
    [row] = await responses(app, candidate)
    assert row.looking_forward == "1" and row.other_offers == "no"


async def test_restart_mid_survey_resumes(app: App, chat: MemoryAdapter, restart: Restart) -> None:
    candidate = await bound(app, chat)
    await chat.say("u1", "/survey")
    await chat.tap("u1", "4")
    await chat.tap("u1", "3")
    app2, chat2 = await restart()
    replies = await chat2.say("u1", "5")
    assert "（4/6）" in replies[0]
    await chat2.say("u1", "团建")
    await chat2.say("u1", "跳过")
    await chat2.say("u1", "没有")
    [row] = await responses(app2, candidate)
    assert row.ratings == {"hr_communication": 4, "next_steps": 3, "confidence": 5}
    assert row.looking_forward == "团建"


async def test_timeout_and_cancel(app: App, chat: MemoryAdapter, clock: FixedClock) -> None:
    candidate = await bound(app, chat)
    await chat.say("u1", "/survey")
    await chat.tap("u1", "4")
    clock.advance(timedelta(hours=23))
    assert "（3/6）" in (await chat.say("u1", "4"))[0]  # within a day: still captured
    clock.advance(timedelta(days=1, minutes=1))
    replies = await chat.say("u1", "5")
    assert not any("（4/6）" in r for r in replies)
    assert "未完成的「满意度问卷」" in (await chat.say("u1", "/survey"))[0]
    assert "（3/6）" in (await chat.tap("u1", "继续"))[0]
    assert "已退出「满意度问卷」" in (await chat.say("u1", "/cancel"))[0]
    assert await responses(app, candidate) == []
    replies = await chat.say("u1", "/survey")  # after a cancel: afresh
    assert "6 个问题" in replies[0] and "（1/6）" in replies[1]
