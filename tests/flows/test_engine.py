"""Flow definitions are checked when built, and are immutable."""

from __future__ import annotations

import logging

import pytest

import flows
from adapters.memory import MemoryAdapter
from bot.runtime.app import App
from flows.engine import (
    END,
    Accept,
    Answer,
    Ask,
    Flow,
    FlowError,
    Go,
    Stay,
    Step,
    Turn,
    UnknownDialog,
    _typed_choice,
)
from storage import dialogs
from storage.models import Candidate, Dialog
from tests.bot.helpers import add_candidate, add_staff


async def _ask(turn: Turn) -> Ask:
    return Ask("?")


async def _go(turn: Turn, answer: Answer) -> Go | Stay:
    return Go(END)


def step(*targets: str) -> Step:
    return Step(_ask, _go, frozenset({Accept.TEXT}), targets)


def test_shipped_flows_are_valid() -> None:
    assert {f.name for f in flows.ALL_FLOWS} >= {"offer"}
    for flow in flows.ALL_FLOWS:
        flow.check()


def test_unknown_target() -> None:
    with pytest.raises(FlowError, match="unknown step 'nowhere'"):
        Flow("f", "t", "a", {"a": step("nowhere")})


def test_unknown_start() -> None:
    with pytest.raises(FlowError, match="start step"):
        Flow("f", "t", "x", {"a": step(END)})


def test_unreachable_step() -> None:
    with pytest.raises(FlowError, match=r"unreachable step\(s\) \['b'\]"):
        Flow("f", "t", "a", {"a": step(END), "b": step(END)})


def test_dead_end_loop() -> None:
    with pytest.raises(FlowError, match="can never reach the end"):
        Flow("f", "t", "a", {"a": step("b", END), "b": step("c"), "c": step("b")})


def test_step_without_way_out() -> None:
    with pytest.raises(FlowError, match="no way out"):
        Flow("f", "t", "a", {"a": step()})


def test_flows_are_immutable() -> None:
    flow = Flow("f", "t", "a", {"a": step(END)})
    with pytest.raises(TypeError):
        flow.steps["b"] = step(END)  # type: ignore[index]


def test_typed_choices() -> None:
    options = [("a", "接受 offer"), ("b", "婉拒")]
    assert _typed_choice("2", options, labels_only=False) == "b"
    assert _typed_choice("a", options, labels_only=False) == "a"
    assert _typed_choice("B.", options, labels_only=False) == "b"
    assert _typed_choice("婉拒", options, labels_only=True) == "b"
    assert _typed_choice("2", options, labels_only=True) is None
    assert _typed_choice("3", options, labels_only=False) is None


# ---- stored dialogs the engine no longer knows -------------------------------------------


async def _corrupt_offer_dialog(app: App, candidate: Candidate, **fields: str) -> None:
    async with app.db.session() as session:
        key = dialogs.DialogKey(candidate_id=candidate.id)
        dialog = await dialogs.get_dialog(session=session, person=key.person, flow="offer")
        assert dialog is not None and dialog.status == "active"
        for name, value in fields.items():
            setattr(dialog, name, value)
        await dialogs.touch_dialog(session=session, dialog=dialog)


async def _dialog_status(app: App, candidate: Candidate, flow: str) -> str | None:
    async with app.db.session() as session:
        key = dialogs.DialogKey(candidate_id=candidate.id)
        dialog = await dialogs.get_dialog(session=session, person=key.person, flow=flow)
    return None if dialog is None else dialog.status


def test_unknown_dialog_names_the_flow_and_the_step() -> None:
    engine = flows.FlowEngine(flows.ALL_FLOWS)
    with pytest.raises(UnknownDialog, match="unknown step 'gone' in flow 'offer'"):
        engine.definition(Dialog(person="c:1", flow="offer", state="gone"))
    with pytest.raises(UnknownDialog, match="unknown flow 'retired' \\(at step 'ask'\\)"):
        engine.definition(Dialog(person="c:1", flow="retired", state="ask"))
    assert issubclass(UnknownDialog, FlowError)


async def test_a_stored_step_that_no_longer_exists_is_closed_not_a_crash(
    app: App, chat: MemoryAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    candidate, code = await add_candidate(app, "张三", hr=hr)
    await chat.say("u1", f"/bind {code}")  # opens the offer dialog
    await _corrupt_offer_dialog(app, candidate, state="removed_step")
    with caplog.at_level(logging.WARNING, logger="flows.engine"):
        replies = await chat.say("u1", "/progress")
        replies += await chat.say("u1", "你好")
    assert not any("出了点问题" in r for r in replies)
    assert "unknown step 'removed_step' in flow 'offer'" in caplog.text
    assert await _dialog_status(app, candidate, "offer") == "done"


async def test_a_stored_flow_that_no_longer_exists_is_closed(
    app: App, chat: MemoryAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    candidate, code = await add_candidate(app, "张三", hr=hr)
    await chat.say("u1", f"/bind {code}")
    await _corrupt_offer_dialog(app, candidate, flow="retired_flow")
    with caplog.at_level(logging.WARNING, logger="flows.engine"):
        replies = await chat.say("u1", "你好")
    assert not any("出了点问题" in r for r in replies)
    assert "unknown flow 'retired_flow'" in caplog.text
    assert await _dialog_status(app, candidate, "retired_flow") == "done"
