"""Manager commands (/team, /approve), HR's /offer NAME pending, and the approval SLA."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.people.approvals import check_approval_sla
from bot.runtime.app import App
from storage import dialogs, people
from storage.models import AuditEntry, Candidate, Document, Staff
from tests.bot.helpers import add_candidate, add_staff, save_score
from tests.conftest import START


async def _candidate(app: App, candidate_id: int | None) -> Candidate:
    assert candidate_id is not None
    async with app.db.session() as session:
        found = await people.get_candidate(session=session, candidate_id=candidate_id)
    assert found is not None
    return found


def _texts(chat: MemoryAdapter, user: str) -> list[str]:
    return [m.text for m in chat.sent[user]]


# ---- /team -------------------------------------------------------------------------------


async def test_team_shows_own_department_without_contact_or_documents(
    app: App, chat: MemoryAdapter
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    manager = await add_staff(app, "李强", "manager", user="mgr", department="研发中心")
    zhang, code = await add_candidate(
        app,
        "张三",
        hr=hr,
        phone="+8613812345678",
        email="zhangsan@example.com",
        position="后端工程师",
        offer_status="accepted",
    )
    await add_candidate(app, "李四", hr=hr, department="市场部", phone="+8613800000002")
    await add_candidate(app, "王五", hr=hr, offer_status="declined", phone="+8613800000003")
    await add_candidate(app, "赵六", hr=hr, phone="+8613800000004", position="测试工程师")
    await chat.say("u1", f"/bind {code}")
    async with app.db.session() as session:
        session.add(
            Document(
                candidate_id=zhang.id or 0,
                item="id_front",
                status="submitted",
                sha256="a" * 64,
                file_name="身份证.jpg",
                mime_type="image/jpeg",
                size=10,
                submitted_at=app.clock.now(),
            )
        )
    await save_score(app, zhang, 42, "high", reasons=[{"code": "silent", "days": 4}])

    reply = (await chat.say("mgr", "/team"))[0]
    assert "研发中心即将入职的新同学共 2 人" in reply
    assert "张三" in reply and "后端工程师" in reply and "已确认" in reply and "高风险" in reply
    assert "赵六" in reply and "暂无评分" in reply
    assert "李四" not in reply and "王五" not in reply  # other department; declined
    for private in ("138", "5678", "zhangsan@", "身份证", "id_front"):
        assert private not in reply
    assert "准备进度" in reply and "2026-07-01 入职" in reply
    assert "研发中心" in (await chat.say("mgr", "团队"))[0]  # the Chinese alias
    async with app.db.session() as session:
        rows = (await session.exec(select(AuditEntry).where(AuditEntry.action == "team"))).all()
    assert len(rows) == 2 and rows[0].staff_id == manager.id and rows[0].actor == "李强"


async def test_team_pages_and_admin_sees_all(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr")
    await add_staff(app, "李强", "manager", user="mgr", department="研发中心")
    for n in range(12):
        await add_candidate(app, f"同学{n:02d}", hr=hr, phone=f"+86138000001{n:02d}")
    await add_candidate(app, "李四", hr=hr, department="市场部", phone="+8613800000999")
    first = (await chat.say("mgr", "/team"))[0]
    assert "共 12 人（第 1/2 页" in first and first.count("\n    ") == 10
    assert chat.last("mgr").buttons[-1].payload == "tm:2"
    second = (await chat.tap("mgr", "下一页"))[0]
    assert "第 2/2 页" in second and second.count("\n    ") == 2
    everyone = (await chat.say("root", "/team"))[0]
    assert "各部门即将入职的新同学共 13 人" in everyone


async def test_manager_without_department_is_told(app: App, chat: MemoryAdapter) -> None:
    await add_staff(app, "李强", "manager", user="mgr")
    assert "还没有设置所属部门" in (await chat.say("mgr", "/team"))[0]


async def test_candidate_and_hr_cannot_run_manager_commands(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    li, _ = await add_candidate(
        app, "李四", hr=hr, phone="+8613800000002", offer_status="pending_approval"
    )
    _, code = await add_candidate(app, "张三", hr=hr)
    await chat.say("u1", f"/bind {code}")
    for command in ("/team", "/approve", "团队", "审批"):
        reply = (await chat.say("u1", command))[0]
        assert "不对你开放" in reply and "李四" not in reply
    assert "不对你开放" in (await chat.say("hr-wang", "/team"))[0]
    # A candidate cannot use HR's /offer NAME pending either: it is their own /offer.
    await chat.say("u1", "/cancel")
    reply = (await chat.say("u1", "/offer 李四 pending"))[0]
    assert "李四" not in reply
    assert (await _candidate(app, li.id)).offer_status == "pending_approval"


# ---- offer approval ----------------------------------------------------------------------


async def _setup_pending(app: App, chat: MemoryAdapter) -> tuple[Staff, Staff, Candidate]:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    manager = await add_staff(app, "李强", "manager", user="mgr", department="研发中心")
    candidate, code = await add_candidate(
        app, "张三", hr=hr, position="后端工程师", school="浙江大学"
    )
    await chat.say("u1", f"/bind {code}")
    await chat.say("u1", "/cancel")  # leave the offer question asked after binding
    return hr, manager, candidate


async def test_hr_sends_offer_for_approval_and_manager_approves(
    app: App, chat: MemoryAdapter
) -> None:
    _, _, candidate = await _setup_pending(app, chat)
    reply = (await chat.say("hr-wang", "/offer 张三 pending"))[0]
    assert "已把 张三 的 offer 提交审批，已通知 李强" in reply
    notice = chat.last("mgr")
    assert "王芳 提交了一份 offer 请你审批" in notice.text and "浙江大学" in notice.text
    assert [b.label for b in notice.buttons] == ["✅ 批准", "❌ 驳回"]
    stored = await _candidate(app, candidate.id)
    assert stored.offer_status == "pending_approval" and stored.approval_requested_at is not None
    # Meanwhile the candidate is told it is being approved.
    assert "内部审批中" in (await chat.say("u1", "/offer"))[0]
    assert "已经在审批中" in (await chat.say("hr-wang", "/offer 张三 pending"))[0]

    assert "已批准 张三 的 offer" in (await chat.tap("mgr", "批准"))[0]
    assert "李强 已批准 张三" in chat.last("hr-wang").text
    assert "审批通过" in chat.last("u1").text
    assert (await _candidate(app, candidate.id)).offer_status == "offered"
    # The notice's buttons are now stale.
    assert "已经处理过了" in (await chat.tap("mgr", "驳回"))[0]
    assert "请确认你的决定" in (await chat.say("u1", "确认offer"))[0]


async def test_approve_list_and_reject_with_reason(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    hr, manager, candidate = await _setup_pending(app, chat)
    await add_candidate(app, "李四", hr=hr, phone="+8613800000002", offer_status="pending_approval")
    await add_candidate(
        app,
        "王五",
        hr=hr,
        phone="+8613800000003",
        department="市场部",
        offer_status="pending_approval",
    )
    clock.advance(timedelta(hours=3))
    await chat.say("hr-wang", "/offer 张三 pending")
    listing = (await chat.say("mgr", "审批"))[0]
    assert "等你审批的 offer 共 2 份" in listing
    assert "李四" in listing and "张三" in listing and "王五" not in listing
    assert listing.index("李四") < listing.index("张三")  # waiting longest first
    listed = chat.last("mgr").buttons
    assert [b.label for b in listed] == ["✅ 批准 1", "❌ 驳回 1", "✅ 批准 2", "❌ 驳回 2"]

    ask = (await chat.tap("mgr", "驳回 2"))[0]
    assert "驳回 张三 这份 offer 的原因" in ask and "候选人看不到" in ask
    done = (await chat.say("mgr", "这个岗位今年不再扩招"))[0]
    assert "已驳回 张三 的 offer" in done
    told = chat.last("hr-wang").text
    assert "李强 驳回了 张三" in told and "这个岗位今年不再扩招" in told
    stored = await _candidate(app, candidate.id)
    assert stored.offer_status == "declined"
    assert stored.offer_decline_reason == "manager_rejected"
    assert stored.offer_decline_note == "这个岗位今年不再扩招"
    assert not any("驳回" in t for t in _texts(chat, "u1"))  # the candidate is not told
    assert "无法继续推进" in (await chat.say("u1", "/offer"))[0]
    # The stale list button for 张三 says it was handled.
    await chat.dispatch(chat.incoming("mgr", listed[2].label, payload=listed[2].payload))
    assert "已经处理过了" in chat.last("mgr").text
    # HR can send it for approval again after the company's rejection.
    assert "提交审批" in (await chat.say("hr-wang", "/offer 张三 pending"))[0]
    assert manager.id is not None


async def test_reject_with_preset_reason(app: App, chat: MemoryAdapter) -> None:
    _, _, candidate = await _setup_pending(app, chat)
    await chat.say("hr-wang", "/offer 张三 pending")
    await chat.tap("mgr", "驳回")
    assert "已驳回" in (await chat.tap("mgr", "预算不足"))[0]
    assert "原因：预算不足" in chat.last("hr-wang").text
    assert (await _candidate(app, candidate.id)).offer_decline_note == "预算不足"


async def test_manager_of_another_department_is_refused(app: App, chat: MemoryAdapter) -> None:
    _, _, candidate = await _setup_pending(app, chat)
    await add_staff(app, "周敏", "manager", user="mgr-b", department="市场部")
    await chat.say("hr-wang", "/offer 张三 pending")
    assert not chat.sent["mgr-b"]  # only the approver was asked
    assert "没有等你审批的 offer" in (await chat.say("mgr-b", "/approve"))[0]
    approve = chat.last("mgr").buttons[0].payload
    await chat.dispatch(chat.incoming("mgr-b", "✅ 批准", payload=approve))
    assert "不在你的审批范围内" in chat.last("mgr-b").text
    assert (await _candidate(app, candidate.id)).offer_status == "pending_approval"
    # An admin may approve anything.
    await chat.dispatch(chat.incoming("root", "✅ 批准", payload=approve))
    assert "已批准" in chat.last("root").text


async def test_named_manager_approves_even_across_departments(
    app: App, chat: MemoryAdapter
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await add_staff(app, "李强", "manager", user="mgr", department="研发中心")
    boss = await add_staff(app, "周敏", "manager", user="mgr-b", department="市场部")
    await add_candidate(app, "张三", hr=hr, manager_id=boss.id)
    await chat.say("hr-wang", "/offer 张三 pending")
    assert not chat.sent["mgr"]  # the candidate's own manager decides, not the department's
    assert "请你审批" in chat.last("mgr-b").text
    assert "没有等你审批" in (await chat.say("mgr", "/approve"))[0]


async def test_offer_pending_ambiguous_and_refusals(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    other = await add_staff(app, "刘洋", "hr", user="hr-liu")
    await add_staff(app, "李强", "manager", user="mgr", department="研发中心")
    await add_candidate(app, "张伟", hr=hr, school="浙江大学", phone="+8613800000001")
    await add_candidate(app, "张伟", hr=hr, school="复旦大学", phone="+8613800000002")
    await add_candidate(app, "陈晨", hr=hr, phone="+8613800000003", offer_status="accepted")
    await add_candidate(app, "孙丽", hr=hr, phone="+8613800000004", department="无人部门")
    assert "用法" in (await chat.say("hr-wang", "/offer 张伟"))[0]
    assert "找到 2 位" in (await chat.say("hr-wang", "/offer 张伟 pending"))[0]
    assert "已把 张伟 的 offer 提交审批" in (await chat.tap("hr-wang", "复旦大学"))[0]
    assert "复旦大学" in chat.last("mgr").text
    assert "「已确认」，不能再提交审批" in (await chat.say("hr-wang", "/offer 陈晨 pending"))[0]
    assert "没有找到审批人" in (await chat.say("hr-wang", "/offer 孙丽 pending"))[0]
    assert "没有找到你负责的候选人" in (await chat.say("hr-liu", "/offer 陈晨 pending"))[0]
    assert "不对你开放" in (await chat.say("mgr", "/offer 陈晨 pending"))[0]
    assert other.id is not None


async def test_sla_nudges_after_two_days_then_every_two_days(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    manager = await add_staff(app, "李强", "manager", user="mgr", department="研发中心")
    # Imported as pending: no request time, so the wait counts from the record's creation.
    candidate, _ = await add_candidate(
        app, "张三", hr=hr, offer_status="pending_approval", manager_id=manager.id
    )

    async def run() -> None:
        await check_approval_sla(app.db, app.services, clock.now())
        await app.courier.drain()

    clock.advance(timedelta(days=1, hours=23))
    await run()
    assert not chat.sent["mgr"] and not chat.sent["hr-wang"]
    clock.advance(timedelta(hours=2))  # 2 days and 1 hour: 11:00 in Shanghai
    await run()
    nudge = chat.last("mgr")
    assert "张三" in nudge.text and "已经等你审批 2 天了" in nudge.text
    assert [b.label for b in nudge.buttons] == ["✅ 批准", "❌ 驳回"]
    alert = chat.last("hr-wang").text
    assert "张三（研发中心）的 offer 已待审批 2 天" in alert and "李强" in alert
    await run()
    clock.advance(timedelta(hours=5))
    await run()
    assert len(chat.sent["mgr"]) == 1 and len(chat.sent["hr-wang"]) == 1
    clock.advance(timedelta(hours=14))  # the next day, 06:00: too early
    await run()
    assert len(chat.sent["mgr"]) == 1
    clock.advance(timedelta(hours=4))  # 10:00, day 3: not every day
    await run()
    assert len(chat.sent["mgr"]) == 1 and len(chat.sent["hr-wang"]) == 1
    clock.advance(timedelta(days=1))  # day 4: the next OFFER_APPROVAL_SLA_DAYS period
    await run()
    assert len(chat.sent["mgr"]) == 2 and len(chat.sent["hr-wang"]) == 2
    assert "4 天" in chat.last("mgr").text
    # Once approved (with the nudge's button), the nudges stop.
    await chat.tap("mgr", "批准")
    assert (await _candidate(app, candidate.id)).offer_status == "offered"
    clock.advance(timedelta(days=1))
    before = len(chat.sent["mgr"])
    await run()
    assert len(chat.sent["mgr"]) == before


async def test_two_managers_approving_at_once_decide_once(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await add_staff(app, "李强", "manager", user="mgr", department="研发中心")
    await add_staff(app, "周敏", "manager", user="mgr-b", department="研发中心")
    await add_candidate(app, "张三", hr=hr)
    await chat.say("hr-wang", "/offer 张三 pending")
    assert "李强、周敏" in chat.last("hr-wang").text
    taps = [chat.last(user).buttons[0] for user in ("mgr", "mgr-b")]
    before = len(chat.sent["hr-wang"])
    await asyncio.gather(
        *(
            chat.dispatch(chat.incoming(user, tap.label, payload=tap.payload))
            for user, tap in zip(("mgr", "mgr-b"), taps, strict=True)
        )
    )
    answers = [chat.last("mgr").text, chat.last("mgr-b").text]
    assert sum("已批准" in a for a in answers) == 1
    assert sum("已经处理过了" in a for a in answers) == 1
    assert len(chat.sent["hr-wang"]) == before + 1


async def test_an_open_offer_question_is_closed_when_hr_asks_for_approval(
    app: App, chat: MemoryAdapter
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await add_staff(app, "李强", "manager", user="mgr", department="研发中心")
    candidate, code = await add_candidate(app, "张三", hr=hr, position="后端工程师")
    await chat.say("u1", f"/bind {code}")  # the offer question is open, with its buttons
    await chat.say("hr-wang", "/offer 张三 pending")
    async with app.db.session() as session:
        dialog = await dialogs.get_dialog(
            session=session,
            person=dialogs.DialogKey(candidate_id=candidate.id).person,
            flow="offer",
        )
    assert dialog is not None and dialog.status == "done"
    await chat.tap("u1", "接受 offer")  # the old button cannot accept it meanwhile
    assert (await _candidate(app, candidate.id)).offer_status == "pending_approval"


async def test_an_approval_nobody_can_give_goes_to_the_admins_once(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await add_staff(app, "陈静", "admin", user="admin-chen")
    await add_candidate(
        app, "孙丽", hr=hr, offer_status="pending_approval", department="无经理部门"
    )
    reminded_on: list[int] = []
    for day in range(1, 61):  # two months of nobody approving
        clock.advance(timedelta(days=1))
        before = len(chat.sent["hr-wang"])
        await check_approval_sla(app.db, app.services, clock.now())
        await app.courier.drain()
        if len(chat.sent["hr-wang"]) > before:
            reminded_on.append(day)
    admin = [m.text for m in chat.sent["admin-chen"] if "找不到能审批的人" in m.text]
    assert len(admin) == 1 and "孙丽" in admin[0] and "/approve" in admin[0]
    # HR is reminded once more than 2 days passed, then after 4, 8, 16 and 32 days (each
    # wait twice the last), on working days only: six reminders in two months, not thirty.
    assert all((START + timedelta(days=d)).weekday() < 5 for d in reminded_on)
    assert reminded_on == [3, 4, 8, 16, 32]


async def test_approval_reminders_wait_for_monday(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await add_staff(app, "李强", "manager", user="mgr", department="研发中心")
    clock.set(START + timedelta(days=3))  # requested on Thursday 10:00
    await add_candidate(app, "孙丽", hr=hr, offer_status="pending_approval")
    for days in (2, 3):  # Saturday and Sunday 11:00: overdue, but nobody is nudged
        clock.set(START + timedelta(days=3 + days, hours=1))
        await check_approval_sla(app.db, app.services, clock.now())
        await app.courier.drain()
        assert not chat.sent["mgr"] and not chat.sent["hr-wang"]
    clock.set(START + timedelta(days=7, hours=1))  # Monday
    await check_approval_sla(app.db, app.services, clock.now())
    await app.courier.drain()
    assert "孙丽" in chat.last("mgr").text and "孙丽" in chat.last("hr-wang").text
