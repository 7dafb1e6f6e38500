"""/remind as transcripts: one candidate, groups with a preview, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.runtime.app import App
from storage import people
from storage.models import (
    OutboxCategory,
)
from tests.bot.handlers.staff import NOW, outbox_rows
from tests.bot.helpers import add_candidate


async def test_remind_one_candidate_through_the_outbox_once_a_day(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    zhang = team["zhang"]
    reply = (await chat.say("hr-a", "/remind 张三"))[0]
    assert reply == "已提醒 张三（offer 待回复、8 份材料、3 门课程）。"
    rows = [r for r in await outbox_rows(app, zhang) if r.category == OutboxCategory.REMINDER]
    assert len(rows) == 1 and rows[0].due_at == NOW
    await app.courier.drain()
    sent = chat.last("u-zhang").text
    assert sent.startswith("张三，你好！入职准备还差这几项：")
    assert "回复 offer" in sent and "身份证正面" in sent and "发送「培训」" in sent
    assert "今天已经提醒过 张三" in (await chat.say("hr-a", "/remind 张三"))[0]
    assert "还没有绑定聊天账号" in (await chat.say("hr-a", "/remind 王五"))[0]
    assert "用法" in (await chat.say("hr-a", "/remind"))[0]


async def test_remind_in_quiet_hours_waits_for_the_morning(
    app: App, chat: MemoryAdapter, clock: FixedClock, team: dict[str, Any]
) -> None:
    clock.set(datetime(2026, 6, 1, 14, 30, tzinfo=UTC))  # 22:30 in Shanghai
    reply = (await chat.say("hr-a", "/remind 张三"))[0]
    assert "免打扰时段" in reply and "2026-06-02 09:00" in reply
    rows = [r for r in await outbox_rows(app, team["zhang"]) if r.category == "reminder"]
    assert rows[0].due_at == datetime(2026, 6, 2, 1, 0, tzinfo=UTC)


async def test_remind_groups_preview_confirm_and_double_tap(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    hr_a = team["hr_a"]
    extra, code = await add_candidate(
        app, "赵六", hr=hr_a, phone="+8613800138006", offer_status="accepted"
    )
    await chat.say("u-zhao", f"/bind {code}")
    _, code = await add_candidate(app, "钱七", hr=hr_a, phone="+8613800138007")
    await chat.say("u-qian", f"/bind {code}")  # has not accepted yet: not asked for documents
    async with app.db.session() as session:
        for accepted in (team["zhang"], team["wang"]):
            await people.save_candidate(
                session=session,
                candidate=accepted,
                fields={"offer_status": "accepted"},
                now=app.clock.now(),
            )
    preview = (await chat.say("hr-a", "/remind 缺材料"))[0]
    assert "将提醒 2 位材料还没交齐的候选人：张三、赵六" in preview
    assert "另有 1 位还没绑定" in preview  # 王五
    assert not [r for r in await outbox_rows(app, extra) if r.category == "reminder"]
    assert "已发送 2 条提醒" in (await chat.tap("hr-a", "确认发送"))[0]
    again = (await chat.tap("hr-a", "确认发送"))[0]
    assert "已发送 0 条提醒" in again and "2 位今天已经提醒过" in again
    for candidate in (team["zhang"], extra):
        rows = [r for r in await outbox_rows(app, candidate) if r.category == "reminder"]
        assert len(rows) == 1 and rows[0].dedupe_key is not None
        assert rows[0].dedupe_key.endswith(":2026-06-01")  # one reminder a day, any kind
    await app.courier.drain()
    docs_only = chat.last("u-zhao").text
    assert "提交材料" in docs_only and "培训课程" not in docs_only
    # The training group is separate from the documents group.
    assert "2 位培训还没完成" in (await chat.say("hr-a", "/remind not-trained"))[0]
    assert "已取消" in (await chat.tap("hr-a", "取消"))[0]
