"""HR commands as transcripts: /status and the staff data scope.

Scores are inserted as snapshots directly, so these tests do not depend on the
score's formulas; /status and /outcome refresh the score first and read the
fresh snapshot back from the database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from adapters.memory import MemoryAdapter
from bot.runtime.app import App
from storage import outcomes, scores
from storage.models import (
    Role,
)
from tests.bot.handlers.staff import NOW, audit_rows, latest_snapshot, outbox_rows
from tests.bot.helpers import add_candidate, add_staff, save_score

# ---- /status -----------------------------------------------------------------------------


async def test_status_shows_score_breakdown_trend_and_is_audited(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    zhang = team["zhang"]
    await save_score(app, zhang, 80, "low", at=NOW - timedelta(days=10))
    await save_score(app, zhang, 72, "medium", at=NOW - timedelta(days=5))
    text = (await chat.say("hr-a", "/status 张三"))[0]
    fresh = await latest_snapshot(app, zhang)
    assert fresh.at == NOW  # refreshed before showing
    assert "👤 张三" in text and "138****8001" in text and "13800138001" not in text
    assert f"稳定性评分：{fresh.score} 分（" in text
    assert f"互动 {fresh.interaction} · 培训 {fresh.training}" in text
    arrow = "↓" if fresh.score < 72 else "↑" if fresh.score > 72 else "→"
    assert f"近 7 天 72 → {fresh.score} {arrow}" in text
    assert f"近 14 天 80 → {fresh.score}" in text
    assert "建议：" in text and "标签：校招" in text
    assert "已绑定" in text and "最近互动 2026-06-01 10:00" in text
    assert "培训日期：2026-06-20（19 天后）" in text
    assert ("王芳", "view", zhang.id, "") in await audit_rows(app)
    # A date already past reads as such, not "-19 天后".
    app.clock.set(NOW + timedelta(days=38))  # type: ignore[attr-defined]
    later = (await chat.say("hr-a", "/status 张三"))[0]
    assert "培训日期：2026-06-20（已过去 19 天）" in later and "-19" not in later


async def test_status_says_why_there_is_no_score(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    # 王五 never bound: "not reached yet", never "low risk".
    text = (await chat.say("hr-a", "/status 王五"))[0]
    assert "稳定性评分：尚未绑定，未触达（不评分）" in text and "低风险" not in text
    async with app.db.session() as session:  # not scored on the way either
        assert not await scores.latest(session=session, candidate_ids=[team["wang"].id])
    await add_candidate(
        app, "赵六", hr=team["hr_a"], offer_status="declined", bound_at=app.clock.now()
    )
    assert "稳定性评分：已婉拒 offer，不再评分" in (await chat.say("hr-a", "/status 赵六"))[0]
    await chat.say("hr-a", "/outcome 张三 毁约 去了别家")
    reneged = (await chat.say("hr-a", "/status 张三"))[0]
    assert "稳定性评分：放弃入职：去了别家，不再评分" in reneged


async def test_a_low_risk_candidates_weak_spots_are_worth_watching(
    app: App, chat: MemoryAdapter, team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.handlers import hr as hr_handlers
    from storage.models import ScoreSnapshot

    async def low_with_a_weak_spot(*args: Any, **kwargs: Any) -> ScoreSnapshot:
        return ScoreSnapshot(
            id=10**6,
            candidate_id=team["zhang"].id,
            at=NOW,
            score=86,
            band="low",
            interaction=100,
            training=40,
            feedback=100,
            completeness=100,
            external=100,
            reasons=[{"code": "training_behind"}],
        )

    monkeypatch.setattr(hr_handlers.score_jobs, "refresh", low_with_a_weak_spot)
    text = (await chat.say("hr-a", "/status 张三"))[0]
    assert "86 分（低风险）" in text
    assert "可留意：" in text and "主要原因" not in text


async def test_status_in_english_for_english_staff(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    await chat.say("hr-a", "/lang en")
    text = (await chat.say("hr-a", "/status 张三"))[0]
    assert "Stability score:" in text and "Suggested:" in text


# ---- data scopes and roles ---------------------------------------------------------------


async def test_hr_cannot_reach_another_hrs_candidate(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    li = team["li"]
    for command in ("/status 李四", "/remind 李四", "/outcome 李四 入职", f"/status #{li.id}"):
        assert "没有找到你负责的候选人" in (await chat.say("hr-a", command))[0], command
    for payload in (f"st:{li.id}", f"rm:{li.id}"):
        await chat.dispatch(chat.incoming("hr-a", "x", payload=payload))
        refusal = chat.last("hr-a").text
        assert "没有找到你负责的候选人" in refusal or "失效" in refusal, payload
        assert "李四" not in refusal
    async with app.db.session() as session:
        assert await outcomes.get_outcome(session=session, candidate_id=li.id or 0) is None
    assert not [r for r in await outbox_rows(app, li) if r.category == "reminder"]
    # Lists and exports leave B's candidates out too.
    await save_score(app, li, 20, "high")
    assert "李四" not in (await chat.say("hr-a", "/risk"))[0]
    assert "李四" in (await chat.say("hr-b", "/risk"))[0]
    # An admin sees everyone.
    assert "👤 李四" in (await chat.say("root", "/status 李四"))[0]


async def test_candidate_and_manager_cannot_run_staff_commands(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    await add_staff(app, "赵经理", "manager", user="mgr", department="研发中心")
    staff_only = {
        c
        for role in (Role.HR, Role.ADMIN)
        for c in app.router.commands_for(role)
        if Role.CANDIDATE not in c.roles
    }
    names = {c.name for c in staff_only}
    assert {"status", "risk", "remind", "stats", "export", "import", "outcome", "audit"} <= names
    for command in sorted(staff_only, key=lambda c: c.name):
        replies = await chat.say("u-zhang", f"/{command.name} 张三")
        assert "不对你开放" in replies[0], command.name
        alias = command.aliases[0] if command.aliases else None
        if alias:
            assert "不对你开放" in (await chat.say("u-zhang", f"{alias} 张三"))[0], alias
    for name in ("status", "risk", "remind", "stats", "export", "import", "outcome", "audit"):
        if Role.MANAGER not in app.router.get(name).roles:
            assert "不对你开放" in (await chat.say("mgr", f"/{name} 张三"))[0], name
    for payload in (f"st:{team['zhang'].id}", "rk:high:2", "rmg:d", "au:2"):
        await chat.dispatch(chat.incoming("u-zhang", "x", payload=payload))
        assert "不对你开放" in chat.last("u-zhang").text, payload
    # HR may not read the audit log.
    assert "不对你开放" in (await chat.say("hr-a", "/audit"))[0]


async def test_ambiguous_names_ask_which_one(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    other, code = await add_candidate(
        app, "张三", hr=team["hr_a"], phone="+8613900139009", school="复旦大学"
    )
    await chat.say("u-zhang2", f"/bind {code}")
    reply = chat.sent["hr-a"]
    await chat.say("hr-a", "/status 张三")
    assert "找到 2 位同名候选人" in reply[-1].text
    assert [b.label for b in reply[-1].buttons] == [
        "张三 · 研发中心 · 浙江大学",
        "张三 · 研发中心 · 复旦大学",
    ]
    assert "🎓 复旦大学" in (await chat.tap("hr-a", "复旦大学"))[0]
    await chat.say("hr-a", "提醒 张三")
    assert "找到 2 位同名候选人" in reply[-1].text
    assert "已提醒 张三" in (await chat.tap("hr-a", "复旦大学"))[0]
    assert [r.category for r in await outbox_rows(app, other)].count("reminder") == 1
    assert not [r for r in await outbox_rows(app, team["zhang"]) if r.category == "reminder"]
    await chat.say("hr-a", "/outcome 张三 放弃 家里希望回老家")
    assert "找到 2 位同名候选人" in reply[-1].text
    assert (
        "已登记：张三 放弃入职（原因：家里希望回老家）" in (await chat.tap("hr-a", "复旦大学"))[0]
    )
    async with app.db.session() as session:
        assert await outcomes.get_outcome(session=session, candidate_id=team["zhang"].id) is None
        recorded = await outcomes.get_outcome(session=session, candidate_id=other.id or 0)
    assert recorded is not None and recorded.reason == "家里希望回老家"
