"""/outcome: the score's features are kept and pushes stop."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.memory import MemoryAdapter
from bot.runtime.app import App
from storage import outbox, outcomes
from storage.models import (
    OutboxCategory,
    OutboxStatus,
)
from tests.bot.handlers.staff import NOW, latest_snapshot, outbox_rows


async def test_outcome_records_score_features_and_stops_pushes(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    zhang = team["zhang"]
    async with app.db.session() as session:
        await outbox.enqueue(
            session=session,
            kind="notice",
            payload={"text": "week 2"},
            due_at=NOW + timedelta(days=2),
            now=NOW,
            candidate_id=zhang.id,
            category=OutboxCategory.PUSH.value,
        )
    assert "用法" in (await chat.say("hr-a", "/outcome 张三"))[0]
    assert "请写上原因" in (await chat.say("hr-a", "/outcome 张三 reneged"))[0]
    # Before the start date on record, "joined" is asked about first.
    ask = (await chat.say("hr-a", "结果 张三 已入职"))[0]
    assert ask == "张三 的入职日期是 2026-07-01，还有 30 天才到。确定现在就记录为已入职吗？"
    assert "没有记录" in (await chat.tap("hr-a", "先不记录"))[0]
    async with app.db.session() as session:
        assert await outcomes.get_outcome(session=session, candidate_id=zhang.id or 0) is None
    await chat.say("hr-a", "结果 张三 已入职")
    reply = (await chat.tap("hr-a", "确定，已入职"))[0]
    assert reply.startswith("已登记：张三 已入职")
    fresh = await latest_snapshot(app, zhang)
    async with app.db.session() as session:
        recorded = await outcomes.get_outcome(session=session, candidate_id=zhang.id or 0)
    assert recorded is not None and recorded.outcome == "joined"
    assert recorded.score == fresh.score and recorded.department == "研发中心"
    assert recorded.recorded_by == team["hr_a"].id
    assert recorded.features == {
        "interaction": fresh.interaction,
        "training": fresh.training,
        "feedback": fresh.feedback,
        "completeness": fresh.completeness,
        "external": fresh.external,
    }
    pushes = [r for r in await outbox_rows(app, zhang) if r.category == "push"]
    assert [r.status for r in pushes] == [OutboxStatus.EXPIRED.value]
    replaced = (await chat.say("hr-a", "/outcome 张三 放弃 拿到了其他 offer"))[0]
    assert "原因：拿到了其他 offer" in replaced and "覆盖" in replaced
    assert "入职结果：放弃入职（拿到了其他 offer）" in (await chat.say("hr-a", "/status 张三"))[0]
    assert "不再发送提醒" in (await chat.say("hr-a", "/remind 张三"))[0]
