"""Offer confirmation: accept, need more time (until when), or decline (are you sure?
then why). HR hears of each answer; a question typed meanwhile is answered first."""

from __future__ import annotations

from datetime import timedelta

from bot.core.context import Context
from bot.core.messages import Button
from bot.people.offers import UNDO_PAYLOAD, may_take_back
from bot.support.intent import Intent, classify
from flows.dates import parse_user_date
from flows.engine import END, Accept, Answer, Ask, Flow, Go, Option, Stay, Step, Turn
from flows.questions import faq_answer
from storage import people
from storage.models import Candidate, OfferStatus

DECLINE_REASONS = ("better_offer", "further_study", "location", "salary", "family", "other")
MAX_DELAY = timedelta(days=90)


async def ask_decision(turn: Turn) -> Ask:
    candidate = turn.candidate
    return Ask(
        turn.t(
            "offer.ask",
            name=candidate.name,
            position=candidate.position or "-",
            department=candidate.department or "-",
        ),
        (
            Option("accept", turn.t("offer.accept")),
            Option("later", turn.t("offer.later")),
            Option("decline", turn.t("offer.decline")),
        ),
    )


async def handle_decision(turn: Turn, answer: Answer) -> Go | Stay:
    choice = answer.choice
    if choice == "accept":
        await _set_status(turn.ctx, turn.candidate, OfferStatus.ACCEPTED)
        await _tell_hr(turn.ctx, turn.candidate, "offer.hr_accepted")
        return Go(END, (turn.t("offer.accepted"),))
    if choice == "later":
        return Go("until")
    if choice == "decline":
        return Go("confirm_decline")
    if choice is None and classify(answer.text) is Intent.QUESTION:
        return Stay(await _answer_question(turn, answer.text))
    return Stay(turn.t("flow.hint.choice"))


async def _answer_question(turn: Turn, text: str) -> str:
    """A question typed while the offer waits: answered from the FAQ when it can be, then
    the offer is asked again."""
    match = turn.ctx.services.faq.match(text)
    if match is None:
        return turn.t("offer.question_later")
    answer = await faq_answer(turn.ctx, match.entry)
    return turn.t("offer.question_answered", answer=answer)


async def ask_confirm_decline(turn: Turn) -> Ask:
    return Ask(
        turn.t("offer.confirm_decline", position=turn.candidate.position or "-"),
        (
            Option("yes", turn.t("offer.confirm_decline_yes")),
            Option("no", turn.t("offer.confirm_decline_no")),
        ),
    )


async def handle_confirm_decline(turn: Turn, answer: Answer) -> Go | Stay:
    if answer.choice == "yes":
        return Go("reason")
    if answer.choice == "no":
        return Go("decide", (turn.t("offer.decline_kept"),))
    return Stay(turn.t("flow.hint.choice"))


def _date_example(turn: Turn) -> dict[str, str]:
    """A date a week ahead, as the example of what to type (never a date already past)."""
    day = turn.ctx.today + timedelta(days=7)
    return {"iso": day.isoformat(), "zh": f"{day.month}月{day.day}日"}


async def ask_until(turn: Turn) -> Ask:
    return Ask(turn.t("offer.until_ask", **_date_example(turn)))


async def handle_until(turn: Turn, answer: Answer) -> Go | Stay:
    today = turn.ctx.today
    when = parse_user_date(answer.text, today)
    if when is None:
        return Stay(turn.t("offer.until_bad", **_date_example(turn)))
    if when <= today or when > today + MAX_DELAY:
        return Stay(turn.t("offer.until_range", days=MAX_DELAY.days))
    candidate = turn.candidate
    candidate.offer_delay_until = when
    await _set_status(turn.ctx, turn.candidate, OfferStatus.DELAYED)
    await _tell_hr(turn.ctx, turn.candidate, "offer.hr_delayed", until=when.isoformat())
    return Go(END, (turn.t("offer.delayed", until=when.isoformat()),))


async def ask_reason(turn: Turn) -> Ask:
    return Ask(
        turn.t("offer.reason_ask"),
        tuple(Option(r, turn.t(f"offer.reason.{r}")) for r in DECLINE_REASONS),
    )


async def handle_reason(turn: Turn, answer: Answer) -> Go | Stay:
    if answer.choice not in DECLINE_REASONS:
        return Stay(turn.t("flow.hint.choice"))
    turn.data["reason"] = answer.choice
    return Go("note")


async def ask_note(turn: Turn) -> Ask:
    return Ask(turn.t("offer.note_ask"), (Option("skip", turn.t("flow.skip")),))


async def handle_note(turn: Turn, answer: Answer) -> Go | Stay:
    note = "" if answer.choice == "skip" else answer.text.strip()[:500]
    candidate = turn.candidate
    reason = str(turn.data["reason"])
    candidate.offer_decline_reason = reason
    candidate.offer_decline_note = note or None
    await _set_status(turn.ctx, turn.candidate, OfferStatus.DECLINED)
    await _tell_hr(
        turn.ctx,
        turn.candidate,
        "offer.hr_declined",
        reason_key=f"offer.reason.{reason}",
        note=note or "-",
    )
    hours = turn.ctx.settings.offer_undo_hours
    if hours <= 0:
        return Go(END, (turn.t("offer.declined"),))
    turn.ctx.reply(
        turn.t("offer.declined_undo", hours=hours),
        buttons=(Button(turn.t("offer.take_back"), UNDO_PAYLOAD),),
    )
    return Go(END)


async def take_back_decline(ctx: Context) -> None:
    """The candidate takes their decline back (within OFFER_UNDO_HOURS, unless HR acted):
    the offer waits again, HR is told, and the offer is asked again."""
    candidate = ctx.actor.candidate
    assert candidate is not None
    if not await may_take_back(ctx.session, candidate, ctx.now, ctx.settings.offer_undo_hours):
        key = (
            "offer.take_back_late"
            if candidate.offer_status == OfferStatus.DECLINED.value
            else f"offer.state.{candidate.offer_status}"
        )
        ctx.reply(ctx.t(key))
        return
    await _set_status(ctx, candidate, OfferStatus.OFFERED)
    await _tell_hr(ctx, candidate, "offer.hr_taken_back")
    ctx.reply(ctx.t("offer.taken_back"))
    await ctx.services.flows.start(ctx, "offer")


async def _set_status(ctx: Context, candidate: Candidate, status: OfferStatus) -> None:
    fields: dict[str, object] = {"offer_status": status.value, "offer_replied_at": ctx.now}
    if status is not OfferStatus.DELAYED:
        fields["offer_delay_until"] = None
    if status is not OfferStatus.DECLINED:
        fields["offer_decline_reason"] = None
        fields["offer_decline_note"] = None
    await people.save_candidate(
        session=ctx.session, candidate=candidate, fields=fields, now=ctx.now
    )


async def _tell_hr(
    ctx: Context, candidate: Candidate, key: str, reason_key: str | None = None, **values: object
) -> None:
    if candidate.hr_id is None:
        return
    hr = await people.get_staff(session=ctx.session, staff_id=candidate.hr_id)
    if hr is None:
        return
    if reason_key is not None:
        values["reason"] = ctx.staff_t(hr, reason_key)
    text = ctx.staff_t(
        hr, key, name=candidate.name, department=candidate.department or "-", **values
    )
    ctx.notify_staff_text(hr, text)


OFFER_FLOW = Flow(
    name="offer",
    title_key="offer.title",
    start="decide",
    timeout=timedelta(days=7),
    steps={
        "decide": Step(
            ask_decision,
            handle_decision,
            frozenset({Accept.CHOICE, Accept.TEXT}),
            (END, "until", "confirm_decline"),
            hint_key="flow.hint.choice",
            numbers_choose=True,
        ),
        "confirm_decline": Step(
            ask_confirm_decline,
            handle_confirm_decline,
            frozenset({Accept.CHOICE}),
            ("reason", "decide"),
        ),
        "until": Step(ask_until, handle_until, frozenset({Accept.TEXT}), (END,)),
        "reason": Step(ask_reason, handle_reason, frozenset({Accept.CHOICE}), ("note",)),
        "note": Step(ask_note, handle_note, frozenset({Accept.TEXT, Accept.CHOICE}), (END,)),
    },
)


__all__ = ["DECLINE_REASONS", "OFFER_FLOW", "take_back_decline"]
