"""/forget: the candidate asks (confirmed twice), an admin carries it out."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.memory import MemoryAdapter
from bot.core.messages import AttachmentKind
from bot.core.uploads import FileStore
from bot.runtime.app import App
from storage import links, people, scores
from storage.models import (
    AuditEntry,
    BindFailure,
    Candidate,
    ContentReceipt,
    CourseResult,
    Dialog,
    Document,
    Identity,
    InboundEvent,
    Interaction,
    Outcome,
    ScoreSnapshot,
    Staff,
    SurveyResponse,
)
from tests.bot.helpers import add_candidate, add_staff
from tests.flows.test_documents import jpeg

# Rows about a forgotten candidate that are kept on purpose (anonymous, or no foreign key).
KEPT = {"outcomes", "audit_log"}


async def _bind(app: App, chat: MemoryAdapter, user: str, name: str, hr: Staff) -> Candidate:
    candidate, code = await add_candidate(
        app, name, hr=hr, offer_status="accepted", phone=f"+86138000{user}"
    )
    await chat.say(user, f"/bind {code}")
    return candidate


async def _upload(chat: MemoryAdapter, user: str, data: bytes) -> None:
    await chat.say(user, "材料")
    await chat.tap(user, "身份证正面")
    replies = await chat.upload(user, data, name="id.jpg", kind=AttachmentKind.PHOTO)
    assert "已收到「身份证正面」" in replies[0]
    await chat.say(user, "/cancel")


async def _stored_file(app: App, candidate: Candidate) -> Path:
    async with app.db.session() as session:
        document = (
            await session.exec(select(Document).where(Document.candidate_id == candidate.id))
        ).one()
    return FileStore(app.settings.data_dir / "files").path(document.sha256, "jpg")


async def _request(chat: MemoryAdapter, user: str) -> list[str]:
    first = (await chat.say(user, "/forget"))[0]
    assert "永久清除，无法恢复" in first
    second = (await chat.tap(user, "继续"))[0]
    assert "最后确认" in second and "无法撤销" in second
    return await chat.tap(user, "确认删除")


async def _leftovers(app: App, candidate_id: int, identity_ids: list[int], user: str) -> list[str]:
    """Every table that still holds a row about the candidate (by id, identity or account)."""
    found = []
    async with app.db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in KEPT:
                continue
            for column, values in (
                ("candidate_id", [candidate_id]),
                ("identity_id", identity_ids),
                ("used_by_identity_id", identity_ids),
            ):
                if column in table.c and values:
                    stmt = (
                        select(func.count()).select_from(table).where(table.c[column].in_(values))
                    )
                    if (await session.exec(stmt)).one():
                        found.append(f"{table.name}.{column}")
        checks = {
            "candidates": select(func.count()).where(col(Candidate.id) == candidate_id),
            "identities": select(func.count()).where(col(Identity.user_id) == user),
            "bind_failures": select(func.count()).where(col(BindFailure.user_id) == user),
            "dialogs": select(func.count()).where(
                col(Dialog.person).in_([f"c:{candidate_id}", *(f"i:{i}" for i in identity_ids)])
            ),
        }
        for name, stmt in checks.items():
            if (await session.exec(stmt)).one():
                found.append(name)
        events = (await session.exec(select(InboundEvent))).all()
        if any(e.payload and e.payload["sender"][1] == user for e in events):
            found.append("inbound_events")
    return found


async def _events_not_from(session: AsyncSession, user: str) -> int:
    events = (await session.exec(select(InboundEvent))).all()
    return sum(1 for e in events if e.payload and e.payload["sender"][1] != user)


async def test_request_confirmed_twice_then_admin_deletes_everything(
    app: App, chat: MemoryAdapter
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await add_staff(app, "陈静", "admin", user="admin-chen")
    await chat.say("root", "/help")  # the ADMIN_IDS account, without a staff record
    await chat.say("u1", "/bind WRONGCODE9")  # a failed attempt, tied to the chat account
    zhang = await _bind(app, chat, "u1", "张三", hr)
    assert zhang.id is not None
    await _upload(chat, "u1", jpeg("green"))
    path = await _stored_file(app, zhang)
    assert path.exists()
    await chat.say("u1", "我能带我的猫来上班吗")  # a question that becomes a ticket
    async with app.db.session() as session:
        token = await links.create_token(
            session=session,
            candidate_id=zhang.id,
            item_id="video",
            url="https://x",
            now=app.clock.now(),
        )
        await links.click(session=session, token=token, now=app.clock.now())
        session.add(
            ContentReceipt(candidate_id=zhang.id, item_id="video", slot="d3", at=app.clock.now())
        )
        session.add(
            CourseResult(candidate_id=zhang.id, course_id="c1", score=3, total=3, passed=True)
        )
        session.add(
            SurveyResponse(candidate_id=zhang.id, ratings={"team": 5}, created_at=app.clock.now())
        )
        await scores.save(
            session=session,
            snapshot=ScoreSnapshot(
                candidate_id=zhang.id,
                at=app.clock.now(),
                score=58,
                band="high",
                interaction=40,
                training=90,
                feedback=50,
                completeness=60,
                external=70,
                reasons=[],
            ),
        )
    # Someone else stays untouched.
    li = await _bind(app, chat, "u2", "李四", hr)
    await chat.say("u2", "你好")
    async with app.db.session() as session:
        identity_ids = [
            i.id or 0 for i in await people.identities_of(session=session, candidate_id=zhang.id)
        ]
        failures = (await session.exec(select(BindFailure))).all()
        assert [f.user_id for f in failures] == ["u1"]
        others_before = await _events_not_from(session, "u1")

    replies = await _request(chat, "u1")
    assert "已收到你的删除申请" in replies[0] and "管理员会尽快处理" in replies[0]
    notice = chat.last("admin-chen").text
    assert "张三" in notice and f"/forget #{zhang.id} confirm" in notice
    await app.courier.drain()  # the ADMIN_IDS account's notice is queued directly
    assert f"/forget #{zhang.id} confirm" in chat.last("root").text
    assert "已经在" in (await chat.say("u1", "删除我的数据"))[0]

    preview = (await chat.say("admin-chen", "/forget 张三"))[0]
    assert "将永久删除 张三（研发中心）" in preview and "· 材料：1" in preview
    assert "在聊天中提交删除申请" in preview and "没有在聊天中" not in preview
    assert f"/forget #{zhang.id} confirm" in preview
    assert path.exists()

    done = (await chat.say("admin-chen", f"/forget #{zhang.id} confirm"))[0]
    assert f"已删除候选人 #{zhang.id} 的全部数据" in done and "删除文件 1 个" in done
    assert "张三" not in done
    assert not path.exists()
    assert await _leftovers(app, zhang.id, identity_ids, "u1") == []
    async with app.db.session() as session:
        outcome = (await session.exec(select(Outcome))).one()
        assert outcome.candidate_id is None and outcome.outcome == "forgotten"
        assert outcome.department == "研发中心" and outcome.score is not None
        assert set(outcome.features) == {
            "interaction",
            "training",
            "feedback",
            "completeness",
            "external",
        }
        entry = (await session.exec(select(AuditEntry).where(AuditEntry.action == "forget"))).one()
        assert entry.candidate_id == zhang.id and "张三" not in entry.detail
        assert "documents=1" in entry.detail
        # The other candidate, HR's messages and the staff are all still there.
        assert await people.get_candidate(session=session, candidate_id=li.id or 0) is not None
        assert await _events_not_from(session, "u1") >= others_before > 0
        assert (
            await session.exec(
                select(func.count())
                .select_from(Interaction)
                .where(Interaction.candidate_id == li.id)
            )
        ).one() > 0
    # The chat account is a stranger now.
    assert "邀请码" in (await chat.say("u1", "/progress"))[0]
    assert "没有找到" in (await chat.say("admin-chen", f"/forget #{zhang.id} confirm"))[0]


async def test_shared_file_stays_while_another_document_uses_it(
    app: App, chat: MemoryAdapter
) -> None:
    hr = await add_staff(app, "王芳", "hr")
    zhang = await _bind(app, chat, "u1", "张三", hr)
    li = await _bind(app, chat, "u2", "李四", hr)
    await _upload(chat, "u1", jpeg("blue"))
    await _upload(chat, "u2", jpeg("blue"))
    path = await _stored_file(app, zhang)
    assert path == await _stored_file(app, li)
    assert "删除文件 0 个" in (await chat.say("root", f"/forget #{zhang.id} confirm"))[0]
    assert path.exists()
    assert "删除文件 1 个" in (await chat.say("root", "/forget 李四 confirm"))[0]
    assert not path.exists()


async def test_cancel_at_either_step_keeps_everything(app: App, chat: MemoryAdapter) -> None:
    hr = await add_staff(app, "王芳", "hr")
    await add_staff(app, "陈静", "admin", user="admin-chen")
    zhang = await _bind(app, chat, "u1", "张三", hr)
    await chat.say("u1", "/forget")
    assert "你的数据都还在" in (await chat.tap("u1", "保留我的数据"))[0]
    await chat.say("u1", "/forget")
    await chat.tap("u1", "继续")
    assert "已退出「删除我的数据」" in (await chat.say("u1", "/cancel"))[0]
    await chat.say("u1", "/forget")
    await chat.tap("u1", "继续")
    assert "你的数据都还在" in (await chat.tap("u1", "保留我的数据"))[0]
    async with app.db.session() as session:
        stored = await people.get_candidate(session=session, candidate_id=zhang.id or 0)
    assert stored is not None and stored.forget_requested_at is None
    assert not chat.sent["admin-chen"]


async def test_admin_without_request_keeps_recorded_outcome_anonymous(
    app: App, chat: MemoryAdapter
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    wang, _ = await add_candidate(app, "王五", hr=hr, department="市场部")
    async with app.db.session() as session:
        session.add(
            Outcome(
                candidate_id=wang.id,
                outcome="reneged",
                reason="去读研",
                department="市场部",
                at=app.clock.now(),
            )
        )
    preview = (await chat.say("root", "/forget 王五"))[0]
    assert "没有在聊天中提交删除申请" in preview and "留存好书面申请" in preview
    assert "已删除" in (await chat.say("root", "/forget 王五 确认"))[0]
    async with app.db.session() as session:
        outcomes = (await session.exec(select(Outcome))).all()
    assert [(o.candidate_id, o.outcome, o.reason) for o in outcomes] == [
        (None, "reneged", "去读研")
    ]


async def test_only_admins_carry_it_out_and_names_are_disambiguated(
    app: App, chat: MemoryAdapter
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    await add_staff(app, "李强", "manager", user="mgr", department="研发中心")
    await add_candidate(app, "张伟", hr=hr, school="浙江大学", phone="+8613800000001")
    await add_candidate(app, "张伟", hr=hr, school="复旦大学", phone="+8613800000002")
    assert "不对你开放" in (await chat.say("hr-wang", "/forget 张伟 confirm"))[0]
    assert "不对你开放" in (await chat.say("mgr", "/forget 张伟 confirm"))[0]
    assert "找到 2 位" in (await chat.say("root", "/forget 张伟 confirm"))[0]
    chosen = (await chat.tap("root", "复旦大学"))[0]
    assert (
        "将永久删除 张伟" in chosen and "/forget #2 confirm" in chosen
    )  # a preview, not a deletion
    async with app.db.session() as session:
        assert len((await session.exec(select(Candidate))).all()) == 2
    assert "用法" in (await chat.say("root", "/forget"))[0]
    assert "没有找到候选人「赵六」" in (await chat.say("root", "/forget 赵六"))[0]
