"""HR broadcast: ``/broadcast`` sends one text to an audience of the HR's own candidates.

Steps: ``audience`` (all / by department / position / stage / risk band) ->
``value`` (the values present among the HR's candidates, with counts) ->
``text`` -> ``preview`` (count, names, who is not bound yet, the message) -> END.
On confirmation a :class:`storage.models.Broadcast` row and one outbox row per
bound recipient are written in the message's transaction. Broadcasts are not
capped, but quiet hours apply: a row's ``due_at`` is the next allowed time in
the candidate's time zone. Declined candidates and those who asked to be
forgotten never receive one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from bot.core.context import Context
from bot.core.courier import SEND
from bot.core.messages import Outgoing
from bot.core.quiet import is_quiet
from bot.core.router import Router
from bot.core.text import number
from bot.core.zones import person_zone
from bot.people.scope import hr_scope
from flows.engine import END, Accept, Answer, Ask, Flow, Go, Option, Stay, Step, Turn
from storage import broadcasts, outbox, scores
from storage.models import Candidate, OfferStatus, OutboxCategory, Role

router = Router()

BROADCAST = "broadcast"
SENDERS = {Role.HR, Role.ADMIN}
MAX_TEXT = 1000
SHOW_NAMES = 10
DIMENSIONS = ("department", "position", "stage", "risk")
OFFER_STAGES = (OfferStatus.OFFERED.value, OfferStatus.ACCEPTED.value, OfferStatus.DELAYED.value)
PROGRESS_STAGES = ("docs_complete", "training_done")
BANDS = ("high", "medium", "low", "unscored")
NONE = "-"  # an empty department or position, as a value


@dataclass(frozen=True, slots=True)
class Member:
    """A candidate a broadcast may reach, with what the audience filters look at."""

    candidate: Candidate
    bound: bool
    band: str
    stages: frozenset[str]

    def values(self, dimension: str) -> frozenset[str]:
        if dimension == "department":
            return frozenset({self.candidate.department or NONE})
        if dimension == "position":
            return frozenset({self.candidate.position or NONE})
        if dimension == "stage":
            return self.stages
        if dimension == "risk":
            return frozenset({self.band})
        return frozenset()


async def pool(ctx: Context) -> list[Member]:
    """Everyone this HR may broadcast to (admins: all candidates), with their facts."""
    candidates = await broadcasts.audience_pool(session=ctx.session, hr_id=hr_scope(ctx))
    ids = [c.id for c in candidates if c.id is not None]
    bound = await broadcasts.bound_candidate_ids(session=ctx.session, candidate_ids=ids)
    latest = await scores.latest(session=ctx.session, candidate_ids=ids)
    approved = await broadcasts.approved_documents(session=ctx.session, candidate_ids=ids)
    passed = await broadcasts.passed_courses(session=ctx.session, candidate_ids=ids)
    content = ctx.services.content
    course_ids = {c.id for c in content.courses}
    members = []
    for candidate in candidates:
        cid = candidate.id or 0
        stages = set()
        if candidate.offer_status in OFFER_STAGES:
            stages.add(candidate.offer_status)
        required = {
            i.id for i in content.checklists.items_for(candidate.department, candidate.position)
        }
        if required and required <= approved.get(cid, set()):
            stages.add("docs_complete")
        if course_ids and course_ids <= passed.get(cid, set()):
            stages.add("training_done")
        snapshot = latest.get(cid)
        band = snapshot.band if snapshot is not None and snapshot.band in BANDS else "unscored"
        members.append(Member(candidate, cid in bound, band, frozenset(stages)))
    return members


def narrow(members: list[Member], dimension: str | None, value: str | None) -> list[Member]:
    if dimension is None or dimension == "all":
        return members
    return [m for m in members if value in m.values(dimension)]


def value_label(turn: Turn, dimension: str, value: str) -> str:
    if dimension == "stage":
        return turn.t(f"broadcast.stage.{value}")
    if dimension == "risk":
        return turn.t(f"broadcast.band.{value}")
    return turn.t("broadcast.unset") if value == NONE else value


def audience_label(turn: Turn) -> str:
    dimension = turn.data.get("by")
    value = turn.data.get("value")
    if dimension not in DIMENSIONS or not isinstance(value, str):
        return turn.t("broadcast.audience_all")
    return turn.t(
        "broadcast.audience_one",
        dimension=turn.t(f"broadcast.dim.{dimension}"),
        value=value_label(turn, dimension, value),
    )


async def chosen(turn: Turn) -> list[Member]:
    return narrow(await pool(turn.ctx), turn.data.get("by"), turn.data.get("value"))


def nobody(turn: Turn, members: list[Member]) -> Go | None:
    """END with a word when nobody chosen can receive the message."""
    if not members:
        return Go(END, (turn.t("broadcast.nobody", audience=audience_label(turn)),))
    if not any(m.bound for m in members):
        return Go(
            END,
            (turn.t("broadcast.nobody_bound", audience=audience_label(turn), count=len(members)),),
        )
    return None


def message_for(ctx: Context, lang: str | None, text: str) -> str:
    """The broadcast as a candidate receives it."""
    return ctx.services.i18n.t(lang, "broadcast.message", sender=ctx.actor.name, text=text)


# ---- steps --------------------------------------------------------------------------------


async def ask_audience(turn: Turn) -> Ask:
    members = await pool(turn.ctx)
    options = [Option("all", turn.t("broadcast.by.all"))]
    options += [Option(d, turn.t(f"broadcast.by.{d}")) for d in DIMENSIONS]
    options.append(Option("cancel", turn.t("broadcast.cancel")))
    return Ask(turn.t("broadcast.audience_ask", total=len(members)), tuple(options))


async def handle_audience(turn: Turn, answer: Answer) -> Go | Stay:
    turn.data.pop("value", None)
    if answer.choice == "cancel":
        return Go(END, (turn.t("broadcast.cancelled"),))
    if answer.choice == "all":
        turn.data["by"] = "all"
        return nobody(turn, await chosen(turn)) or Go("text")
    if answer.choice in DIMENSIONS:
        turn.data["by"] = answer.choice
        return Go("value")
    return Stay(turn.t("flow.hint.choice"))


def _order(dimension: str, values: Counter[str]) -> list[str]:
    if dimension == "stage":
        return [v for v in (*OFFER_STAGES, *PROGRESS_STAGES) if v in values]
    if dimension == "risk":
        return [v for v in BANDS if v in values]
    return sorted(values, key=lambda v: (v == NONE, -values[v], v))


async def ask_value(turn: Turn) -> Ask:
    dimension = str(turn.data.get("by"))
    counts: Counter[str] = Counter()
    for member in await pool(turn.ctx):
        counts.update(member.values(dimension))
    values = _order(dimension, counts)
    turn.data["values"] = values
    options = [
        Option(
            f"v{n}",
            turn.t("broadcast.option", value=value_label(turn, dimension, v), count=counts[v]),
        )
        for n, v in enumerate(values)
    ]
    options.append(Option("back", turn.t("broadcast.back")))
    return Ask(turn.t(f"broadcast.pick.{dimension}"), tuple(options))


async def handle_value(turn: Turn, answer: Answer) -> Go | Stay:
    if answer.choice == "back":
        return Go("audience")
    values = turn.data.get("values") or []
    choice = answer.choice or ""
    picked = number(choice[1:]) if choice[:1] == "v" else None
    index = picked if picked is not None else -1
    if not 0 <= index < len(values):
        return Stay(turn.t("flow.hint.choice"))
    turn.data["value"] = values[index]
    return nobody(turn, await chosen(turn)) or Go("text")


async def ask_text(turn: Turn) -> Ask:
    members = await chosen(turn)
    return Ask(
        turn.t(
            "broadcast.text_ask",
            audience=audience_label(turn),
            count=sum(1 for m in members if m.bound),
            max=MAX_TEXT,
        ),
        (Option("cancel", turn.t("broadcast.cancel")),),
    )


async def handle_text(turn: Turn, answer: Answer) -> Go | Stay:
    if answer.choice == "cancel":
        return Go(END, (turn.t("broadcast.cancelled"),))
    text = answer.text.strip()
    if answer.kind is not Accept.TEXT or not text:
        return Stay(turn.t("broadcast.empty"))
    if len(text) > MAX_TEXT:
        return Stay(turn.t("broadcast.too_long", length=len(text), max=MAX_TEXT))
    turn.data["text"] = text
    return Go("preview")


async def ask_preview(turn: Turn) -> Ask:
    ctx = turn.ctx
    members = await chosen(turn)
    receivers = [m for m in members if m.bound]
    names = "、".join(m.candidate.name for m in receivers[:SHOW_NAMES])
    if len(receivers) > SHOW_NAMES:
        names += turn.t("broadcast.more", count=len(receivers) - SHOW_NAMES)
    lines = [
        turn.t("broadcast.preview_head", audience=audience_label(turn), count=len(receivers)),
        names,
    ]
    unbound = len(members) - len(receivers)
    if unbound:
        lines.append(turn.t("broadcast.unbound", count=unbound))
    lines.append(
        turn.t(
            "broadcast.preview_text",
            message=message_for(ctx, ctx.actor.language, str(turn.data.get("text", ""))),
        )
    )
    return Ask(
        "\n".join(lines),
        (
            Option("confirm", turn.t("broadcast.confirm")),
            Option("edit", turn.t("broadcast.edit")),
            Option("cancel", turn.t("broadcast.cancel")),
        ),
    )


async def handle_preview(turn: Turn, answer: Answer) -> Go | Stay:
    if answer.choice == "cancel":
        return Go(END, (turn.t("broadcast.cancelled"),))
    if answer.choice == "edit":
        return Go("text")
    if answer.choice != "confirm":
        return Stay(turn.t("flow.hint.choice"))
    members = await chosen(turn)  # afresh: someone may have declined since the preview
    ended = nobody(turn, members)
    if ended is not None:
        return ended
    return Go(END, (await send(turn, [m.candidate for m in members if m.bound]),))


async def send(turn: Turn, recipients: list[Candidate]) -> str:
    """Write the broadcast and its outbox rows; the words for the HR."""
    ctx = turn.ctx
    settings = ctx.settings
    text = str(turn.data["text"])
    staff = ctx.actor.staff
    record = await broadcasts.create_broadcast(
        session=ctx.session,
        staff_id=staff.id if staff is not None else None,
        text=text,
        audience={"by": turn.data.get("by", "all"), "value": turn.data.get("value")},
        now=ctx.now,
    )
    payloads: dict[str | None, dict[str, object]] = {}  # one per language
    rows = []
    waiting = 0
    for candidate in recipients:
        if candidate.language not in payloads:
            message = message_for(ctx, candidate.language, text)
            payloads[candidate.language] = Outgoing(message).to_json()
        rows.append(
            {
                "kind": "push",
                "payload": payloads[candidate.language],
                "due_at": ctx.now,  # the courier holds it back in quiet hours
                "candidate_id": candidate.id,
                "dedupe_key": f"bc:{record.id}:{candidate.id}",
                "category": OutboxCategory.BROADCAST.value,
            }
        )
        tz = person_zone(candidate, settings.default_timezone)
        waiting += is_quiet(ctx.now, tz, settings.quiet_hours_start, settings.quiet_hours_end)
    # A new broadcast's keys cannot be taken: every recipient gets a row.
    sent = await outbox.enqueue_many(session=ctx.session, rows=rows, now=ctx.now)
    await broadcasts.set_recipients(session=ctx.session, broadcast=record, recipients=sent)
    if sent and record.id is not None:  # sent as soon as this turn commits, not next tick
        ctx.services.deferred.add(SEND, record.id)
    words = [turn.t("broadcast.sent", count=sent)]
    if waiting:
        words.append(
            turn.t(
                "broadcast.sent_quiet",
                count=waiting,
                start=settings.quiet_hours_start,
                end=settings.quiet_hours_end,
            )
        )
    return "\n".join(words)


BROADCAST_FLOW = Flow(
    name=BROADCAST,
    title_key="broadcast.flow_title",
    start="audience",
    timeout=timedelta(hours=12),
    steps={
        "audience": Step(
            ask_audience, handle_audience, frozenset({Accept.CHOICE}), ("value", "text", END)
        ),
        "value": Step(
            ask_value, handle_value, frozenset({Accept.CHOICE}), ("audience", "text", END)
        ),
        "text": Step(
            ask_text,
            handle_text,
            frozenset({Accept.TEXT, Accept.CHOICE}),
            ("preview", END),
            hint_key="broadcast.text_only",
        ),
        "preview": Step(ask_preview, handle_preview, frozenset({Accept.CHOICE}), ("text", END)),
    },
)
FLOWS: tuple[Flow, ...] = (BROADCAST_FLOW,)


@router.command("broadcast", roles=SENDERS, aliases=("群发",), help_key="broadcast.help")
async def broadcast_command(ctx: Context, args: str) -> None:
    if not await broadcasts.audience_pool(session=ctx.session, hr_id=hr_scope(ctx)):
        ctx.reply(ctx.t("broadcast.none"))
        return
    await ctx.services.flows.start(ctx, BROADCAST)


__all__ = ["BROADCAST_FLOW", "FLOWS", "router"]
