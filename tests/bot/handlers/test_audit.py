"""/audit for admins."""

from __future__ import annotations

from typing import Any

from adapters.memory import MemoryAdapter
from bot.runtime.app import App


async def test_audit_lists_latest_rows_for_admins(
    app: App, chat: MemoryAdapter, team: dict[str, Any]
) -> None:
    await chat.say("hr-a", "/status 张三")
    await chat.say("hr-b", "/export")
    for _ in range(20):
        await chat.say("hr-a", "/risk")
    page1 = (await chat.say("root", "审计"))[0]
    lines = page1.splitlines()
    assert "共 22 条" in lines[0] and "第 1/2 页" in lines[0] and len(lines) == 21
    assert "06-01 10:00 · 王芳 · 查看风险名单 · -（高风险，第 1 页，共 0 人）" in page1
    assert chat.last("root").buttons[0].payload == "au:2"
    page2 = (await chat.tap("root", "下一页"))[0]
    assert "06-01 10:00 · 李静 · 导出名单 · -（1 人）" in page2
    assert "06-01 10:00 · 王芳 · 查看档案 · 张三" in page2
    # Past the last page: the last page again, not "no records".
    assert "第 2/2 页" in (await chat.say("root", "/audit 5"))[0]
