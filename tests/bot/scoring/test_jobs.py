"""Scores from real rows: refresh, history, alerts, after each message, daily; calibrate CLI."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete
from sqlmodel import col, select

from adapters.memory import MemoryAdapter
from bot.core import deferred
from bot.core.clock import FixedClock
from bot.runtime.app import App
from bot.scoring import jobs as score_jobs
from bot.scoring import signals
from bot.scoring.jobs import daily_recompute, refresh
from storage import courses, documents, migrate, outbox, people, scores, surveys
from storage.db import Database
from storage.models import (
    Candidate,
    Outbox,
    OutboxCategory,
    Outcome,
    ScoreSnapshot,
    Staff,
)
from tests.bot.helpers import add_candidate, add_staff
from tests.bot.runtime.test_cli import cli
from tests.conftest import START

DAY = timedelta(days=1)


async def two_candidates(app: App, chat: MemoryAdapter) -> tuple[Staff, Candidate, Candidate]:
    """HR 王芳 (chat hr-wang); 张三 (u1) and 李四 (u2), both bound at START."""
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    good, code1 = await add_candidate(
        app, "张三", hr=hr, offer_status="accepted", phone="13800138001", email="z@example.com"
    )
    silent, code2 = await add_candidate(
        app, "李四", hr=hr, offer_status="accepted", phone="13800138002"
    )
    await chat.say("u1", f"/bind {code1}")
    await chat.say("u2", f"/bind {code2}")
    return hr, good, silent


async def left_unanswered(app: App, clock: FixedClock, candidate: Candidate) -> None:
    """Two messages an hour after binding that ``candidate`` never answers: their
    silence counts from then (SILENCE_DAYS later they are flagged)."""
    clock.set(START + timedelta(hours=1))
    await push(app, candidate, asks=True)
    await push(app, candidate, asks=True)


async def push(app: App, candidate: Candidate, *, asks: bool = False) -> None:
    """A message the bot sent the candidate on its own, delivered now (with a button
    when it ``asks`` something)."""
    now = app.clock.now()
    payload: dict[str, object] = {"text": "push"}
    if asks:
        payload["buttons"] = [["好的", "ci:fine"]]
    async with app.db.session() as session:
        row = await outbox.enqueue(
            session=session,
            kind="notice",
            payload=payload,
            due_at=now,
            now=now,
            candidate_id=candidate.id,
            category=OutboxCategory.PUSH.value,
        )
        assert row is not None
        await outbox.mark_sent(session=session, row_id=row, now=now)


async def do_everything(app: App, candidate: Candidate) -> None:
    """Pass every course, answer the survey, submit every document and have them approved."""
    cid = candidate.id or 0
    now = app.clock.now()
    async with app.db.session() as session:
        for course in app.content.courses:
            n = len(course.questions)
            await courses.record_course_attempt(
                session=session,
                candidate_id=cid,
                course_id=course.id,
                score=n,
                total=n,
                passing_score=course.passing_score,
                points=course.points,
                now=now,
            )
        await surveys.add_survey_response(
            session=session,
            candidate_id=cid,
            ratings={"hr_communication": 5, "next_steps": 4, "confidence": 5},
            looking_forward=None,
            open_questions=None,
            other_offers="no",
            now=now,
        )
        for item in app.content.checklists.items_for(candidate.department, candidate.position):
            doc, _ = await documents.submit_document(
                session=session,
                candidate_id=cid,
                item=item.id,
                sha256="0" * 64,
                mime_type="image/png",
                size=10,
                file_name=None,
                now=now,
            )
            await documents.review_document(
                session=session, document=doc, approved=True, reviewer_id=None, reason=None, now=now
            )


async def refresh_now(app: App, candidate: Candidate, **kw: bool) -> ScoreSnapshot:
    async with app.db.session() as session:
        fresh = await people.get_candidate(session=session, candidate_id=candidate.id or 0)
        assert fresh is not None
        return await refresh(session, app.services, fresh, app.clock.now(), **kw)


async def snapshots(app: App, candidate: Candidate) -> list[ScoreSnapshot]:
    async with app.db.session() as session:
        return list(
            await scores.history(session=session, candidate_id=candidate.id or 0, since=START - DAY)
        )


async def alerts(app: App) -> list[Outbox]:
    async with app.db.session() as session:
        stmt = (
            select(Outbox)
            .where(col(Outbox.category) == OutboxCategory.ALERT.value)
            .order_by(col(Outbox.id))
        )
        return list((await session.exec(stmt)).all())


# ---- refresh from real rows -------------------------------------------------------------------


async def test_engaged_and_silent_candidates_from_real_rows(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    _, good, silent = await two_candidates(app, chat)
    clock.set(START + 17 * DAY)
    for candidate in (good, silent):
        await push(app, candidate)
        await push(app, candidate)
    clock.advance(timedelta(hours=1))
    await chat.say("u1", "/progress")
    clock.set(START + 18 * DAY)
    await do_everything(app, good)
    await chat.say("u1", "/points")

    async with app.db.session() as session:
        rows = await people.find_candidates(session=session, name="张三", hr_id=None)
        [fresh] = rows
        required = frozenset(
            i.id for i in app.content.checklists.items_for(fresh.department, fresh.position)
        )
        gathered = await signals.gather(
            session=session,
            candidates=[fresh],
            now=clock.now(),
            required_items={fresh.id or 0: required},
            courses_assigned=len(app.content.courses),
            tz=app.settings.timezone,
        )
    s = gathered[good.id or 0]
    assert (s.days_since_offer, s.sent, s.replies, s.taps, s.clicks) == (18, 2, 2, 0, 0)
    assert s.median_reply_hours == 1.0 and s.days_since_interaction == 0
    assert (s.courses_assigned, s.courses_attempted, s.courses_passed) == (3, 3, 3)
    assert s.quiz_ratio == 1.0 and s.training_minutes == 0
    assert s.survey_answered and s.other_offer == "no" and s.ratings["next_steps"] == 4
    assert s.documents_required == s.documents_submitted == s.documents_approved == len(required)
    assert s.has_phone and s.has_email and s.bound and not s.offer_delayed

    engaged = await refresh_now(app, good)
    assert (engaged.interaction, engaged.training, engaged.completeness, engaged.external) == (
        100,
        85,  # no time on the quizzes: they were all answered in the same instant
        100,
        100,
    )
    assert engaged.feedback == round(100 * (0.35 + 0.45 * (14 / 3 - 1) / 4 + 0.2 * 0.5))
    assert engaged.score == 93 and engaged.band == "low" and engaged.reasons == []

    quiet = await refresh_now(app, silent)
    assert quiet.band == "high" and quiet.interaction == 0
    assert quiet.reasons[0] == {"code": "silent", "days": 18}
    assert {"code": "training_behind"} in quiet.reasons
    assert any(r["code"] == "docs_missing" for r in quiet.reasons)


# ---- history ----------------------------------------------------------------------------------


async def test_history_is_kept_and_unchanged_scores_are_not_repeated_within_the_hour(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    _, _, silent = await two_candidates(app, chat)
    await left_unanswered(app, clock, silent)
    clock.set(START + 5 * DAY)
    first = await refresh_now(app, silent)
    clock.advance(timedelta(minutes=10))
    again = await refresh_now(app, silent)
    assert again.id == first.id  # identical, within the hour: not saved again
    forced = await refresh_now(app, silent, force=True)
    assert forced.id != first.id
    clock.advance(timedelta(hours=2))
    later = await refresh_now(app, silent)
    clock.advance(timedelta(days=1))
    next_day = await refresh_now(app, silent)
    history = await snapshots(app, silent)
    assert [h.id for h in history][1:] == [first.id, forced.id, later.id, next_day.id]
    assert history[0].at == START  # the first score came with binding
    assert next_day.reasons[0] == {"code": "silent", "days": 6}
    async with app.db.session() as session:
        newest = await scores.latest_of(session=session, candidate_id=silent.id or 0)
    assert newest is not None and newest.id == next_day.id


# ---- alerts -----------------------------------------------------------------------------------


async def mark_band(app: App, candidate: Candidate, band: str) -> None:
    async with app.db.session() as session:
        await scores.save(
            session=session,
            snapshot=ScoreSnapshot(
                candidate_id=candidate.id or 0,
                at=app.clock.now() - timedelta(minutes=1),
                score=70,
                band=band,
                interaction=70,
                training=70,
                feedback=70,
                completeness=70,
                external=70,
            ),
        )


async def test_entering_the_high_band_alerts_the_hr_once_a_day(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    _, good, silent = await two_candidates(app, chat)
    await left_unanswered(app, clock, silent)
    clock.set(START + 6 * DAY)  # Sunday, Shanghai 10:00, day 6: high, but nobody is paged
    await refresh_now(app, silent)
    assert (await snapshots(app, silent))[-1].band == "high" and await alerts(app) == []
    clock.set(START + 7 * DAY)  # Monday: still high, in the digest, no alert
    await refresh_now(app, silent)
    assert await alerts(app) == []
    await mark_band(app, silent, "medium")
    before = len(chat.sent["hr-wang"])
    await refresh_now(app, silent)  # entering high on a working day: alert
    [row] = await alerts(app)
    assert row.staff_id is not None and row.kind == "notice"
    assert row.dedupe_key == f"score-high:{silent.id}:2026-06-08"
    await app.courier.drain()
    [text] = [m.text for m in chat.sent["hr-wang"][before:]]
    assert text.startswith("⚠️ 李四（研发中心）进入高风险，稳定性评分")
    assert "原因：已经 7 天没有任何互动" in text
    assert "建议：打个电话问候一下，或请经理发一段欢迎语" in text
    assert chat.last("hr-wang").buttons[0].payload == f"st:{silent.id}"

    clock.advance(timedelta(hours=2))
    await refresh_now(app, silent)  # still high: no new alert
    await mark_band(app, silent, "medium")
    await refresh_now(app, silent)  # back into high the same day: deduplicated
    assert len(await alerts(app)) == 1

    clock.advance(DAY)
    await mark_band(app, silent, "medium")
    await refresh_now(app, silent)
    assert [a.dedupe_key for a in await alerts(app)] == [
        f"score-high:{silent.id}:2026-06-08",
        f"score-high:{silent.id}:2026-06-09",
    ]
    await chat.say("u1", "hi")  # 张三 is scored after his message (medium), no alert
    assert len(await alerts(app)) == 2
    assert (await snapshots(app, good))[-1].band != "high"


async def test_english_alert_in_the_hrs_language(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    hr, _, silent = await two_candidates(app, chat)
    async with app.db.session() as session:
        staff = await people.get_staff(session=session, staff_id=hr.id or 0)
        assert staff is not None
        staff.language = "en"
        session.add(staff)
    await left_unanswered(app, clock, silent)
    clock.set(START + 7 * DAY)  # a Monday
    await refresh_now(app, silent)
    await app.courier.drain()
    text = chat.last("hr-wang").text
    assert text.startswith("⚠️ 李四 (研发中心) is now high risk, stability score")
    assert "Why: silent for 7 days" in text
    assert "Suggested: call them, or ask the manager to send a welcome" in text


# ---- after each message -----------------------------------------------------------------------


async def test_a_message_rescores_the_candidate_once_it_has_committed(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    hr, _, silent = await two_candidates(app, chat)
    [bound] = await snapshots(app, silent)  # scored as soon as bound: nothing expected yet
    assert bound.at == START and bound.band == "low" and bound.training == 100
    assert await alerts(app) == []
    clock.set(START + 21 * DAY)  # a Monday
    await chat.say("u2", "/progress")
    [_, snap] = await snapshots(app, silent)
    assert snap.at == clock.now() and snap.interaction == 100
    # Nothing done 21 days in: high risk (training 0, no documents) and an alert.
    assert snap.band == "high" and snap.training == 0
    [alert] = await alerts(app)
    assert alert.staff_id == hr.id
    await chat.say("hr-wang", "/status 李四")  # staff messages score nobody
    assert len(await snapshots(app, silent)) == 2
    await do_everything(app, silent)
    await chat.say("u2", "/points")
    newest = (await snapshots(app, silent))[-1]
    assert newest.band != "high" and newest.training == 85


async def test_no_score_for_a_candidate_who_declined(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    _, good, _ = await two_candidates(app, chat)
    async with app.db.session() as session:
        row = await people.get_candidate(session=session, candidate_id=good.id or 0)
        assert row is not None
        row.offer_status = "declined"
        session.add(row)
    before = len(await snapshots(app, good))
    await chat.say("u1", "/progress")
    assert len(await snapshots(app, good)) == before


# ---- daily ------------------------------------------------------------------------------------


async def test_daily_recompute_scores_active_candidates_once_a_day(
    app: App, chat: MemoryAdapter, clock: FixedClock, database: Database
) -> None:
    hr, good, silent = await two_candidates(app, chat)
    others = {}
    for name, fields in (
        ("王五", {"offer_status": "declined"}),
        ("赵六", {"forget_requested_at": START}),
        ("孙七", {"offer_status": "pending_approval"}),
        ("周八", {}),
        ("吴九", {}),
        ("郑十", {}),  # never bound: "not reached yet", not scored
    ):
        others[name], code = await add_candidate(app, name, hr=hr, **fields)
        if name != "郑十":
            await chat.say(f"u-{name}", f"/bind {code}")
    async with app.db.session() as session:
        session.add(Outcome(candidate_id=others["周八"].id, outcome="joined", at=START))
        await session.execute(
            delete(ScoreSnapshot).where(
                col(ScoreSnapshot.candidate_id).in_(
                    [others[n].id for n in ("王五", "赵六", "孙七", "周八", "吴九")]
                )
            )
        )
    clock.set(START + 2 * DAY)
    await chat.say("u1", "/progress")  # 张三 is scored by his message already
    await daily_recompute(app.db, app.services, clock.now())
    # (both were also scored when they bound, two days ago)

    async def count() -> dict[str, int]:
        async with database.session() as session:
            rows = (await session.exec(select(ScoreSnapshot))).all()
            names = {c.id: c.name for c in (good, silent, *others.values())}
            result: dict[str, int] = {}
            for row in rows:
                result[names[row.candidate_id]] = result.get(names[row.candidate_id], 0) + 1
            return result

    assert await count() == {"张三": 2, "李四": 2, "吴九": 1}
    clock.advance(timedelta(hours=10))  # 20:00 the same day in Shanghai
    await daily_recompute(app.db, app.services, clock.now())
    assert await count() == {"张三": 2, "李四": 2, "吴九": 1}
    clock.advance(timedelta(hours=4))  # 00:00 the next day
    await daily_recompute(app.db, app.services, clock.now())
    await daily_recompute(app.db, app.services, clock.now())
    assert await count() == {"张三": 3, "李四": 3, "吴九": 2}


async def test_daily_recompute_in_batches(
    app: App, chat: MemoryAdapter, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hr = await add_staff(app, "王芳", "hr")
    for i in range(7):
        _, code = await add_candidate(app, f"候选{i}", hr=hr)
        await chat.say(f"u{i}", f"/bind {code}")
    async with app.db.session() as session:
        await session.exec(delete(ScoreSnapshot))
    monkeypatch.setattr(score_jobs, "DAILY_BATCH", 3)
    await daily_recompute(app.db, app.services, clock.now())
    async with app.db.session() as session:
        rows = (await session.exec(select(ScoreSnapshot.candidate_id))).all()
    assert len(rows) == len(set(rows)) == 7


# ---- calibrate ---------------------------------------------------------------------------------


def _insert_outcomes(tmp_path: Path, count: int) -> None:
    """``count`` outcomes: reneging mostly with low interaction and training."""
    rng = random.Random(3)

    async def go() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/x.db")
        await migrate.upgrade(db.engine)
        async with db.session() as session:
            for i in range(count):
                reneged = i % 3 == 0
                base = 35 if reneged else 70
                features = {
                    "interaction": base + rng.randint(-25, 25),
                    "training": base + rng.randint(-25, 25),
                    "feedback": rng.randint(0, 100),
                    "completeness": rng.randint(0, 100),
                    "external": rng.randint(0, 100),
                }
                session.add(
                    Outcome(
                        outcome="reneged" if reneged else "joined",
                        score=sum(features.values()) // 5,
                        features=features,
                        at=START,
                    )
                )
        await db.dispose()

    asyncio.run(go())


def test_calibrate_needs_30_outcomes(tmp_path: Path) -> None:
    _insert_outcomes(tmp_path, 29)
    result = cli(tmp_path, "calibrate")
    assert result.returncode == 1
    assert "至少需要 30 条" in result.stderr and "目前只有 29 条" in result.stderr


def test_calibrate_prints_aucs_and_applies_weights(tmp_path: Path) -> None:
    _insert_outcomes(tmp_path, 60)
    env = tmp_path / "bot.env"
    env.write_text("DATABASE_URL=keep-me\nSCORE_WEIGHT_TRAINING=25\n# comment\n", "utf-8")
    result = cli(tmp_path, "calibrate", "--env-file", str(env), env={"DEFAULT_LANGUAGE": "en"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "60 outcomes, 20 of them reneged." in out
    assert "AUC of the current weights: 0." in out
    assert "AUC of the fitted weights: 0." in out and "(cross-validated: 0." in out
    lines = [line for line in out.splitlines() if line.startswith("SCORE_WEIGHT_")]
    assert [line.split("=")[0] for line in lines] == [
        "SCORE_WEIGHT_INTERACTION",
        "SCORE_WEIGHT_TRAINING",
        "SCORE_WEIGHT_FEEDBACK",
        "SCORE_WEIGHT_COMPLETENESS",
        "SCORE_WEIGHT_EXTERNAL",
    ]
    weights = {line.split("=")[0]: int(line.split("=")[1]) for line in lines}
    assert sum(weights.values()) == 100
    # Interaction and training carry the signal: they get most of the weight.
    assert weights["SCORE_WEIGHT_INTERACTION"] + weights["SCORE_WEIGHT_TRAINING"] >= 70
    assert "Nothing changed" in out
    assert env.read_text("utf-8") == "DATABASE_URL=keep-me\nSCORE_WEIGHT_TRAINING=25\n# comment\n"

    applied = cli(
        tmp_path, "calibrate", "--apply", "--env-file", str(env), env={"DEFAULT_LANGUAGE": "en"}
    )
    assert applied.returncode == 0, applied.stderr
    written = env.read_text("utf-8").splitlines()
    assert written[0] == "DATABASE_URL=keep-me"
    assert written[1] == f"SCORE_WEIGHT_TRAINING={weights['SCORE_WEIGHT_TRAINING']}"
    assert written[2] == "# comment"
    assert sorted(written[3:]) == sorted(
        line for line in lines if not line.startswith("SCORE_WEIGHT_TRAINING")
    )
    assert f"Written to {env}" in applied.stdout


async def test_a_scoring_failure_does_not_undo_the_message(
    app: App, chat: MemoryAdapter, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, good, _ = await two_candidates(app, chat)
    before = len(await snapshots(app, good))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(score_jobs, "compute", broken)
    replies = await chat.say("u1", "/survey")
    assert "6 个问题" in replies[0]  # the survey started (its dialog row committed)
    monkeypatch.undo()
    assert "（2/6）" in (await chat.tap("u1", "4"))[0]
    assert len(await snapshots(app, good)) == before + 1


# ---- re-scoring after webhook deliveries: batched, after the commit -----------------------


async def test_webhook_deliveries_are_rescored_in_one_batch_after_their_commit(
    app: App, chat: MemoryAdapter, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, good, silent = await two_candidates(app, chat)
    clock.advance(timedelta(hours=3))
    batches: list[list[int]] = []
    original = score_jobs.refresh_many

    async def spy(session: Any, services: Any, candidates: Any, now: Any, **kw: Any) -> Any:
        batches.append(sorted(c.id for c in candidates))
        return await original(session, services, candidates, now, **kw)

    monkeypatch.setattr(score_jobs, "refresh_many", spy)
    monkeypatch.setattr(deferred, "DELAY", 60.0)  # the burst ends before the batch is due
    await app.services.deferred.stop()  # no flush planned from the binding left
    burst = [chat.incoming(f"u{1 + n % 2}", "进度", event_id=f"wh-score-{n}") for n in range(20)]
    assert all(await asyncio.gather(*(chat.submit(m) for m in burst)))
    await app.dispatcher.drain_background()
    # Both re-scored after their last message, in a few batches: not twenty times inside
    # twenty message transactions.
    assert batches == [sorted([good.id, silent.id])]  # drain_background flushed them at once
    assert (await snapshots(app, good))[-1].at == clock.now()
    assert (await snapshots(app, silent))[-1].at == clock.now()


async def test_a_rescoring_lost_in_a_crash_is_caught_up_by_the_tick(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    _, good, _ = await two_candidates(app, chat)
    clock.advance(timedelta(hours=3))
    # The process committed 张三's message and died before re-scoring him.
    app.services.deferred.add = lambda name, key: None  # type: ignore[method-assign]
    await chat.say("u1", "进度")
    assert (await snapshots(app, good))[-1].at < clock.now()
    await score_jobs.rescore_recent(app.db, app.services, clock.now())
    assert (await snapshots(app, good))[-1].at == clock.now()
    before = len(await snapshots(app, good))
    await score_jobs.rescore_recent(app.db, app.services, clock.now())  # nothing stale: nothing
    assert len(await snapshots(app, good)) == before
