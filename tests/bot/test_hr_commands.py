"""HR commands as transcripts: /status, /risk, /remind, /stats, /export, /outcome, /audit.

Scores are inserted as snapshots directly, so these tests do not depend on the
score's formulas; /status and /outcome refresh the score first and read the
fresh snapshot back from the database.
"""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.messages import AttachmentKind
from bot.core.privacy import mask_id_number, mask_phone, mask_text
from bot.runtime.app import App
from bot.runtime.logs import MaskingFilter, setup_logging
from storage import audit, outbox, outcomes, scores
from storage.models import (
    Candidate,
    Outbox,
    OutboxCategory,
    OutboxStatus,
    Role,
    ScoreSnapshot,
    Staff,
)
from tests.bot.helpers import add_candidate, add_staff, save_score

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


async def latest_snapshot(app: App, candidate: Candidate) -> ScoreSnapshot:
    assert candidate.id is not None
    async with app.db.session() as session:
        return (await scores.latest(session=session, candidate_ids=[candidate.id]))[candidate.id]


async def audit_rows(app: App) -> list[tuple[str, str, int | None, str]]:
    async with app.db.session() as session:
        rows = await audit.latest(session=session, limit=100)
    return [(r.actor, r.action, r.candidate_id, r.detail) for r in rows]


async def outbox_rows(app: App, candidate: Candidate) -> list[Outbox]:
    from sqlmodel import col, select

    async with app.db.session() as session:
        stmt = (
            select(Outbox).where(col(Outbox.candidate_id) == candidate.id).order_by(col(Outbox.id))
        )
        return list((await session.exec(stmt)).all())


@pytest.fixture
async def team(app: App, chat: MemoryAdapter) -> dict[str, Any]:
    """HR A (王芳) with 张三 (bound) and 王五; HR B (李静) with 李四 (bound)."""
    hr_a = await add_staff(app, "王芳", "hr", user="hr-a")
    hr_b = await add_staff(app, "李静", "hr", user="hr-b")
    zhang, code = await add_candidate(
        app, "张三", hr=hr_a, phone="+8613800138001", school="浙江大学", tags=["校招"]
    )
    await chat.say("u-zhang", f"/bind {code}")
    wang, _ = await add_candidate(app, "王五", hr=hr_a, phone="+8613800138003")
    li, code = await add_candidate(app, "李四", hr=hr_b, phone="+8613800138002")
    await chat.say("u-li", f"/bind {code}")
    return {"hr_a": hr_a, "hr_b": hr_b, "zhang": zhang, "wang": wang, "li": li}


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


# ---- /risk -------------------------------------------------------------------------------


async def test_risk_sorted_by_score_paged_and_masked(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    hr_a: Staff = team["hr_a"]
    people = []
    for n in range(12):
        candidate, _ = await add_candidate(
            app, f"候选人{n:02d}", hr=hr_a, phone=f"+86139001390{n:02d}"
        )
        await save_score(
            app, candidate, 50 - n, "high", reasons=[{"code": "silent", "days": n + 3}]
        )
        people.append(candidate)
    await save_score(app, team["zhang"], 70, "medium", reasons=[{"code": "other_offer"}])
    reply = (await chat.say("hr-a", "/risk"))[0]
    lines = reply.splitlines()
    assert "高风险候选人共 12 位" in lines[0] and "第 1/2 页" in lines[0]
    assert lines[1].startswith("1. 候选人11 · 研发中心 · 139****9011 · 39 分")
    assert "原因：已经 14 天没有任何互动" in lines[2]
    assert "建议：打个电话问候一下" in lines[3]
    assert "+8613900139011" not in reply and "13900139011" not in reply
    assert "候选人01" not in reply  # on page 2
    buttons = chat.last("hr-a").buttons
    assert buttons[0].payload == f"st:{people[11].id}" and buttons[-1].payload == "rk:high:2"
    page2 = (await chat.tap("hr-a", "下一页"))[0]
    assert "第 2/2 页" in page2 and "11. 候选人01" in page2 and "12. 候选人00" in page2
    medium = (await chat.say("hr-a", "风险 中"))[0]
    assert "中风险候选人共 1 位" in medium and "张三" in medium and "手上有其他 offer" in medium
    assert "没有低风险" in (await chat.say("hr-a", "/risk low"))[0]
    assert "用法" in (await chat.say("hr-a", "/risk 紧急"))[0]
    actions = [a for _, a, _, _ in await audit_rows(app)]
    assert actions.count("risk_list") == 4


async def test_risk_leaves_out_candidates_with_an_outcome(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    await save_score(app, team["wang"], 30, "high")
    await save_score(app, team["zhang"], 40, "high")
    await chat.say("hr-a", "/outcome 王五 入职")
    reply = (await chat.say("hr-a", "/risk high"))[0]
    assert "张三" in reply and "王五" not in reply


# ---- /remind -----------------------------------------------------------------------------


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
    extra, code = await add_candidate(app, "赵六", hr=hr_a, phone="+8613800138006")
    await chat.say("u-zhao", f"/bind {code}")
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
        assert rows[0].dedupe_key.endswith(":docs:2026-06-01")
    await app.courier.drain()
    docs_only = chat.last("u-zhao").text
    assert "提交材料" in docs_only and "培训课程" not in docs_only
    # The training group is separate from the documents group.
    assert "2 位培训还没完成" in (await chat.say("hr-a", "/remind not-trained"))[0]
    assert "已取消" in (await chat.tap("hr-a", "取消"))[0]


# ---- /outcome ----------------------------------------------------------------------------


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
    reply = (await chat.say("hr-a", "结果 张三 已入职"))[0]
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


# ---- /stats and /export ------------------------------------------------------------------


async def test_stats_sends_a_chart_and_a_summary(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    hr_a = team["hr_a"]
    await add_candidate(app, "钱七", hr=hr_a, phone="+8613800138007", offer_status="accepted")
    await add_candidate(
        app,
        "孙八",
        hr=hr_a,
        phone="+8613800138008",
        offer_status="declined",
        offer_decline_reason="salary",
    )
    await add_candidate(app, "周九", hr=hr_a, phone="+8613800138009", offer_status="accepted")
    await chat.say("hr-a", "/outcome 周九 入职")
    await chat.say("hr-a", "/outcome 王五 放弃 家里希望回老家")
    await chat.say("u-zhang", "进度")  # an interaction today
    replies_before = len(chat.sent["hr-a"])
    await chat.say("hr-a", "统计")
    message = chat.sent["hr-a"][replies_before]
    assert message.text.startswith("📊 你负责的 5 位候选人：")
    assert "已发 offer 5 人 → 接受 2（40%）" in message.text
    assert "已入职 1（20%）" in message.text and "今天 20%" in message.text
    assert "放弃或拒绝共 2 人" in message.text and "薪资待遇 1" in message.text
    assert "家里希望回老家 1" in message.text
    (image,) = message.files
    assert image.kind is AttachmentKind.PHOTO and image.path is not None
    path = Path(image.path)
    assert path.parent == app.settings.data_dir / "reports"
    with Image.open(path) as png:
        assert png.format == "PNG" and png.size == (1200, 800)
    assert "李四" not in message.text
    assert ("王芳", "stats", None, "5") in await audit_rows(app)


async def test_stats_with_no_candidates(app: App, chat: MemoryAdapter) -> None:
    await add_staff(app, "新 HR", "hr", user="hr-new")
    assert "还没有候选人" in (await chat.say("hr-new", "/stats"))[0]
    assert "还没有候选人" in (await chat.say("hr-new", "/export"))[0]


async def test_export_has_the_scope_rows_and_is_audited(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    from openpyxl import load_workbook

    await save_score(app, team["zhang"], 55, "high", reasons=[{"code": "silent", "days": 5}])
    await chat.say("hr-a", "/export")
    message = chat.last("hr-a")
    assert "已导出 2 位候选人" in message.text
    (sheet_file,) = message.files
    assert sheet_file.kind is AttachmentKind.FILE and sheet_file.path is not None
    path = Path(sheet_file.path)
    assert path.parent == app.settings.data_dir / "exports" and path.suffix == ".xlsx"
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None and sheet.freeze_panes == "A2"
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert header[:4] == ["编号", "姓名", "手机", "邮箱"] and "稳定性评分" in header
    by_name = {r[1]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(by_name) == {"张三", "王五"}
    zhang = by_name["张三"]
    assert zhang["手机"] == "+8613800138001"  # HR's own export keeps the full number
    assert zhang["稳定性评分"] == 55 and zhang["风险等级"] == "高风险"
    assert zhang["主要原因"] == "已经 5 天没有任何互动"
    assert zhang["HR"] == "王芳" and zhang["Offer 状态"] == "待候选人确认"
    assert "身份证正面" in str(zhang["缺少的材料"]) and zhang["准备进度 %"] == 0
    assert zhang["最近互动"] is not None
    assert sheet.column_dimensions["B"].width >= 6
    assert ("王芳", "export", None, "2") in await audit_rows(app)
    # The admin's export holds everyone, with English headers for an English admin.
    await chat.say("root", "/lang en")
    await chat.say("root", "/export")
    admin_book = load_workbook(chat.last("root").files[0].path or "")
    admin_sheet = admin_book.active
    assert admin_sheet is not None
    admin_rows = list(admin_sheet.iter_rows(values_only=True))
    assert admin_rows[0][:2] == ("ID", "Name")
    assert {r[1] for r in admin_rows[1:]} == {"张三", "王五", "李四"}


# ---- /audit ------------------------------------------------------------------------------


async def test_audit_lists_latest_rows_for_admins(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    await chat.say("hr-a", "/status 张三")
    await chat.say("hr-b", "/export")
    for _ in range(20):
        await chat.say("hr-a", "/risk")
    page1 = (await chat.say("root", "审计"))[0]
    lines = page1.splitlines()
    assert "第 1 页" in lines[0] and len(lines) == 21
    assert "06-01 10:00 · 王芳 · 查看风险名单 · -（高风险，第 1 页，共 0 人）" in page1
    assert chat.last("root").buttons[0].payload == "au:2"
    page2 = (await chat.tap("root", "下一页"))[0]
    assert "06-01 10:00 · 李静 · 导出名单 · -（1 人）" in page2
    assert "06-01 10:00 · 王芳 · 查看档案 · 张三" in page2


# ---- masking -----------------------------------------------------------------------------


def test_mask_helpers() -> None:
    assert mask_id_number("330106199001011234") == "330106********1234"
    assert mask_id_number("33010619900101123X") == "330106********123X"
    assert mask_id_number(None) == "-"
    assert mask_phone("+8613812341234") == "138****1234"
    text = "张三 13812341234, +86 138 1234 5678, id 33010619900101123x, order 20260601123456789"
    assert mask_text(text) == (
        "张三 138****1234, +86 138****5678, id 330106********123x, order 20260601123456789"
    )


def test_log_records_are_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("preboard.test.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("bound %s with id %s", "+8613812341234", "330106199001011234")
        try:
            raise ValueError("bad phone 13912345678")
        except ValueError:
            logger.exception("import failed for 13912345678")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "+86138****1234" in out and "330106********1234" in out
    assert "139****5678" in out
    assert "13812341234" not in out and "13912345678" not in out
    assert "199001011234" not in out


def test_setup_logging_installs_the_masking_filter() -> None:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        setup_logging("json", "INFO")
        assert any(isinstance(f, MaskingFilter) for f in root.handlers[0].filters)
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
