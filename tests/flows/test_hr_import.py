"""/import in chat: the dry-run report first, then the import on confirmation."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook

from adapters.memory import MemoryAdapter
from bot.core.messages import AttachmentKind
from bot.runtime.app import App
from storage import people
from storage.models import Candidate
from tests.bot.helpers import add_candidate, add_staff
from tests.flows.conftest import Restart

CSV = (
    "姓名,手机,邮箱,部门,HR\n"
    "张三,138 0013 8001,,研发中心,\n"
    "坏号码,12345,,研发中心,\n"
    "李四,,lisi@example.com,市场部,\n"
    ",13800138004,,研发中心,\n"
    "钱七,13800138007,,研发中心,李静\n"
).encode()


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def all_candidates(app: App) -> dict[str, Candidate]:
    async with app.db.session() as session:
        return {c.name: c for c in await people.list_candidates(session=session)}


def imports_dir(app: App) -> Path:
    return app.settings.data_dir / "imports"


async def test_bad_rows_reported_then_good_rows_imported_on_confirm(
    app: App, chat: MemoryAdapter
) -> None:
    wang = await add_staff(app, "王芳", "hr", user="hr-a")
    li_jing = await add_staff(app, "李静", "hr", user="hr-b")
    assert "CSV 或 XLSX" in (await chat.say("hr-a", "导入"))[0]
    replies = await chat.upload("hr-a", CSV, name="新人名单.csv", mime_type="text/csv")
    report = replies[0]
    assert report.startswith("试运行（未写入）：将新增 3 人，更新 0 人，拒绝 2 行。")
    assert "第 3 行：手机号格式不正确：12345" in report
    assert "第 5 行：缺少姓名" in report
    assert "确认按上面的结果导入吗" in replies[1]
    assert await all_candidates(app) == {}  # nothing written by the dry run
    assert len(list(imports_dir(app).iterdir())) == 1  # the file waits under DATA_DIR
    done = await chat.tap("hr-a", "确认导入")
    assert done[0].startswith("导入完成：新增 3 人，更新 0 人，拒绝 2 行，生成邀请码 3 个。")
    assert "第 3 行" in done[0]
    assert "邀请码（发给候选人，用于绑定）：" in done[1] and "张三：" in done[1]
    stored = await all_candidates(app)
    assert set(stored) == {"张三", "李四", "钱七"}
    assert stored["张三"].phone == "+8613800138001"
    assert stored["张三"].hr_id == wang.id and stored["李四"].hr_id == wang.id
    assert stored["钱七"].hr_id == li_jing.id  # the file named another HR
    assert list(imports_dir(app).iterdir()) == []
    assert "👤 张三" in (await chat.say("hr-a", "/status 张三"))[0]
    assert "没有找到" in (await chat.say("hr-a", "/status 钱七"))[0]
    # Importing her own rows again only updates them ...
    own = b"\n".join(CSV.splitlines()[:5]) + b"\n"
    await chat.say("hr-a", "/import")
    again = (await chat.upload("hr-a", own, name="新人名单.csv"))[0]
    assert "将新增 0 人，更新 2 人，拒绝 2 行" in again
    assert "导入完成：新增 0 人，更新 2 人" in (await chat.tap("hr-a", "确认导入"))[0]
    # ... while 钱七 now belongs to 李静, so the whole file is refused for 王芳.
    await chat.say("hr-a", "/import")
    refused = (await chat.upload("hr-a", CSV, name="新人名单.csv"))[0]
    assert "1 位候选人由其他 HR 负责（钱七）" in refused


async def test_non_tables_are_refused_and_the_file_asked_for_again(
    app: App, chat: MemoryAdapter
) -> None:
    await add_staff(app, "王芳", "hr", user="hr-a")
    await chat.say("hr-a", "/import")
    replies = await chat.upload(
        "hr-a", b"\xff\xd8\xff\xe0jpeg", name="a.jpg", kind=AttachmentKind.PHOTO
    )
    assert "不是 CSV 或 XLSX 表格" in replies[0] and "CSV 或 XLSX 文件" in replies[1]
    replies = await chat.upload("hr-a", b"%PDF-1.4 ...", name="名单.pdf")
    assert "「名单.pdf」不是 CSV 或 XLSX 表格" in replies[0]
    replies = await chat.upload("hr-a", b"%PDF-1.4 ...", name="renamed.csv")
    assert "无法读取这个文件" in replies[0] and "CSV 或 XLSX 文件" in replies[1]
    replies = await chat.upload("hr-a", b"name,phone\n", name="empty.xlsx")
    assert "无法读取这个文件" in replies[0]
    too_big = b"x" * (app.settings.max_upload_mb * 1024 * 1024 + 1)
    assert "超过 20 MB" in (await chat.upload("hr-a", too_big, name="big.csv"))[0]
    assert "请发送 CSV 或 XLSX 文件" in (await chat.say("hr-a", "好的"))[0]
    good = xlsx([["name", "phone"], ["周九", "13800138009"]])
    replies = await chat.upload("hr-a", good, name="list.xlsx")
    assert "将新增 1 人" in replies[0]
    assert "已取消，什么都没有导入" in (await chat.tap("hr-a", "取消"))[0]
    assert await all_candidates(app) == {}
    assert list(imports_dir(app).iterdir()) == []


async def test_an_hr_cannot_change_another_hrs_candidates_by_file(
    app: App, chat: MemoryAdapter
) -> None:
    await add_staff(app, "王芳", "hr", user="hr-a")
    li_jing = await add_staff(app, "李静", "hr", user="hr-b")
    await add_candidate(app, "李四", hr=li_jing, phone="+8613800138002", department="市场部")
    data = "姓名,手机,部门,HR\n李四改名,13800138002,研发中心,王芳\n".encode()
    await chat.say("hr-a", "/import")
    replies = await chat.upload("hr-a", data, name="x.csv")
    assert "1 位候选人由其他 HR 负责（李四）" in replies[0]
    stored = (await all_candidates(app))["李四"]
    assert stored.hr_id == li_jing.id and stored.department == "市场部"
    # An admin may.
    await chat.say("root", "/import")
    await chat.upload("root", data, name="x.csv")
    assert "导入完成：新增 0 人，更新 1 人" in (await chat.tap("root", "确认导入"))[0]
    assert "李四改名" in await all_candidates(app)


async def test_confirmation_survives_a_restart(
    app: App, chat: MemoryAdapter, restart: Restart
) -> None:
    await add_staff(app, "王芳", "hr", user="hr-a")
    await chat.say("hr-a", "/import")
    await chat.upload("hr-a", CSV, name="list.csv")
    confirm = chat.last("hr-a").buttons
    _, chat2 = await restart()
    button = next(b for b in confirm if "确认导入" in b.label)
    await chat2.dispatch(chat2.incoming("hr-a", button.label, payload=button.payload))
    assert chat2.sent["hr-a"][0].text.startswith("导入完成：新增 2 人")  # no HR 李静 here
    assert set(await all_candidates(app)) == {"张三", "李四"}
