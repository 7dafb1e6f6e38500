"""Pre-training courses: read a short text, answer its quiz one question at a time, earn points.

Steps: ``pick`` (the courses with their status) -> ``study`` (the material and a
start button) -> ``question`` (loops on itself; the index and the correct answers
so far live in the dialog's data) -> END with the score. Passing a course awards
its points once; a failed or passed course can be taken again.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.context import Context
from bot.core.messages import Link
from bot.core.router import Router
from content import Course
from content.models import OPTION_LETTERS
from flows.engine import (
    END,
    Accept,
    Answer,
    Ask,
    Flow,
    FlowEngine,
    Go,
    Option,
    Stay,
    Step,
    Turn,
)
from storage import courses
from storage.models import CourseResult, Role

QUIZ = "quiz"
QUESTION = "question"

router = Router()


def _course(turn: Turn) -> Course | None:
    course_id = turn.data.get("course")
    if not isinstance(course_id, str):
        return None
    return turn.ctx.services.content.course(course_id)


def _candidate_id(turn: Turn) -> int:
    candidate_id = turn.candidate.id
    assert candidate_id is not None
    return candidate_id


def _status(result: CourseResult | None) -> str:
    if result is None or result.attempts == 0:
        return "new"
    return "passed" if result.passed else "failed"


def _gone(turn: Turn) -> Ask:
    """What a step says when its course left the content pack mid-dialog."""
    return Ask(turn.t("quiz.course_gone"), (Option("back", turn.t("quiz.back")),))


# ---- pick a course ------------------------------------------------------------------------


async def ask_pick(turn: Turn) -> Ask:
    ctx = turn.ctx
    lang = ctx.actor.language
    results = {
        r.course_id: r
        for r in await courses.course_results_of(
            session=ctx.session, candidate_id=_candidate_id(turn)
        )
    }
    lines: list[str] = []
    options: list[Option] = []
    for n, course in enumerate(ctx.services.content.courses, 1):
        result = results.get(course.id)
        status = _status(result)
        values: dict[str, object] = {
            "n": n,
            "title": course.title.get(lang),
            "score": result.score if result else 0,
            "total": result.total if result else len(course.questions),
        }
        lines.append(
            turn.t(
                "quiz.line",
                status=turn.t(f"quiz.status.{status}", **values),
                summary=course.summary.get(lang),
                **values,
            )
        )
        options.append(Option(course.id, turn.t(f"quiz.button.{status}", **values)))
    points = sum(r.points_awarded for r in results.values())
    return Ask(
        turn.t("quiz.pick", courses="\n".join(lines), points=points, count=len(lines)),
        tuple(options),
    )


async def handle_pick(turn: Turn, answer: Answer) -> Go | Stay:
    course = turn.ctx.services.content.course(answer.choice or "")
    if course is None:
        return Stay(turn.t("flow.hint.choice"))
    turn.data.clear()
    turn.data["course"] = course.id
    return Go("study")


# ---- study the material -------------------------------------------------------------------


async def ask_study(turn: Turn) -> Ask:
    course = _course(turn)
    if course is None:
        return _gone(turn)
    ctx = turn.ctx
    lang = ctx.actor.language
    text = turn.t(
        "quiz.study",
        title=course.title.get(lang),
        material=course.material.get(lang),
        count=len(course.questions),
        passing=course.passing_score,
        points=course.points,
    )
    result = await courses.get_course_result(
        session=ctx.session, candidate_id=_candidate_id(turn), course_id=course.id
    )
    if result is not None and result.passed:
        text += "\n\n" + turn.t("quiz.study_passed")
    links = (Link(turn.t("quiz.read_more"), course.link),) if course.link else ()
    return Ask(
        text,
        (Option("start", turn.t("quiz.start")), Option("back", turn.t("quiz.back"))),
        links=links,
    )


async def handle_study(turn: Turn, answer: Answer) -> Go | Stay:
    course = _course(turn)
    if course is None or answer.choice == "back":
        return Go("pick")
    if answer.choice != "start":
        return Stay(turn.t("flow.hint.choice"))
    ctx = turn.ctx
    await courses.start_course_attempt(
        session=ctx.session, candidate_id=_candidate_id(turn), course_id=course.id, now=ctx.now
    )
    turn.data["index"] = 0
    turn.data["correct"] = 0
    return Go(QUESTION)


# ---- one question -------------------------------------------------------------------------


def _letters(count: int) -> tuple[str, ...]:
    return tuple(OPTION_LETTERS[:count])


async def ask_question(turn: Turn) -> Ask:
    course = _course(turn)
    index = int(turn.data.get("index", 0))
    if course is None or index >= len(course.questions):
        return _gone(turn)
    lang = turn.ctx.actor.language
    question = course.questions[index]
    letters = _letters(len(question.options))
    options = "\n".join(
        f"{letter}. {option.get(lang)}"
        for letter, option in zip(letters, question.options, strict=True)
    )
    return Ask(
        turn.t(
            "quiz.question",
            n=index + 1,
            total=len(course.questions),
            text=question.text.get(lang),
            options=options,
        ),
        tuple(Option(letter, letter) for letter in letters),
    )


async def handle_question(turn: Turn, answer: Answer) -> Go | Stay:
    course = _course(turn)
    index = int(turn.data.get("index", 0))
    if course is None or index >= len(course.questions):
        return Go("pick")
    lang = turn.ctx.actor.language
    question = course.questions[index]
    if answer.choice not in _letters(len(question.options)):
        return Stay(turn.t("quiz.hint"))
    right = answer.choice == question.answer
    correct = int(turn.data.get("correct", 0)) + (1 if right else 0)
    turn.data["correct"] = correct
    turn.data["index"] = index + 1
    explanation = question.explanation.get(lang)
    if right:
        feedback = turn.t("quiz.correct", explanation=explanation)
    else:
        feedback = turn.t(
            "quiz.wrong",
            letter=question.answer,
            option=question.options[question.answer_index].get(lang),
            explanation=explanation,
        )
    if index + 1 < len(course.questions):
        return Go(QUESTION, (feedback,))
    return Go(END, (feedback, await _finish(turn, course, correct)))


async def _finish(turn: Turn, course: Course, score: int) -> str:
    """Record the attempt; the closing message with the score and the points."""
    ctx = turn.ctx
    candidate_id = _candidate_id(turn)
    _, awarded = await courses.record_course_attempt(
        session=ctx.session,
        candidate_id=candidate_id,
        course_id=course.id,
        score=score,
        total=len(course.questions),
        passing_score=course.passing_score,
        points=course.points,
        now=ctx.now,
    )
    results = await courses.course_results_of(session=ctx.session, candidate_id=candidate_id)
    values: dict[str, object] = {
        "title": course.title.get(ctx.actor.language),
        "score": score,
        "total": len(course.questions),
        "passing": course.passing_score,
        "points": awarded,
        "total_points": sum(r.points_awarded for r in results),
    }
    if score < course.passing_score:
        # One short of passing is "nearly"; further off, an encouragement to read again.
        key = "quiz.failed" if course.passing_score - score <= 1 else "quiz.failed_far"
    elif awarded:
        key = "quiz.passed"
    else:
        key = "quiz.passed_again"
    return turn.t(key, **values)


QUIZ_FLOW = Flow(
    name=QUIZ,
    title_key="quiz.title",
    start="pick",
    timeout=timedelta(hours=1),
    steps={
        "pick": Step(ask_pick, handle_pick, frozenset({Accept.CHOICE}), ("study",)),
        "study": Step(ask_study, handle_study, frozenset({Accept.CHOICE}), (QUESTION, "pick")),
        QUESTION: Step(
            ask_question,
            handle_question,
            frozenset({Accept.CHOICE}),
            (QUESTION, "pick", END),
            hint_key="quiz.hint",
        ),
    },
)


# ---- commands -----------------------------------------------------------------------------


@router.command("quiz", roles={Role.CANDIDATE}, aliases=("培训",), help_key="help.quiz")
async def quiz_command(ctx: Context, args: str) -> None:
    if not ctx.services.content.courses:
        ctx.reply(ctx.t("quiz.no_courses"))
        return
    engine = ctx.services.flows
    assert isinstance(engine, FlowEngine)
    step = await engine.open_step(ctx, QUIZ)
    if step is not None and step != QUESTION:
        await engine.start(ctx, QUIZ)  # nothing to resume before the questions: the list
        return
    await engine.open(ctx, QUIZ)  # an unfinished quiz offers to continue or restart


@router.command("points", roles={Role.CANDIDATE}, aliases=("积分",), help_key="help.points")
async def points_command(ctx: Context, args: str) -> None:
    candidate = ctx.actor.candidate
    assert candidate is not None and candidate.id is not None
    lang = ctx.actor.language
    content = ctx.services.content
    results = await courses.course_results_of(session=ctx.session, candidate_id=candidate.id)
    earned = [r for r in results if r.points_awarded]
    if not earned:
        ctx.reply(ctx.t("quiz.points_none"))
        return
    lines = [ctx.t("quiz.points_title", total=sum(r.points_awarded for r in earned))]
    order = {c.id: n for n, c in enumerate(content.courses)}
    for result in sorted(earned, key=lambda r: (order.get(r.course_id, len(order)), r.course_id)):
        course = content.course(result.course_id)
        title = course.title.get(lang) if course else result.course_id
        lines.append(ctx.t("quiz.points_line", title=title, points=result.points_awarded))
    passed = {r.course_id for r in results if r.passed}
    left = sum(1 for c in content.courses if c.id not in passed)
    if left:
        lines.append(ctx.t("quiz.points_left", count=left))
    ctx.reply("\n".join(lines))


__all__ = ["QUIZ_FLOW", "router"]
