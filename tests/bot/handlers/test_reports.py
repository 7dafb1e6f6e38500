"""/risk, /stats and /export as transcripts (scores inserted as snapshots)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from adapters.memory import MemoryAdapter
from bot.core.messages import AttachmentKind
from bot.runtime.app import App
from storage.models import (
    Staff,
)
from tests.bot.handlers.staff import audit_rows
from tests.bot.helpers import add_candidate, add_staff, save_score


async def test_risk_sorted_by_score_paged_and_masked(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    hr_a: Staff = team["hr_a"]
    people = []
    for n in range(12):
        candidate, _ = await add_candidate(
            app,
            f"候选人{n:02d}",
            hr=hr_a,
            phone=f"+86139001390{n:02d}",
            bound_at=app.clock.now(),
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
    # 王五 never bound: not reached yet, listed apart and never as a risk
    assert lines[-1].startswith("另有 1 人尚未绑定（未触达，不评分）：王五")
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
    await chat.tap("hr-a", "确定，已入职")  # before their start date: asked first
    reply = (await chat.say("hr-a", "/risk high"))[0]
    assert "张三" in reply and "王五" not in reply


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
    await chat.tap("hr-a", "确定，已入职")
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


async def test_export_names_why_someone_has_no_risk(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    from openpyxl import load_workbook

    declined, _ = await add_candidate(
        app, "赵六", hr=team["hr_a"], offer_status="declined", bound_at=app.clock.now()
    )
    # An old snapshot from before the decline, and one for 王五, who never bound.
    await save_score(app, declined, 95, "low")
    await save_score(app, team["wang"], 90, "low")
    await chat.say("hr-a", "/export")
    book = load_workbook(chat.last("hr-a").files[0].path or "")
    sheet = book.active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    by_name = {r[1]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    # Not "95, 低风险": a declined candidate has left, an unbound one is not reached yet.
    assert by_name["赵六"]["稳定性评分"] is None
    assert by_name["赵六"]["风险等级"] == "已婉拒 offer，不再评分"
    assert by_name["赵六"]["主要原因"] is None
    assert by_name["王五"]["稳定性评分"] is None
    assert by_name["王五"]["风险等级"] == "尚未绑定，未触达（不评分）"
