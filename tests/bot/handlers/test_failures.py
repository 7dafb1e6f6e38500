"""/failed for admins, and the notice when a delivery is parked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.context import Context
from bot.core.dispatcher import MAX_ATTEMPTS, Dispatcher
from bot.core.messages import Incoming
from bot.core.router import Command
from bot.handlers.failures import FAILED_PAGE
from bot.runtime.app import App
from storage import events
from storage.models import Identity, Role
from tests.bot.helpers import add_candidate, add_staff


def poison(monkeypatch: pytest.MonkeyPatch, user_id: str) -> None:
    """Messages from ``user_id`` fail before anything, even the apology, can be written."""
    real = Dispatcher._identity

    async def failing(session: AsyncSession, message: Incoming, now: object) -> Identity:
        if message.sender.user_id == user_id:
            raise RuntimeError("cannot store this sender")
        return await real(session, message, now)  # type: ignore[arg-type]

    monkeypatch.setattr(Dispatcher, "_identity", staticmethod(failing))


async def test_a_parked_delivery_is_retried_with_backoff_then_reported_once(
    app: App, chat: MemoryAdapter, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_staff(app, "管理员", "admin", user="admin-1")
    poison(monkeypatch, "poison")
    assert await chat.say("poison", "你好", event_id="evt-poison") == []
    # Not retried before its time, then retried with growing pauses.
    clock.advance(timedelta(seconds=29))
    assert await app.dispatcher.recover() == 0
    tries = 1
    while tries < MAX_ATTEMPTS:
        clock.advance(timedelta(hours=1))
        assert await app.dispatcher.recover() == 1
        tries += 1
    clock.advance(timedelta(days=1))
    assert await app.dispatcher.recover() == 0  # parked: never again
    async with app.db.session() as session:
        assert await events.count_failed(session=session) == 1
    alerts = [m.text for m in chat.sent["admin-1"] if "已停止重试" in m.text]
    assert len(alerts) == 1
    assert f"试了 {MAX_ATTEMPTS} 次" in alerts[0] and "RuntimeError" in alerts[0]
    page = (await chat.say("admin-1", "/failed"))[0]
    assert "共 1 条" in page and "poison" in page and "多次重试失败" in page


async def test_failed_lists_apologised_failures_by_name_with_pages(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    await add_staff(app, "管理员", "admin", user="admin-1")
    _, code = await add_candidate(app, "张三")
    await chat.say("u-zhang", f"/bind {code}")

    async def explode(ctx: Context, args: str) -> None:
        raise RuntimeError("x" * 400)

    app.router.add(Command("explode", explode, frozenset({Role.CANDIDATE})))
    assert "没有处理失败的消息" in (await chat.say("admin-1", "/failed"))[0]
    for _ in range(FAILED_PAGE + 2):
        await chat.say("u-zhang", "/explode")
        clock.advance(timedelta(minutes=1))
    first = (await chat.say("admin-1", "失败消息"))[0]
    assert f"共 {FAILED_PAGE + 2} 条" in first and "第 1/2 页" in first
    assert first.count("张三") == FAILED_PAGE and "已向对方致歉" in first
    assert "06-01 10:11" in first  # newest first, in the admin's time zone
    assert max(len(line) for line in first.splitlines()) < 200  # long errors are cut
    second = (await chat.tap("admin-1", "下一页"))[0]
    assert "第 2/2 页" in second and second.count("张三") == 2
    assert not chat.last("admin-1").buttons
    # Only admins.
    assert "不对你开放" in (await chat.say("u-zhang", "/failed"))[0]
