"""Dialogs as persistent state machines: flows declared as data, one generic engine.

A :class:`Flow` is a frozen mapping of named :class:`Step` s. Each step says
what it asks (text and options), which inputs it accepts (a choice, text, a
file), how it handles an answer (validate, then :class:`Go` to a declared
target or :class:`Stay` with a reason), and every state it may go to. Flows are
checked when built: an unknown target, an unreachable step or a step with no
way to the end raises :class:`FlowError`.

The engine keeps each (person, flow) conversation in the ``dialogs`` table and
advances it inside the message's transaction, so a step is committed before
its reply and a restart resumes at the same step. Buttons carry the dialog's
version: a stale or doubled tap cannot advance a step twice.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from bot.core.context import Context
from bot.core.messages import Attachment, Button, Link, OutgoingFile
from bot.core.router import Parsed
from bot.core.text import number
from storage import dialogs
from storage.models import Candidate, Dialog, DialogStatus

log = logging.getLogger(__name__)

END = "__end__"
PAYLOAD_PREFIX = "f"
RESUME = "@resume"
RESTART = "@restart"


class FlowError(Exception):
    """A flow definition is inconsistent (raised at start-up and in tests)."""


class UnknownDialog(FlowError):
    """A stored dialog names a flow, or a step, that the engine does not have."""

    def __init__(self, flow: str, step: str, *, known_flow: bool = True) -> None:
        self.flow = flow
        self.step = step
        if known_flow:
            super().__init__(f"stored dialog: unknown step {step!r} in flow {flow!r}")
        else:
            super().__init__(f"stored dialog: unknown flow {flow!r} (at step {step!r})")


class Accept(StrEnum):
    CHOICE = "choice"
    TEXT = "text"
    FILE = "file"


@dataclass(frozen=True, slots=True)
class Option:
    """A choice offered as a button; ``key`` is short and comes back when tapped."""

    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Ask:
    """What a step says on entering: text, options (buttons), links, files."""

    text: str
    options: tuple[Option, ...] = ()
    links: tuple[Link, ...] = ()
    files: tuple[OutgoingFile, ...] = ()


@dataclass(frozen=True, slots=True)
class Answer:
    kind: Accept
    text: str = ""
    choice: str | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True)
class Go:
    """Move to ``to`` (a step name or :data:`END`), saying ``say`` first."""

    to: str
    say: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Stay:
    """Refuse the answer with a reason; the step asks again."""

    say: str


@dataclass
class Turn:
    """One step's view of the conversation: the message context and the dialog's data."""

    ctx: Context
    flow: Flow
    data: dict[str, Any]

    def t(self, key: str, /, **values: object) -> str:
        return self.ctx.t(key, **values)

    @property
    def candidate(self) -> Candidate:
        """The candidate in this dialog (flows for candidates only)."""
        candidate = self.ctx.actor.candidate
        if candidate is None:
            raise FlowError(f"flow {self.flow.name!r} needs a candidate")
        return candidate


AskFn = Callable[[Turn], Awaitable[Ask]]
HandleFn = Callable[[Turn, Answer], Awaitable[Go | Stay]]
BeginFn = Callable[[Turn], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Step:
    ask: AskFn
    handle: HandleFn
    accepts: frozenset[Accept]
    goes_to: tuple[str, ...]
    hint_key: str | None = None
    # A step that also takes free text (a question) but where a typed number still picks
    # an option; where text is the answer itself (a note), "4" stays text.
    numbers_choose: bool = False


@dataclass(frozen=True)
class Flow:
    """A dialog definition, shared by every conversation in it and immutable once built."""

    name: str
    title_key: str
    start: str
    steps: Mapping[str, Step]
    timeout: timedelta | None = None
    begin: BeginFn | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", MappingProxyType(dict(self.steps)))
        self.check()

    def check(self) -> None:
        """Raise FlowError for unknown targets, unreachable steps and dead ends."""
        where = f"flow {self.name!r}"
        if not self.name or ":" in self.name:
            raise FlowError(f"{where}: bad name")
        if self.start not in self.steps:
            raise FlowError(f"{where}: start step {self.start!r} is not defined")
        for name, step in self.steps.items():
            if not step.goes_to:
                raise FlowError(f"{where}: step {name!r} has no way out")
            if not step.accepts:
                raise FlowError(f"{where}: step {name!r} accepts no input")
            for target in step.goes_to:
                if target != END and target not in self.steps:
                    raise FlowError(f"{where}: step {name!r} goes to unknown step {target!r}")
        reachable = self._closure(self.start, lambda s: self.steps[s].goes_to)
        unreachable = set(self.steps) - reachable
        if unreachable:
            raise FlowError(f"{where}: unreachable step(s) {sorted(unreachable)}")
        for name in self.steps:
            if END not in self._closure(name, lambda s: self.steps[s].goes_to):
                raise FlowError(f"{where}: step {name!r} can never reach the end")

    def _closure(self, first: str, edges: Callable[[str], Iterable[str]]) -> set[str]:
        seen = {first}
        todo = [first]
        while todo:
            for target in edges(todo.pop()):
                if target not in seen:
                    seen.add(target)
                    if target != END:
                        todo.append(target)
        return seen


def person_key(ctx: Context) -> str:
    actor = ctx.actor
    if actor.candidate is not None:
        return dialogs.DialogKey(candidate_id=actor.candidate.id).person
    if actor.staff is not None:
        return dialogs.DialogKey(staff_id=actor.staff.id).person
    return dialogs.DialogKey(identity_id=actor.identity.id).person


class FlowEngine:
    """Runs every flow; plugged into the dispatcher as an interceptor."""

    def __init__(self, flows: Iterable[Flow]) -> None:
        self.flows: dict[str, Flow] = {}
        for flow in flows:
            if flow.name in self.flows:
                raise FlowError(f"flow {flow.name!r} defined twice")
            self.flows[flow.name] = flow

    # ---- starting and leaving --------------------------------------------------------

    async def start(self, ctx: Context, name: str, data: dict[str, Any] | None = None) -> None:
        """Begin ``name`` afresh for this person (parking any other active dialog)."""
        flow = self.flows[name]
        person = person_key(ctx)
        await dialogs.park_others(session=ctx.session, person=person, keep_flow=name)
        dialog = await dialogs.get_dialog(session=ctx.session, person=person, flow=name)
        turn = Turn(ctx, flow, dict(data or {}))
        if flow.begin is not None:
            await flow.begin(turn)
        dialog = await dialogs.save_dialog(
            session=ctx.session,
            dialog=dialog,
            person=person,
            flow=name,
            state=flow.start,
            data=turn.data,
            status=DialogStatus.ACTIVE,
            now=ctx.now,
            new_run=True,
        )
        await self._ask(ctx, flow, dialog)

    async def open(self, ctx: Context, name: str, data: dict[str, Any] | None = None) -> None:
        """Start ``name``, or offer to continue an unfinished conversation in it."""
        person = person_key(ctx)
        dialog = await dialogs.get_dialog(session=ctx.session, person=person, flow=name)
        if dialog is None or dialog.status == DialogStatus.DONE.value:
            await self.start(ctx, name, data)
            return
        flow = self.flows[name]
        if dialog.status == DialogStatus.PARKED.value or self._timed_out(ctx, flow, dialog):
            await dialogs.park_others(session=ctx.session, person=person, keep_flow=name)
            ctx.reply(
                ctx.t("flow.resume_offer", title=ctx.t(flow.title_key)),
                buttons=[
                    Button(ctx.t("flow.resume"), self._payload(flow, dialog, RESUME)),
                    Button(ctx.t("flow.restart"), self._payload(flow, dialog, RESTART)),
                ],
            )
            return
        await self._ask(ctx, flow, dialog)  # already active: ask the current step again

    async def cancel(self, ctx: Context) -> str | None:
        """Leave the active dialog; return its flow's name, or None when there was none."""
        dialog = await dialogs.active_dialog(session=ctx.session, person=person_key(ctx))
        if dialog is None:
            return None
        await dialogs.save_dialog(
            session=ctx.session,
            dialog=dialog,
            person=dialog.person,
            flow=dialog.flow,
            state=dialog.state,
            data=dialog.data,
            status=DialogStatus.DONE,
            now=ctx.now,
        )
        return dialog.flow

    async def open_step(self, ctx: Context, name: str) -> str | None:
        """The step this person's unfinished dialog in ``name`` waits at, or None."""
        dialog = await dialogs.get_dialog(session=ctx.session, person=person_key(ctx), flow=name)
        if dialog is None or dialog.status == DialogStatus.DONE.value:
            return None
        return dialog.state

    async def close_for(self, ctx: Context, candidate_id: int, name: str) -> bool:
        """End the candidate's open dialog in flow ``name``; True when one was open.

        For actions taken on someone else's behalf: an approval request closes the
        offer question still open in the candidate's chat, so it cannot accept meanwhile.
        """
        person = dialogs.DialogKey(candidate_id=candidate_id).person
        dialog = await dialogs.get_dialog(session=ctx.session, person=person, flow=name)
        if dialog is None or dialog.status == DialogStatus.DONE.value:
            return False
        dialog.status = DialogStatus.DONE.value
        dialog.updated_at = ctx.now
        await dialogs.touch_dialog(session=ctx.session, dialog=dialog)
        return True

    def definition(self, dialog: Dialog) -> Flow:
        """The flow a stored dialog runs; :class:`UnknownDialog` when the flow or its
        step no longer exists (a flow renamed or removed since the dialog was saved)."""
        flow = self.flows.get(dialog.flow)
        if flow is None or dialog.state not in flow.steps:
            raise UnknownDialog(dialog.flow, dialog.state, known_flow=flow is not None)
        return flow

    async def _close_unknown(self, ctx: Context, dialog: Dialog, exc: UnknownDialog) -> None:
        """End a dialog the engine cannot run, so the person is not stuck in it."""
        log.warning("%s; closing dialog %s", exc, dialog.id)
        dialog.status = DialogStatus.DONE.value
        dialog.updated_at = ctx.now
        await dialogs.touch_dialog(session=ctx.session, dialog=dialog)

    # ---- routing input ----------------------------------------------------------------

    async def intercept(self, ctx: Context, parsed: Parsed) -> bool:
        """Feed the message to a dialog when it belongs to one; False to route it normally."""
        payload = ctx.message.payload
        if payload is not None:
            if not payload.startswith(PAYLOAD_PREFIX + ":"):
                return False
            await self._tap(ctx, payload)
            return True
        if parsed.command is not None or parsed.word is not None:
            return False  # commands work inside a dialog without breaking it
        dialog = await dialogs.active_dialog(session=ctx.session, person=person_key(ctx))
        if dialog is None:
            return False
        try:
            flow = self.definition(dialog)
        except UnknownDialog as exc:
            await self._close_unknown(ctx, dialog, exc)
            return False
        if self._timed_out(ctx, flow, dialog):
            dialog.status = DialogStatus.PARKED.value
            await dialogs.touch_dialog(session=ctx.session, dialog=dialog)
            return False
        await self._advance(ctx, flow, dialog, self._answer(ctx, flow, dialog))
        return True

    async def _tap(self, ctx: Context, payload: str) -> None:
        parts = payload.split(":", 3)
        flow = self.flows.get(parts[1]) if len(parts) == 4 else None
        if flow is None:
            ctx.reply(ctx.t("flow.stale_button"))
            return
        _, _, version, choice = parts
        person = person_key(ctx)
        dialog = await dialogs.get_dialog(session=ctx.session, person=person, flow=flow.name)
        if dialog is not None and dialog.state not in flow.steps:
            await self._close_unknown(ctx, dialog, UnknownDialog(dialog.flow, dialog.state))
            dialog = None
        if (
            dialog is None
            or dialog.status == DialogStatus.DONE.value
            or str(dialog.version) != version
        ):
            ctx.reply(ctx.t("flow.stale_button"))
            if dialog is not None and dialog.status == DialogStatus.ACTIVE.value:
                await self._ask(ctx, flow, dialog)  # show what the dialog is waiting for now
            return
        if choice == RESTART:
            await self.start(ctx, flow.name)
            return
        if dialog.status != DialogStatus.ACTIVE.value or choice == RESUME:
            await dialogs.park_others(session=ctx.session, person=person, keep_flow=flow.name)
            dialog.status = DialogStatus.ACTIVE.value
            dialog.updated_at = ctx.now
            await dialogs.touch_dialog(session=ctx.session, dialog=dialog)
            if choice == RESUME:
                await self._ask(ctx, flow, dialog)
                return
        label = ctx.message.text
        await self._advance(ctx, flow, dialog, Answer(Accept.CHOICE, text=label, choice=choice))

    def _answer(self, ctx: Context, flow: Flow, dialog: Dialog) -> Answer:
        message = ctx.message
        if message.attachments:
            return Answer(Accept.FILE, attachment=message.attachments[0])
        text = message.text.strip()
        options = [tuple(o) for o in dialog.data.get("_options", [])]
        step = flow.steps[dialog.state]
        free_text = Accept.TEXT in step.accepts and not step.numbers_choose
        choice = _typed_choice(text, options, labels_only=free_text)
        if choice is not None:
            return Answer(Accept.CHOICE, text=text, choice=choice)
        return Answer(Accept.TEXT, text=text)

    # ---- stepping ---------------------------------------------------------------------

    async def _advance(self, ctx: Context, flow: Flow, dialog: Dialog, answer: Answer) -> None:
        step = flow.steps[dialog.state]
        if answer.kind not in step.accepts:
            ctx.reply(self._hint(ctx, step))
            await self._ask(ctx, flow, dialog)
            return
        turn = Turn(ctx, flow, dict(dialog.data))
        result = await step.handle(turn, answer)
        if isinstance(result, Stay):
            dialog.data = turn.data
            await dialogs.touch_dialog(session=ctx.session, dialog=dialog)
            ctx.reply(result.say)
            await self._ask(ctx, flow, dialog)
            return
        if result.to not in step.goes_to:
            raise FlowError(
                f"flow {flow.name!r}: step {dialog.state!r} went to undeclared {result.to!r}"
            )
        for text in result.say:
            ctx.reply(text)
        finished = result.to == END
        dialog = await dialogs.save_dialog(
            session=ctx.session,
            dialog=dialog,
            person=dialog.person,
            flow=flow.name,
            state=dialog.state if finished else result.to,
            data=turn.data,
            status=DialogStatus.DONE if finished else DialogStatus.ACTIVE,
            now=ctx.now,
        )
        if not finished:
            await self._ask(ctx, flow, dialog)

    async def _ask(self, ctx: Context, flow: Flow, dialog: Dialog) -> None:
        turn = Turn(ctx, flow, dict(dialog.data))
        ask = await flow.steps[dialog.state].ask(turn)
        turn.data["_options"] = [[o.key, o.label] for o in ask.options]
        if turn.data != dialog.data:
            dialog.data = turn.data
            await dialogs.touch_dialog(session=ctx.session, dialog=dialog)
            await ctx.session.flush()
        ctx.reply(
            ask.text,
            buttons=[Button(o.label, self._payload(flow, dialog, o.key)) for o in ask.options],
            links=ask.links,
            files=ask.files,
        )

    @staticmethod
    def _payload(flow: Flow, dialog: Dialog, key: str) -> str:
        return f"{PAYLOAD_PREFIX}:{flow.name}:{dialog.version}:{key}"

    @staticmethod
    def _hint(ctx: Context, step: Step) -> str:
        if step.hint_key:
            return ctx.t(step.hint_key)
        if Accept.FILE in step.accepts:
            return ctx.t("flow.hint.file")
        if Accept.TEXT in step.accepts:
            return ctx.t("flow.hint.text")
        return ctx.t("flow.hint.choice")

    @staticmethod
    def _timed_out(ctx: Context, flow: Flow, dialog: Dialog) -> bool:
        return flow.timeout is not None and dialog.updated_at + flow.timeout < ctx.now


def _typed_choice(text: str, options: list[tuple[Any, ...]], *, labels_only: bool) -> str | None:
    """An exact label, or where free text is not expected a number (1, 2) or letter (A, B)."""
    if not text or not options:
        return None
    for key, label in options:
        if text.strip().casefold() == str(label).strip().casefold():
            return str(key)
    if labels_only:
        return None
    folded = text.strip().rstrip(".、").upper()
    picked = number(folded)
    if picked is not None and 1 <= picked <= len(options):
        return str(options[picked - 1][0])
    letters = string.ascii_uppercase[: len(options)]
    if len(folded) == 1 and folded in letters:
        return str(options[letters.index(folded)][0])
    return None
