"""Pre-training courses and quizzes, /points."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.i18n import I18n
from bot.runtime.app import App
from content import Course
from content.models import OPTION_LETTERS
from storage import courses
from storage.models import Candidate, CourseResult
from tests.bot.helpers import add_candidate, add_staff
from tests.conftest import START
from tests.flows.conftest import Restart

HINT = "请点击下面的 A、B、C… 按钮作答"


async def bound(app: App, chat: MemoryAdapter, user: str = "u1") -> Candidate:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    candidate, code = await add_candidate(app, "张三", hr=hr, offer_status="accepted")
    await chat.say(user, f"/bind {code}")
    return candidate


def course(app: App, course_id: str) -> Course:
    found = app.content.course(course_id)
    assert found is not None
    return found


def right(app: App, course_id: str) -> list[str]:
    return [q.answer for q in course(app, course_id).questions]


def wrong(app: App, course_id: str) -> list[str]:
    return [
        next(x for x in OPTION_LETTERS if x != q.answer) for q in course(app, course_id).questions
    ]


async def result_of(app: App, candidate: Candidate, course_id: str) -> CourseResult | None:
    async with app.db.session() as session:
        return await courses.get_course_result(
            session=session, candidate_id=candidate.id or 0, course_id=course_id
        )


async def begin(chat: MemoryAdapter, title: str, user: str = "u1") -> list[str]:
    """/quiz, pick the course by (part of) its title, start the questions."""
    await chat.say(user, "/quiz")
    await chat.tap(user, title)
    return await chat.tap(user, "开始答题")


async def answer_all(chat: MemoryAdapter, letters: list[str], user: str = "u1") -> list[str]:
    replies: list[str] = []
    for letter in letters:
        replies = await chat.tap(user, letter)
    return replies


async def test_pass_a_course_with_buttons(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    replies = await chat.say("u1", "/quiz")
    assert "岗前培训（共 3 门课程）" in replies[0] and "你现在有 0 积分" in replies[0]
    assert "未开始" in replies[0]
    assert chat.last("u1").buttons[0].label == "📖 走进星河：企业文化"
    replies = await chat.tap("u1", "企业文化")
    assert "客户第一、务实创新" in replies[0] and "答对 3 道即可通过" in replies[0]
    study = chat.last("u1")
    assert study.links[0].url == "https://example.com/xinghe/learn/culture"
    assert [b.label for b in study.buttons] == ["开始答题", "返回课程列表"]
    replies = await chat.tap("u1", "开始答题")
    assert "第 1/4 题" in replies[0] and "B. 快速扩张" in replies[0]
    assert [b.label for b in chat.last("u1").buttons] == ["A", "B", "C", "D"]
    replies = await chat.tap("u1", "B")
    assert "回答正确" in replies[0] and "第 2/4 题" in replies[1]
    assert [b.label for b in chat.last("u1").buttons] == ["A", "B", "C"]
    replies = await answer_all(chat, right(app, "culture")[1:])
    assert "回答正确" in replies[0]
    assert "得分 4/4，通过" in replies[1] and "获得 10 积分，你现在共有 10 积分" in replies[1]
    result = await result_of(app, candidate, "culture")
    assert result is not None
    assert (result.score, result.total, result.passed, result.attempts) == (4, 4, True, 1)
    assert result.points_awarded == 10
    assert result.started_at == START and result.completed_at == START
    replies = await chat.say("u1", "积分")
    assert "共有 10 积分" in replies[0] and "走进星河：企业文化：+10" in replies[0]
    assert "还有 2 门课程未完成" in replies[0]
    assert "岗前培训：已完成 1/3" in (await chat.say("u1", "/progress"))[0]
    replies = await chat.say("u1", "培训")
    assert "已通过（4/4）" in replies[0] and "你现在有 10 积分" in replies[0]
    assert "✅ 走进星河：企业文化（4/4）" in [b.label for b in chat.last("u1").buttons]


async def test_back_to_the_list_from_the_material(app: App, chat: MemoryAdapter) -> None:
    await bound(app, chat)
    await chat.say("u1", "/quiz")
    await chat.tap("u1", "安全第一")
    replies = await chat.tap("u1", "返回课程列表")
    assert "岗前培训（共 3 门课程）" in replies[0]
    replies = await chat.say("u1", "3")  # typed number: the third course
    assert "飞书" in replies[0]


async def test_typed_letters_and_bad_inputs(app: App, chat: MemoryAdapter) -> None:
    await bound(app, chat)
    await begin(chat, "办公系统")
    first = chat.last("u1")
    replies = await chat.say("u1", "c")  # a typed letter, lower case
    assert "回答正确" in replies[0] and "第 2/5 题" in replies[1]
    # A button of the previous question
    stale = first.buttons[0]
    await chat.dispatch(chat.incoming("u1", stale.label, payload=stale.payload))
    assert "按钮已过期" in chat.sent["u1"][-2].text
    assert "题" in chat.last("u1").text  # and the current question is asked again
    # Free text where a choice is needed
    replies = await chat.say("u1", "我也不太确定")
    assert HINT in replies[0] and "第 2/5 题" in replies[1]
    # A file
    replies = await chat.upload("u1", b"%PDF-1.4\n" + b"0" * 100, name="notes.pdf")
    assert HINT in replies[0] and "第 2/5 题" in replies[1]
    # A letter this question does not have (three options)
    replies = await chat.say("u1", "D")
    assert HINT in replies[0] and "第 2/5 题" in replies[1]
    replies = await chat.say("u1", "B.")  # wrong, typed
    assert "答错了，正确答案是 A. 费用发生后 30 天内" in replies[0]
    assert "第 3/5 题" in replies[1]


async def test_fail_retake_and_pass_award_points_once(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    await begin(chat, "企业文化")
    replies = await answer_all(chat, wrong(app, "culture"))
    assert "答错了" in replies[0]
    assert "得分 0/4" in replies[1] and "答对 3 道才算通过" in replies[1]
    assert "还差一点" not in replies[1]  # 0 of 3 needed is not "nearly"
    result = await result_of(app, candidate, "culture")
    assert result is not None
    assert (result.passed, result.points_awarded, result.attempts) == (False, 0, 1)
    assert result.completed_at is None
    replies = await chat.say("u1", "/quiz")
    assert "未通过（最好成绩 0/4），可以重考" in replies[0]
    assert "🔄 走进星河：企业文化（重考）" in [b.label for b in chat.last("u1").buttons]
    assert "还没有积分" in (await chat.say("u1", "/points"))[0]

    clock = app.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(minutes=10))
    await chat.tap("u1", "企业文化")
    await chat.tap("u1", "开始答题")
    replies = await answer_all(chat, right(app, "culture")[:3] + wrong(app, "culture")[3:])
    assert "得分 3/4，通过" in replies[1] and "获得 10 积分" in replies[1]
    result = await result_of(app, candidate, "culture")
    assert result is not None
    assert (result.score, result.passed, result.points_awarded, result.attempts) == (3, True, 10, 2)
    assert result.started_at == START and result.completed_at == START + timedelta(minutes=10)

    # Retaking a passed course: practice, no second award, the best score stays.
    replies = await begin(chat, "企业文化")
    assert "第 1/4 题" in replies[0]
    assert "已经通过了" in chat.sent["u1"][-2].text  # the study step says so
    replies = await answer_all(chat, right(app, "culture"))
    assert "通过！这门课的积分之前已经领取过" in replies[1] and "共有 10 积分" in replies[1]
    await begin(chat, "企业文化")
    replies = await answer_all(chat, wrong(app, "culture"))
    assert "得分 0/4" in replies[1]
    result = await result_of(app, candidate, "culture")
    assert result is not None
    assert (result.score, result.passed, result.points_awarded, result.attempts) == (4, True, 10, 4)
    assert "共有 10 积分" in (await chat.say("u1", "/points"))[0]


async def test_help_and_cancel_mid_quiz(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    await begin(chat, "企业文化")
    await chat.tap("u1", "B")
    replies = await chat.say("u1", "/help")
    assert "/quiz (培训)" in replies[0] and "/points (积分)" in replies[0]
    assert "/survey (问卷)" in replies[0]
    replies = await chat.say("u1", "C")  # still at question 2
    assert "回答正确" in replies[0] and "第 3/4 题" in replies[1]
    assert "已退出「岗前培训」" in (await chat.say("u1", "/cancel"))[0]
    replies = await chat.say("u1", "A")
    assert not any("回答正确" in r or "第 4/4 题" in r for r in replies)
    result = await result_of(app, candidate, "culture")
    assert result is not None and result.attempts == 0 and result.started_at == START
    assert "未开始" in (await chat.say("u1", "/quiz"))[0]  # a fresh list, no resume offer


async def test_restart_resumes_at_the_same_question(
    app: App, chat: MemoryAdapter, restart: Restart
) -> None:
    candidate = await bound(app, chat)
    await begin(chat, "企业文化")
    await answer_all(chat, ["B", "C"])
    app2, chat2 = await restart()  # the process died; a new one takes over
    replies = await chat2.say("u1", "A")
    assert "回答正确" in replies[0] and "第 4/4 题" in replies[1]
    replies = await chat2.say("u1", "C")
    assert "得分 4/4，通过" in replies[1]
    result = await result_of(app2, candidate, "culture")
    assert result is not None and result.score == 4 and result.points_awarded == 10


async def test_timeout_parks_and_quiz_offers_to_continue(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    candidate = await bound(app, chat)
    await begin(chat, "企业文化")
    await chat.tap("u1", "B")
    clock.advance(timedelta(hours=1, minutes=1))
    replies = await chat.say("u1", "C")  # no longer captured by the quiz
    assert not any("回答正确" in r or "第 3/4 题" in r for r in replies)
    replies = await chat.say("u1", "/quiz")
    assert "未完成的「岗前培训」" in replies[0]
    assert [b.label for b in chat.last("u1").buttons] == ["继续", "重新开始"]
    replies = await chat.tap("u1", "继续")
    assert "第 2/4 题" in replies[0]
    replies = await answer_all(chat, ["C", "A", "C"])
    assert "得分 4/4，通过" in replies[1]
    result = await result_of(app, candidate, "culture")
    assert result is not None and result.score == 4


async def test_timeout_then_restart_shows_the_list(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    await bound(app, chat)
    await begin(chat, "企业文化")
    clock.advance(timedelta(hours=2))
    await chat.say("u1", "培训")
    replies = await chat.tap("u1", "重新开始")
    assert "岗前培训（共 3 门课程）" in replies[0]


async def test_two_answers_at_once_advance_once(app: App, chat: MemoryAdapter) -> None:
    candidate = await bound(app, chat)
    await begin(chat, "企业文化")
    question = chat.last("u1")
    a, b = question.buttons[0], question.buttons[1]
    before = len(chat.sent["u1"])
    await asyncio.gather(
        chat.dispatch(chat.incoming("u1", b.label, payload=b.payload)),
        chat.dispatch(chat.incoming("u1", a.label, payload=a.payload)),
    )
    texts = [m.text for m in chat.sent["u1"][before:]]
    assert sum("按钮已过期" in t for t in texts) == 1
    # The loser is told its button is stale and sees question 2 again; nothing skips ahead.
    assert sum("第 2/4 题" in t for t in texts) == 2
    assert not any("第 3/4 题" in t for t in texts)
    replies = await answer_all(chat, right(app, "culture")[1:])
    assert "得分 3/4" in replies[1] or "得分 4/4" in replies[1]
    result = await result_of(app, candidate, "culture")
    assert result is not None and result.attempts == 1


async def test_english(app: App, chat: MemoryAdapter) -> None:
    await bound(app, chat)
    await chat.say("u1", "/lang en")
    replies = await chat.say("u1", "/quiz")
    assert "Pre-training (3 courses)" in replies[0] and "not started" in replies[0]
    await chat.tap("u1", "culture")
    replies = await chat.tap("u1", "Start the quiz")
    assert "Question 1/4" in replies[0] and "B. Rapid expansion" in replies[0]
    replies = await chat.say("u1", "a")
    assert "The right answer is B. Rapid expansion" in replies[0]
    assert "Start the quiz" not in replies[1]


def test_catalog_placeholders_match() -> None:
    """Every quiz and survey text has the same placeholders in both languages."""
    from string import Formatter

    i18n = I18n()
    keys = {k for k in i18n.keys("zh") if k.startswith(("quiz.", "survey."))}
    assert len(keys) > 40
    for key in keys:
        fields = [
            {f for _, f, _, _ in Formatter().parse(i18n.t(lang, key)) if f} for lang in ("zh", "en")
        ]
        assert fields[0] == fields[1], key
