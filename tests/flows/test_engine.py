"""Flow definitions are checked when built, and are immutable."""

from __future__ import annotations

import pytest

import flows
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
    _typed_choice,
)


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
