"""Fixtures shared by this folder's tests."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.memory import MemoryAdapter
from bot.runtime.app import App
from tests.bot.helpers import add_candidate, add_staff


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
