"""Satisfaction survey: three 1-5 ratings, two open questions, and (optionally) other offers.

HR hears at once about a rating of 1 or 2, a "yes" to other offers and a question the
candidate still has; the answers are stored as one SurveyResponse at the end. A
scheduled invitation can start the flow by its name, :data:`SURVEY`.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.context import Context
from bot.core.router import Router
from bot.support.intent import Intent, classify
from bot.support.tickets import raise_ticket
from flows.engine import END, Accept, Answer, Ask, Flow, FlowEngine, Go, Option, Stay, Step, Turn
from storage import people, surveys
from storage.models import Role

SURVEY = "survey"
RATINGS = ("hr_communication", "next_steps", "confidence")
SCORES = tuple(str(n) for n in range(1, 6))
LOW_RATING = 2
OFFER_ANSWERS = ("yes", "no", "private")
MAX_TEXT = 1000

router = Router()


async def begin(turn: Turn) -> None:
    turn.ctx.reply(turn.t("survey.intro"))


# ---- ratings ------------------------------------------------------------------------------


def _rating_step(topic: str, next_step: str) -> Step:
    async def ask(turn: Turn) -> Ask:
        return Ask(
            turn.t(f"survey.rating.{topic}"), tuple(Option(score, score) for score in SCORES)
        )

    async def handle(turn: Turn, answer: Answer) -> Go | Stay:
        if answer.choice not in SCORES:
            return Stay(turn.t("survey.hint.rating"))
        score = int(answer.choice)
        ratings = dict(turn.data.get("ratings") or {})
        ratings[topic] = score
        turn.data["ratings"] = ratings
        if score <= LOW_RATING:
            await _tell_hr(
                turn, "survey.hr_low_rating", topic_key=f"survey.topic.{topic}", score=score
            )
        return Go(next_step)

    return Step(
        ask, handle, frozenset({Accept.CHOICE}), (next_step,), hint_key="survey.hint.rating"
    )


# ---- open questions -----------------------------------------------------------------------


def _skip(turn: Turn) -> tuple[Option, ...]:
    return (Option("skip", turn.t("flow.skip")),)


def _text(answer: Answer) -> str | None:
    """The typed answer, or None for the skip button."""
    if answer.choice == "skip":
        return None
    return answer.text.strip()[:MAX_TEXT]


async def ask_forward(turn: Turn) -> Ask:
    return Ask(turn.t("survey.forward_ask"), _skip(turn))


async def handle_forward(turn: Turn, answer: Answer) -> Go | Stay:
    text = _text(answer)
    if text == "":
        return Stay(turn.t("survey.hint.text"))
    turn.data["looking_forward"] = text
    return Go("questions")


async def ask_questions(turn: Turn) -> Ask:
    return Ask(turn.t("survey.questions_ask"), _skip(turn))


async def handle_questions(turn: Turn, answer: Answer) -> Go | Stay:
    text = _text(answer)
    if text == "":
        return Stay(turn.t("survey.hint.text"))
    turn.data["open_questions"] = text
    # A real question becomes a numbered ticket HR answers with /reply; "没有" does not.
    if text and classify(text) in (Intent.QUESTION, Intent.TOO_LONG):
        _, hr = await raise_ticket(turn.ctx, turn.candidate, text, None, key="survey.hr_question")
        turn.data["forwarded"] = hr is not None
    return Go("offers")


# ---- other offers, then store ---------------------------------------------------------------


async def ask_offers(turn: Turn) -> Ask:
    return Ask(
        turn.t("survey.offers_ask"),
        tuple(Option(key, turn.t(f"survey.offers.{key}")) for key in OFFER_ANSWERS),
    )


async def handle_offers(turn: Turn, answer: Answer) -> Go | Stay:
    if answer.choice not in OFFER_ANSWERS:
        return Stay(turn.t("flow.hint.choice"))
    other_offers = answer.choice
    if other_offers == "yes":
        await _tell_hr(turn, "survey.hr_other_offers")
    ctx = turn.ctx
    candidate = turn.candidate
    assert candidate.id is not None
    ratings = {str(k): int(v) for k, v in (turn.data.get("ratings") or {}).items()}
    await surveys.add_survey_response(
        session=ctx.session,
        candidate_id=candidate.id,
        ratings=ratings,
        looking_forward=turn.data.get("looking_forward"),
        open_questions=turn.data.get("open_questions"),
        other_offers=other_offers,
        now=ctx.now,
    )
    thanks = "survey.thanks_forwarded" if turn.data.get("forwarded") else "survey.thanks"
    return Go(END, (turn.t(thanks),))


async def _tell_hr(turn: Turn, key: str, topic_key: str | None = None, **values: object) -> bool:
    """Tell the candidate's HR (in their language); False when the candidate has none."""
    ctx = turn.ctx
    candidate = turn.candidate
    if candidate.hr_id is None:
        return False
    hr = await people.get_staff(session=ctx.session, staff_id=candidate.hr_id)
    if hr is None:
        return False
    if topic_key is not None:
        values["topic"] = ctx.staff_t(hr, topic_key)
    text = ctx.staff_t(
        hr, key, name=candidate.name, department=candidate.department or "-", **values
    )
    ctx.notify_staff_text(hr, text)
    return True


SURVEY_FLOW = Flow(
    name=SURVEY,
    title_key="survey.title",
    start=RATINGS[0],
    timeout=timedelta(days=1),
    begin=begin,
    steps={
        RATINGS[0]: _rating_step(RATINGS[0], RATINGS[1]),
        RATINGS[1]: _rating_step(RATINGS[1], RATINGS[2]),
        RATINGS[2]: _rating_step(RATINGS[2], "forward"),
        "forward": Step(
            ask_forward,
            handle_forward,
            frozenset({Accept.TEXT, Accept.CHOICE}),
            ("questions",),
            hint_key="survey.hint.text",
        ),
        "questions": Step(
            ask_questions,
            handle_questions,
            frozenset({Accept.TEXT, Accept.CHOICE}),
            ("offers",),
            hint_key="survey.hint.text",
        ),
        "offers": Step(ask_offers, handle_offers, frozenset({Accept.CHOICE}), (END,)),
    },
)


@router.command("survey", roles={Role.CANDIDATE}, aliases=("问卷",), help_key="help.survey")
async def survey_command(ctx: Context, args: str) -> None:
    engine = ctx.services.flows
    assert isinstance(engine, FlowEngine)
    await engine.open(ctx, SURVEY)  # an unfinished survey offers to continue or restart


__all__ = ["SURVEY", "SURVEY_FLOW", "router"]
