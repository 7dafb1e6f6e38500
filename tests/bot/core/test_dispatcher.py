"""One delivery, one effect; a failing handler writes nothing but an apology."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import func, select

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.context import Context
from bot.core.messages import DeliveryError
from bot.core.router import Command
from bot.runtime.app import App
from storage.models import Interaction, Outbox, Staff
from tests.bot.helpers import add_candidate


async def _count(app: App, model: type, *where: object) -> int:
    async with app.db.session() as session:
        stmt = select(func.count()).select_from(model)
        for clause in where:
            stmt = stmt.where(clause)  # type: ignore[arg-type]
        return int((await session.exec(stmt)).one())


async def test_redelivered_event_has_one_effect(app: App, chat: MemoryAdapter) -> None:
    _, code = await add_candidate(app, "张三")
    for _ in range(3):
        await chat.say("u1", f"/bind {code}", event_id="evt-1")
    assert len(chat.sent["u1"]) == 3  # welcome, next steps, offer question: once
    assert await _count(app, Interaction) == 1


async def test_concurrent_duplicates_have_one_effect(app: App, chat: MemoryAdapter) -> None:
    _, code = await add_candidate(app, "张三")
    message = chat.incoming("u1", f"/bind {code}", event_id="evt-same")
    await asyncio.gather(*(chat.dispatch(message) for _ in range(4)))
    assert next(m.text for m in chat.sent["u1"]).startswith("欢迎你，张三")
    assert len(chat.sent["u1"]) == 3


async def test_one_code_raced_by_two_users(app: App, chat: MemoryAdapter) -> None:
    _, code = await add_candidate(app, "张三")
    await asyncio.gather(chat.say("u1", f"/bind {code}"), chat.say("u2", f"/bind {code}"))
    firsts = [chat.sent[u][0].text for u in ("u1", "u2")]
    assert sum(t.startswith("欢迎你") for t in firsts) == 1
    assert sum("已经被使用" in t for t in firsts) == 1


async def test_failing_handler_rolls_back_and_apologises(app: App, chat: MemoryAdapter) -> None:
    async def explode(ctx: Context, args: str) -> None:
        from storage import people

        await people.add_staff(session=ctx.session, name="ghost", role="hr", now=ctx.now)
        ctx.reply("half done")
        raise RuntimeError("boom")

    app.router.add(Command("explode", explode, frozenset({None})))
    replies = await chat.say("u1", "/explode", event_id="evt-x")
    assert replies == ["抱歉，刚才处理出了点问题，我们已记录下来。请稍后再试一次。"]
    assert await _count(app, Staff) == 0
    # The delivery is claimed: a redelivery does not run the handler again.
    assert await chat.say("u1", "/explode", event_id="evt-x") == []


async def test_replies_are_recorded_sent(app: App, chat: MemoryAdapter) -> None:
    await chat.say("u1", "/help")
    assert await _count(app, Outbox, Outbox.status == "sent") == 1
    assert await _count(app, Outbox, Outbox.status != "sent") == 0


async def test_failed_send_is_retried_not_lost(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    chat.fail_next.append(DeliveryError("429 too many requests", retry_after=5))
    assert await chat.say("u1", "/help") == []
    assert await _count(app, Outbox, Outbox.status == "pending") == 1
    assert await app.courier.drain() == 0  # not due yet
    clock.advance(timedelta(seconds=6))
    assert await app.courier.drain() == 1
    assert "/bind" in chat.last("u1").text
    assert await _count(app, Outbox, Outbox.status == "sent") == 1


async def test_permanent_failure_gives_up(app: App, chat: MemoryAdapter) -> None:
    chat.fail_next.append(DeliveryError("blocked by user", permanent=True))
    await chat.say("u1", "/help")
    assert await _count(app, Outbox, Outbox.status == "failed") == 1


async def test_free_text_from_candidate(app: App, chat: MemoryAdapter) -> None:
    _, code = await add_candidate(app, "张三", offer_status="accepted")
    await chat.say("u1", f"/bind {code}")
    # Free text is a question: unmatched, it is offered to HR; with no HR assigned, it goes
    # to the recruiting team.
    assert "要我转给你的 HR 吗" in (await chat.say("u1", "zzzz qqqq"))[0]
    assert "招聘团队" in (await chat.tap("u1", "转给 HR"))[0]


async def test_webhook_submit_is_processed_once_in_background(
    app: App, chat: MemoryAdapter
) -> None:
    _, code = await add_candidate(app, "张三")
    message = chat.incoming("u1", f"/bind {code}", event_id="wh-1")
    accepted = [await chat.submit(message) for _ in range(3)]
    assert accepted == [True, False, False]
    await app.dispatcher.drain_background()
    assert chat.sent["u1"][0].text.startswith("欢迎你，张三")
    assert len(chat.sent["u1"]) == 3


async def test_event_stored_by_a_dead_process_is_recovered(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    _, code = await add_candidate(app, "张三")
    message = chat.incoming("u1", f"/bind {code}", event_id="wh-2")
    # The process stored (and acknowledged) the event, then died before processing it.
    assert await app.dispatcher._store(message)
    assert await app.dispatcher.recover() == 0  # too fresh: its process may still be on it
    clock.advance(timedelta(seconds=31))
    assert await app.dispatcher.recover() == 1
    assert chat.sent["u1"][0].text.startswith("欢迎你，张三")
    assert await app.dispatcher.recover() == 0


async def test_unreachable_recipient_is_flagged_and_hr_told(app: App, chat: MemoryAdapter) -> None:
    from tests.bot.helpers import add_staff

    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    _, code = await add_candidate(app, "张三", hr=hr)
    await chat.say("u1", f"/bind {code}")
    chat.fail_next.append(DeliveryError("user blocked the bot", unreachable=True))
    assert await chat.say("u1", "/help") == []
    assert "无法通过" in chat.last("hr-wang").text and "张三" in chat.last("hr-wang").text
    from storage import people

    async with app.db.session() as session:
        identity = await people.get_identity(session=session, platform="memory", user_id="u1")
    assert identity is not None and identity.unreachable
    # Writing to the bot again shows the account works: the flag is cleared.
    await chat.say("u1", "/help")
    async with app.db.session() as session:
        identity = await people.get_identity(session=session, platform="memory", user_id="u1")
    assert identity is not None and not identity.unreachable
