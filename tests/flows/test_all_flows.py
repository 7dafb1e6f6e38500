"""Properties every candidate dialog shares: /help inside it keeps the step, and two
concurrent taps on one step advance it once."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory import MemoryAdapter
from bot.runtime.app import App
from storage import dialogs
from storage.models import Candidate
from tests.bot.helpers import add_candidate, add_staff

# (flow, the command that opens it, the offer status the candidate needs)
FLOWS = [
    ("offer", "/offer", "offered"),
    ("docs", "材料", "accepted"),
    ("quiz", "培训", "accepted"),
    ("survey", "问卷", "accepted"),
]


async def _open(app: App, chat: MemoryAdapter, command: str, status: str) -> Candidate:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    candidate, code = await add_candidate(app, "张三", hr=hr, offer_status=status)
    await chat.say("u1", f"/bind {code}")
    await chat.say("u1", "/cancel")  # leave the offer question asked after binding
    await chat.say("u1", command)
    return candidate


async def _state(app: App, candidate: Candidate, flow: str) -> tuple[str, int, str]:
    async with app.db.session() as session:
        dialog = await dialogs.get_dialog(session=session, person=f"c:{candidate.id}", flow=flow)
    assert dialog is not None
    return dialog.state, dialog.version, dialog.status


@pytest.mark.parametrize(("flow", "command", "status"), FLOWS, ids=[f[0] for f in FLOWS])
async def test_help_inside_a_flow_keeps_the_step(
    app: App, chat: MemoryAdapter, flow: str, command: str, status: str
) -> None:
    candidate = await _open(app, chat, command, status)
    before = await _state(app, candidate, flow)
    assert before[2] == "active"
    assert "/help" in (await chat.say("u1", "/help"))[0]
    assert "准备已完成" in (await chat.say("u1", "进度"))[0]
    assert await _state(app, candidate, flow) == before


@pytest.mark.parametrize(("flow", "command", "status"), FLOWS, ids=[f[0] for f in FLOWS])
async def test_two_taps_at_once_advance_once(
    app: App, chat: MemoryAdapter, flow: str, command: str, status: str
) -> None:
    candidate = await _open(app, chat, command, status)
    message = next(m for m in reversed(chat.sent["u1"]) if len(m.buttons) >= 2)
    first, second = message.buttons[0], message.buttons[1]
    _, version, _ = await _state(app, candidate, flow)
    before = len(chat.sent["u1"])
    await asyncio.gather(
        chat.dispatch(chat.incoming("u1", first.label, payload=first.payload)),
        chat.dispatch(chat.incoming("u1", second.label, payload=second.payload)),
    )
    texts = [m.text for m in chat.sent["u1"][before:]]
    assert sum("按钮已过期" in t for t in texts) == 1
    assert (await _state(app, candidate, flow))[1] == version + 1


async def test_two_hr_replies_at_once_answer_once(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    _, code = await add_candidate(app, "张三", hr=hr, offer_status="accepted")
    await chat.say("u1", f"/bind {code}")
    await chat.say("u1", "zzzz qqqq 这个问题没人知道")
    await chat.tap("u1", "转给 HR")
    ticket = chat.last("hr-wang").text.split("#", 1)[1].split(" ", 1)[0]
    await asyncio.gather(
        chat.say("hr-wang", f"/reply {ticket} 第一种回答"),
        chat.say("hr-wang", f"/reply {ticket} 第二种回答"),
    )
    answers = [m.text for m in chat.sent["u1"] if "回复了你的问题" in m.text]
    assert len(answers) == 1
    assert sum("已经回复过了" in m.text for m in chat.sent["hr-wang"]) == 1
