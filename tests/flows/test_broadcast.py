"""HR broadcast: audience by department, position, stage or risk; preview; outbox, quiet hours."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.runtime.app import App
from content import ContentPack
from storage import people
from storage.models import (
    Broadcast,
    Candidate,
    CourseResult,
    Document,
    Outbox,
    Staff,
)
from tests.bot.helpers import add_candidate, add_staff, save_score
from tests.flows.test_welcome import core_content

PICK = "请点击下面的按钮"
PHONES = itertools.count(1)


@pytest.fixture(scope="module")
def content_pack() -> ContentPack:
    return core_content()


async def bound_candidate(
    app: App, name: str, *, hr: Staff, user: str | None, **fields: object
) -> Candidate:
    """A candidate whose chat account ``user`` is bound (None: not bound yet)."""
    fields.setdefault("phone", f"139{next(PHONES):08d}")
    department = str(fields.pop("department", "研发中心"))
    candidate, _ = await add_candidate(app, name, hr=hr, department=department, **fields)
    if user is not None:
        async with app.db.session() as session:
            identity = await people.touch_identity(
                session=session,
                platform="memory",
                user_id=user,
                chat_id=user,
                display_name=name,
                now=app.clock.now(),
            )
            await people.bind_identity(
                session=session, identity=identity, candidate_id=candidate.id
            )
    return candidate


@pytest.fixture
async def cohort(app: App, chat: MemoryAdapter) -> dict[str, Candidate]:
    wang = await add_staff(app, "王芳", "hr", user="hr-wang")
    liu = await add_staff(app, "刘洋", "hr", user="hr-liu")
    made = {
        "张三": await bound_candidate(
            app, "张三", hr=wang, user="u1", position="后端开发", offer_status="accepted"
        ),
        "李四": await bound_candidate(
            app, "李四", hr=wang, user="u2", position="算法工程师", language="en"
        ),
        "王五": await bound_candidate(
            app,
            "王五",
            hr=wang,
            user="u3",
            department="市场部",
            position="市场专员",
            offer_status="delayed",
            timezone="Europe/London",
        ),
        "赵六": await bound_candidate(app, "赵六", hr=wang, user=None, position="测试工程师"),
        "孙七": await bound_candidate(
            app, "孙七", hr=wang, user="u5", offer_status="declined", position="后端开发"
        ),
        "周八": await bound_candidate(
            app, "周八", hr=wang, user="u6", forget_requested_at=app.clock.now()
        ),
        "吴九": await bound_candidate(app, "吴九", hr=liu, user="u9", position="后端开发"),
    }
    return made


async def outbox_rows(app: App) -> Sequence[Outbox]:
    async with app.db.session() as session:
        stmt = select(Outbox).where(Outbox.kind == "push").order_by(col(Outbox.id))
        return (await session.exec(stmt)).all()


async def broadcast_rows(app: App) -> Sequence[Broadcast]:
    async with app.db.session() as session:
        return (await session.exec(select(Broadcast).order_by(col(Broadcast.id)))).all()


async def test_all_of_my_candidates(
    app: App, chat: MemoryAdapter, cohort: dict[str, Candidate]
) -> None:
    ask = (await chat.say("hr-wang", "群发"))[0]
    assert "你名下共有 4 位候选人" in ask  # not the declined, not the forgotten, not 刘洋's
    assert [b.label for b in chat.last("hr-wang").buttons] == [
        "全部候选人",
        "按部门",
        "按岗位",
        "按阶段",
        "按风险等级",
        "取消",
    ]
    assert "共 3 人能收到" in (await chat.tap("hr-wang", "全部候选人"))[0]
    preview = (await chat.say("hr-wang", "周五下午三点线上答疑会，欢迎参加"))[0]
    assert "即将发给「全部候选人」共 3 人" in preview
    assert "张三、李四、王五" in preview
    assert "另有 1 人还没有绑定账号" in preview
    assert "📢 来自 HR 王芳 的消息：\n周五下午三点线上答疑会" in preview
    assert [b.label for b in chat.last("hr-wang").buttons] == ["确认发送", "修改内容", "取消"]
    assert await outbox_rows(app) == []
    assert "已发送给 3 人" in (await chat.tap("hr-wang", "确认发送"))[0]

    (record,) = await broadcast_rows(app)
    assert record.recipients == 3 and record.audience == {"by": "all", "value": None}
    assert record.text == "周五下午三点线上答疑会，欢迎参加"
    rows = await outbox_rows(app)
    assert {r.candidate_id for r in rows} == {cohort[n].id for n in ("张三", "李四", "王五")}
    assert {r.dedupe_key for r in rows} == {f"bc:{record.id}:{r.candidate_id}" for r in rows}
    assert {r.category for r in rows} == {"broadcast"}
    await app.courier.idle()  # sent once the turn committed, without waiting for a tick
    assert "来自 HR 王芳 的消息" in chat.last("u1").text
    assert chat.last("u2").text.startswith("📢 A message from 王芳 (HR):")  # their language
    for user in ("u5", "u6", "u9"):  # declined, forgotten, another HR's
        assert not any("群发" in m.text or "王芳" in m.text for m in chat.sent[user])


async def test_by_department_and_hr_scope(
    app: App, chat: MemoryAdapter, cohort: dict[str, Candidate]
) -> None:
    await chat.say("hr-wang", "/broadcast")
    await chat.tap("hr-wang", "按部门")
    assert [b.label for b in chat.last("hr-wang").buttons] == [
        "研发中心（3）",
        "市场部（1）",
        "◀ 返回",
    ]
    ask = (await chat.tap("hr-wang", "研发中心"))[0]
    assert "将发给「部门：研发中心」，共 2 人能收到" in ask
    preview = (await chat.say("hr-wang", "研发中心的同学请注意"))[0]
    assert "张三、李四" in preview and "王五" not in preview and "吴九" not in preview
    await chat.tap("hr-wang", "确认发送")
    rows = await outbox_rows(app)
    assert {r.candidate_id for r in rows} == {cohort["张三"].id, cohort["李四"].id}
    (record,) = await broadcast_rows(app)
    assert record.audience == {"by": "department", "value": "研发中心"}

    # 刘洋 sees only his own candidate; an admin sees everyone.
    assert "你名下共有 1 位候选人" in (await chat.say("hr-liu", "/broadcast"))[0]
    await add_staff(app, "管理员", "admin", user="root")
    assert "你名下共有 5 位候选人" in (await chat.say("root", "/broadcast"))[0]


async def test_by_position_with_nobody_bound_ends(
    app: App, chat: MemoryAdapter, cohort: dict[str, Candidate]
) -> None:
    await chat.say("hr-wang", "/broadcast")
    await chat.tap("hr-wang", "按岗位")
    labels = [b.label for b in chat.last("hr-wang").buttons]
    assert labels == [
        "后端开发（1）",
        "市场专员（1）",
        "测试工程师（1）",
        "算法工程师（1）",
        "◀ 返回",
    ]
    ended = (await chat.tap("hr-wang", "测试工程师"))[0]
    assert "都还没有绑定账号" in ended and "已结束" in ended
    assert await broadcast_rows(app) == []
    # Back from the value list returns to the audience choice.
    await chat.say("hr-wang", "/broadcast")
    await chat.tap("hr-wang", "按岗位")
    assert "这条消息要发给谁" in (await chat.tap("hr-wang", "返回"))[0]


async def test_by_stage_including_documents_and_training(
    app: App, chat: MemoryAdapter, cohort: dict[str, Candidate]
) -> None:
    zhang = cohort["张三"]
    items = app.content.checklists.items_for(zhang.department, zhang.position)
    async with app.db.session() as session:
        for item in items:
            session.add(
                Document(
                    candidate_id=zhang.id or 0,
                    item=item.id,
                    status="approved",
                    sha256="0" * 64,
                    mime_type="image/jpeg",
                    size=1,
                    submitted_at=app.clock.now(),
                )
            )
        for course in app.content.courses:
            session.add(CourseResult(candidate_id=zhang.id or 0, course_id=course.id, passed=True))
    await chat.say("hr-wang", "/broadcast")
    await chat.tap("hr-wang", "按阶段")
    assert [b.label for b in chat.last("hr-wang").buttons] == [
        "待确认 offer（2）",
        "已接受 offer（1）",
        "需要更多时间考虑（1）",
        "材料已齐（1）",
        "培训已完成（1）",
        "◀ 返回",
    ]
    assert "共 1 人能收到" in (await chat.tap("hr-wang", "培训已完成"))[0]
    await chat.say("hr-wang", "恭喜完成培训")
    await chat.tap("hr-wang", "确认发送")
    assert [r.candidate_id for r in await outbox_rows(app)] == [zhang.id]


async def test_by_risk_band(app: App, chat: MemoryAdapter, cohort: dict[str, Candidate]) -> None:
    for name, band, score in (("张三", "high", 40), ("李四", "low", 90)):
        await save_score(app, cohort[name], score, band)
    await chat.say("hr-wang", "/broadcast")
    await chat.tap("hr-wang", "按风险等级")
    assert [b.label for b in chat.last("hr-wang").buttons] == [
        "高风险（1）",
        "低风险（1）",
        "暂无评分（2）",
        "◀ 返回",
    ]
    assert (
        "将发给「风险等级：暂无评分」，共 1 人能收到" in (await chat.tap("hr-wang", "暂无评分"))[0]
    )
    preview = (await chat.say("hr-wang", "最近怎么样？"))[0]
    assert "共 1 人：\n王五" in preview and "另有 1 人还没有绑定账号" in preview


async def test_quiet_hours_delay_until_morning(
    app: App, chat: MemoryAdapter, clock: FixedClock, cohort: dict[str, Candidate]
) -> None:
    clock.set(datetime(2026, 6, 1, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai, 15:00 in London
    await chat.say("hr-wang", "/broadcast")
    await chat.tap("hr-wang", "全部候选人")
    await chat.say("hr-wang", "明早的通知")
    done = (await chat.tap("hr-wang", "确认发送"))[0]
    assert "已发送给 3 人" in done
    assert "其中 2 人那边现在是休息时间（21:00 至次日 9:00），消息会在早上 9:00 送达" in done
    # Written for now; the courier, the one place quiet hours apply, holds them back.
    assert {r.due_at for r in await outbox_rows(app)} == {clock.now()}
    await app.courier.drain()
    due = {r.candidate_id: r.due_at for r in await outbox_rows(app)}
    morning = datetime(2026, 6, 2, 1, 0, tzinfo=UTC)  # 09:00 next day in Shanghai
    assert due[cohort["张三"].id] == morning and due[cohort["李四"].id] == morning
    assert any("明早的通知" in m.text for m in chat.sent["u3"])
    assert not any("明早的通知" in m.text for m in chat.sent["u1"])
    clock.set(morning)
    await app.courier.drain()
    assert "明早的通知" in chat.last("u1").text


async def test_wrong_input_edit_cancel_and_double_confirm(
    app: App, chat: MemoryAdapter, cohort: dict[str, Candidate]
) -> None:
    await chat.say("hr-wang", "/broadcast")
    assert PICK in (await chat.say("hr-wang", "发给所有人"))[0]
    await chat.tap("hr-wang", "全部候选人")
    replies = await chat.say("hr-wang", "   ")
    assert "内容不能为空" in replies[0] and "请输入要群发的内容" in replies[1]
    assert "1001 字" in (await chat.say("hr-wang", "长" * 1001))[0]
    assert "群发只支持文字" in (await chat.upload("hr-wang", b"%PDF-1.4", name="a.pdf"))[0]
    await chat.say("hr-wang", "第一稿")
    assert "请输入要群发的内容" in (await chat.tap("hr-wang", "修改内容"))[0]
    preview = (await chat.say("hr-wang", "第二稿"))[0]
    assert "第二稿" in preview and "第一稿" not in preview
    confirm = next(b for b in chat.last("hr-wang").buttons if b.label == "确认发送")
    await chat.tap("hr-wang", "确认发送")
    await chat.dispatch(chat.incoming("hr-wang", confirm.label, payload=confirm.payload))
    assert "按钮已过期" in chat.last("hr-wang").text
    assert len(await broadcast_rows(app)) == 1 and len(await outbox_rows(app)) == 3

    await chat.say("hr-wang", "/broadcast")
    await chat.tap("hr-wang", "全部候选人")
    await chat.say("hr-wang", "算了")
    assert "已取消，没有发送任何消息" in (await chat.tap("hr-wang", "取消"))[0]
    assert len(await broadcast_rows(app)) == 1


async def test_more_than_ten_names_are_cut(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    for n in range(12):
        await bound_candidate(app, f"同学{n:02d}", hr=hr, user=f"s{n}")
    await chat.say("hr-wang", "/broadcast")
    await chat.tap("hr-wang", "全部候选人")
    preview = (await chat.say("hr-wang", "大家好"))[0]
    assert "同学09" in preview and "同学10" not in preview and "……等 2 人" in preview


async def test_nobody_to_send_to(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    assert "你名下目前没有可以群发的候选人" in (await chat.say("hr-wang", "/broadcast"))[0]
    await bound_candidate(app, "赵六", hr=hr, user=None)
    await chat.say("hr-wang", "/broadcast")
    ended = (await chat.tap("hr-wang", "全部候选人"))[0]
    assert "1 位候选人都还没有绑定账号" in ended
    assert await broadcast_rows(app) == []


async def test_candidates_and_managers_cannot_broadcast(
    app: App, chat: MemoryAdapter, cohort: dict[str, Candidate]
) -> None:
    assert "不对你开放" in (await chat.say("u1", "/broadcast"))[0]
    assert "不对你开放" in (await chat.say("u1", "群发"))[0]
    await add_staff(app, "李强", "manager", user="mgr-li", department="研发中心")
    assert "不对你开放" in (await chat.say("mgr-li", "/broadcast"))[0]
    assert await broadcast_rows(app) == []
