"""HR's morning digest: content for a constructed day, once a day, and "all calm"."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.reports.digest import send_digests
from bot.runtime.app import App
from storage import people, questions
from storage.models import (
    Candidate,
    Document,
    Outbox,
    Outcome,
    Staff,
)
from tests.bot.helpers import add_candidate, add_staff, save_score
from tests.conftest import START

_phones = iter(range(100, 1000))


async def _candidate(app: App, name: str, hr: Staff, **fields: Any) -> Candidate:
    """A candidate who bound a day ago (unless ``bound_at`` says otherwise)."""
    fields.setdefault("bound_at", START - timedelta(days=1))
    candidate, _ = await add_candidate(
        app, name, hr=hr, phone=f"+8613800000{next(_phones)}", **fields
    )
    return candidate


async def _add(app: App, *rows: Any) -> None:
    async with app.db.session() as session:
        for row in rows:
            session.add(row)


async def _run(app: App, clock: FixedClock) -> None:
    await send_digests(app.db, app.services, clock.now())
    await app.courier.drain()


def _silent_since(days: float) -> datetime:
    return START - timedelta(days=days)


async def test_digest_for_a_busy_day_once(app: App, chat: MemoryAdapter, clock: FixedClock) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    other = await add_staff(app, "刘洋", "hr", user="hr-liu")
    await add_staff(app, "张敏", "hr", user="hr-zhang")
    await add_staff(app, "陈静", "admin", user="admin-chen")
    await add_staff(app, "李强", "manager", user="mgr", department="研发中心")
    yesterday = START - timedelta(days=1)
    # Six high-risk candidates: the five lowest scores are listed, one more is counted.
    for n, score in enumerate((55, 31, 48, 40, 52, 36)):
        candidate = await _candidate(app, f"高危{n}", hr)
        reasons = [{"code": "other_offer"}] if score == 31 else [{"code": "silent", "days": 5}]
        await save_score(app, candidate, score, "high", at=yesterday, reasons=reasons)
        await save_score(app, candidate, score, "high", reasons=reasons)
    await save_score(app, await _candidate(app, "稳定", hr), 85, "low")
    await save_score(app, await _candidate(app, "中等", hr), 70, "medium")
    # High risk but out of the digest: declined, already reneged, another HR's.
    await save_score(app, await _candidate(app, "已拒绝", hr, offer_status="declined"), 10, "high")
    gone = await _candidate(app, "已毁约", hr)
    await save_score(app, gone, 12, "high")
    await _add(app, Outcome(candidate_id=gone.id, outcome="reneged", at=START))
    await save_score(app, await _candidate(app, "别人的", other), 20, "high")
    # Silence as the score sees it: silent in this morning's score and not in yesterday's.
    silent = [{"code": "silent", "days": 3}]
    today = START - timedelta(hours=2)
    for name, before, now in (
        ("小明", [], silent),  # newly silent
        ("小红", silent, silent),  # silent since yesterday already
        ("小刚", [], []),
        ("小丽", None, silent),  # newly silent, first score
    ):
        quiet = await _candidate(app, name, hr)
        if before is not None:
            await save_score(app, quiet, 75, "medium", at=yesterday, reasons=before)
        await save_score(app, quiet, 70 if now else 75, "medium", at=today, reasons=now)
    # Never bound: not reached yet, never a risk.
    await save_score(
        app, await _candidate(app, "未绑定", hr, bound_at=None), 20, "high", reasons=silent
    )
    # Two documents waiting, the older for 5 hours; one already approved.
    doc_owner = await _candidate(app, "交材料", hr)
    await _add(
        app,
        *(
            Document(
                candidate_id=doc_owner.id or 0,
                item=item,
                status=status,
                sha256=f"{item:0<64}",
                mime_type="image/jpeg",
                size=10,
                submitted_at=START - timedelta(hours=hours),
            )
            for item, status, hours in (
                ("id_front", "submitted", 5),
                ("id_back", "submitted", 1),
                ("degree", "approved", 30),
            )
        ),
    )
    # One ticket past the 24-hour SLA; a fresh one and an answered one do not count.
    asker = await _candidate(app, "提问者", hr)
    async with app.db.session() as session:
        for hours in (30, 2, 40):
            ticket = await questions.open_ticket(
                session=session,
                candidate_id=asker.id or 0,
                hr_id=hr.id,
                text="宿舍?",
                question_id=None,
                now=START - timedelta(hours=hours),
            )
            if hours == 40:
                ticket.status = "answered"
    # An offer waiting three days for the manager.
    await _candidate(
        app,
        "待审批",
        hr,
        offer_status="pending_approval",
        approval_requested_at=START - timedelta(days=3),
    )

    clock.set(START - timedelta(hours=1, minutes=1))  # 08:59 in Shanghai: not yet
    await _run(app, clock)
    assert not chat.sent["hr-wang"]
    clock.set(START - timedelta(hours=1))  # 09:00
    await _run(app, clock)
    assert len(chat.sent["hr-wang"]) == 1
    text = chat.last("hr-wang").text
    assert text.startswith("☀️ 王芳，早上好！今天（2026-06-01）需要你关注的事情")
    lines = text.splitlines()
    high = [line for line in lines if line.startswith("· 高危")]
    assert [line.split("（")[0] for line in high] == [
        "· 高危1",
        "· 高危5",
        "· 高危3",
        "· 高危2",
        "· 高危4",
    ]
    assert "高风险候选人 6 位" in text and "还有 1 位，发送 /risk 查看全部" in text
    assert "· 高危1（研发中心）31 分：手上有其他 offer" in text
    assert "发一段团队日常的视频，再电话聊一聊" in text
    assert "已经 5 天没有任何互动" in text and "打个电话问候一下" in text
    for absent in ("高危0", "稳定", "中等", "已拒绝", "已毁约", "别人的", "未绑定"):
        assert absent not in text
    quiet = next(line for line in lines if "新近沉默" in line)
    assert quiet == "🔕 新近沉默 2 位：小丽、小明，最近几条需要回复的消息都没有回应"
    assert "待审核材料 2 份，最早的已等了 4 小时，发送 /review 处理" in text
    assert "超过 24 小时未回复的问题 1 个，最早的已等了 29 小时，发送 /reply 回复" in text
    assert "待经理审批的 offer 1 份，最久的已等了 2 天" in text
    # Each HR hears about their own candidates; one with nothing going on has a calm morning.
    assert "别人的" in chat.last("hr-liu").text and "高危" not in chat.last("hr-liu").text
    assert "一切平稳" in chat.last("hr-zhang").text
    assert not chat.sent["admin-chen"] and not chat.sent["mgr"]

    clock.advance(timedelta(hours=3))
    await _run(app, clock)
    assert len(chat.sent["hr-wang"]) == 1 and len(chat.sent["hr-liu"]) == 1
    clock.advance(timedelta(days=1))  # the next morning: a new digest
    await _run(app, clock)
    assert len(chat.sent["hr-wang"]) == 2
    assert "新近沉默" not in chat.last("hr-wang").text  # 小明 was newly silent yesterday


async def test_all_calm_in_english(app: App, chat: MemoryAdapter, clock: FixedClock) -> None:
    hr = await add_staff(app, "Wang Fang", "hr", user="hr-wang")
    await chat.say("hr-wang", "/lang en")
    await save_score(app, await _candidate(app, "张三", hr), 90, "low")
    await _run(app, clock)
    text = chat.last("hr-wang").text
    assert text.startswith("☀️ Good morning, Wang Fang! All calm today (2026-06-01)")
    # An HR who has not bound a chat account yet gets the day's digest once they do.
    late = await add_staff(app, "迟到", "hr")
    await _run(app, clock)
    async with app.db.session() as session:
        rows = (await session.exec(select(Outbox).where(Outbox.staff_id == late.id))).all()
    assert rows == []
    await add_staff(app, "迟到", "hr", user="hr-late")  # binds a chat account
    async with app.db.session() as session:
        identity = await people.get_identity(session=session, platform="memory", user_id="hr-late")
        assert identity is not None
        await people.bind_identity(session=session, identity=identity, staff_id=late.id)
    await _run(app, clock)
    assert "一切平稳" in chat.last("hr-late").text


async def test_weekends_are_quiet_unless_a_question_waits_and_the_greeting_fits_the_hour(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    zhang = await _candidate(app, "张三", hr)
    saturday = START + timedelta(days=5)  # 2026-06-06, 10:00 in Shanghai
    clock.set(saturday)
    await _run(app, clock)
    assert "hr-wang" not in chat.sent  # nothing urgent on a Saturday: no digest
    async with app.db.session() as session:
        await questions.open_ticket(
            session=session,
            candidate_id=zhang.id or 0,
            hr_id=hr.id,
            text="宿舍几人间？",
            question_id=None,
            now=saturday - timedelta(days=2),
        )
    clock.set(saturday + timedelta(hours=6, minutes=28))  # started late: 16:28
    await _run(app, clock)
    text = chat.last("hr-wang").text
    assert text.startswith("☀️ 王芳，下午好！")  # not "早上好" in the afternoon
    assert "宿舍几人间" in text or "问题" in text


async def test_a_calm_day_is_said_on_mondays_only_and_a_stale_digest_is_not_sent(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    zhang = await _candidate(app, "张三", hr)
    await save_score(app, zhang, 90, "low")
    await _run(app, clock)  # Monday
    assert "一切平稳" in chat.last("hr-wang").text
    clock.advance(timedelta(days=1))  # Tuesday, still calm: no message at all
    await _run(app, clock)
    assert len(chat.sent["hr-wang"]) == 1
    # Wednesday 22:30: the product was (re)started at night; the day's digest is held by
    # quiet hours and must not arrive on Thursday morning beside Thursday's own.
    await save_score(app, zhang, 40, "high", reasons=[{"code": "other_offer"}])
    clock.set(START + timedelta(days=2, hours=12, minutes=30))
    await _run(app, clock)
    assert len(chat.sent["hr-wang"]) == 1
    clock.set(START + timedelta(days=3))  # Thursday 10:00
    await _run(app, clock)
    assert len(chat.sent["hr-wang"]) == 2
    text = chat.last("hr-wang").text
    assert text.startswith("☀️ 王芳，早上好！今天（2026-06-04）") and "张三" in text


async def test_hr_is_asked_for_the_outcome_after_a_first_day(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    day_one = START.date() - timedelta(days=2)
    zhang = await _candidate(app, "张三", hr, onboarding_date=day_one)
    await _candidate(app, "太久了", hr, onboarding_date=START.date() - timedelta(days=15))
    await _candidate(app, "还没到", hr, onboarding_date=START.date())
    await _run(app, clock)
    text = chat.last("hr-wang").text
    assert "入职日已过、还没记录结果 1 位：张三（05-30）" in text
    assert "/outcome 张三 入职" in text
    assert "太久了" not in text and "还没到" not in text
    await _add(app, Outcome(candidate_id=zhang.id, outcome="joined", at=START))
    clock.advance(timedelta(days=7))  # next Monday: 张三 recorded, 还没到's day has passed
    await _run(app, clock)
    text = chat.last("hr-wang").text
    assert "还没记录结果 1 位：还没到（06-01）" in text and "张三" not in text
