"""The journey audit: does every candidate hear from the bot as promised over a real wait?

``python -m bench.journey [--candidates 200] [--days 90] [--seed 7] [--db sqlite|postgres]``

A generated cohort of campus hires lives through ``--days`` days, hour by hour, in
the real product: the shipped content, the planner, the scorer, the digests and the
courier (``App.tick``), with every candidate talking through the memory adapter.

- Offers are made over the first two weeks; each candidate binds with their invite
  code that day. Waits from offer to day one are 3 weeks to 3 months; training is on
  day one or up to three days before; documents are due two weeks before day one.
- Personas: *silent* (binds, then never writes again), *active* (accepts the offer the
  next morning, answers what has buttons, takes the three courses, submits the documents
  and answers the survey in the following two weeks), *slow* (accepts after a week, nothing
  else), *decliner* (declines on day two). A fifth have a birthday inside their wait;
  Mid-Autumn Festival and National Day fall in the default window.
- Half way, the manager of 研发中心 records a text welcome.

It prints one JSON line: per candidate the longest silence (``silence_days`` max and
p95) from binding to day one; pushes a week (``pushes_per_week`` mean, and the most in
any 7 days); date-bound ``promises`` kept/due (birthdays, holidays, countdowns, the
manager's welcome); ``state_violations`` (pushes that do not fit the candidate's state,
by kind); ``night_messages``; ``hr_alerts_per_hr_week``; ``tickets``; the share of
the candidates still waiting at the end in each risk band; and run ``seconds``.
docs/benchmarks.md has figures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select

from adapters.memory import MemoryAdapter
from bench.pushes import fresh_database
from bot.core.clock import FixedClock
from bot.core.messages import ChatAddress, Outgoing
from bot.core.settings import Settings
from bot.people.binding import issue_invite
from bot.runtime.app import App
from content.calendar import china_holiday
from run_bot import build_app
from storage import courses, documents, migrate, surveys
from storage.db import Database
from storage.models import (
    Candidate,
    Identity,
    OfferStatus,
    Outbox,
    OutboxCategory,
    OutboxStatus,
    Role,
    ScoreSnapshot,
    Staff,
    Ticket,
    WelcomeMessage,
)

TZ = ZoneInfo("Asia/Shanghai")
START_DAY = date(2026, 9, 1)  # a Tuesday; Mid-Autumn (25 Sep) and National Day inside
OFFER_SPREAD_DAYS = 14
WAIT_DAYS = (21, 90)
PERSONAS = (("silent", 40), ("active", 40), ("slow", 12), ("decliner", 8))
DEPARTMENTS = (
    ("研发中心", ("后端开发工程师", "算法工程师"), ("计算机科学与技术", "软件工程", "人工智能")),
    ("制造中心", ("工艺工程师", "质量工程师"), ("机械工程", "自动化")),
    ("市场部", ("市场专员", "品牌运营"), ("市场营销", "新闻传播")),
)
HOMETOWNS = ("杭州", "宁波", "武汉", "西安", "成都")
HR_STAFF = 4
NIGHT = (21, 9)  # local hours: from 21:00 to 09:00
PLATFORM = "memory"
WELCOME_TEXT = "欢迎加入研发中心！报到那天我会在门口等你。"


@dataclass(slots=True)
class Person:
    candidate_id: int
    user: str
    persona: str
    offer_day: date
    onboarding: date
    code: str
    bound_at: datetime | None = None
    accepted_at: datetime | None = None
    declined_at: datetime | None = None
    answered: int = 0


@dataclass(slots=True)
class Sent:
    at: datetime
    category: str | None
    kind: str
    key: str
    message: Outgoing


@dataclass(slots=True)
class Audit:
    silences: list[float] = field(default_factory=list)
    longest: tuple[float, str, str, str] = (0.0, "", "", "")  # days, user, from, to
    weekly: list[float] = field(default_factory=list)
    most_in_a_week: int = 0
    promises: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    violations: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    night: int = 0


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


class Recorder(MemoryAdapter):
    """The memory adapter, noting when each message reached whom."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__(clock)
        self.log: dict[str, list[tuple[datetime, Outgoing]]] = defaultdict(list)

    async def send(self, to: ChatAddress, message: Outgoing) -> None:
        await super().send(to, message)
        self.log[to.user_id].append((self.clock.now(), message))


# ---- the cohort --------------------------------------------------------------------------------


async def seed(app: App, n: int, rng: random.Random) -> tuple[list[Person], int]:
    """HR, managers and ``n`` candidates with invites; returns them and the 研发中心 manager."""
    now = app.clock.now()
    people: list[Person] = []
    async with app.db.session() as session:
        hrs = [Staff(name=f"HR{i}", role=Role.HR.value, created_at=now) for i in range(HR_STAFF)]
        managers = [
            Staff(name=f"经理{d[0]}", role=Role.MANAGER.value, department=d[0], created_at=now)
            for d in DEPARTMENTS
        ]
        session.add_all(hrs + managers)
        await session.flush()
        for staff in hrs:
            session.add(
                Identity(
                    platform=PLATFORM,
                    user_id=f"hr{staff.id}",
                    chat_id=f"hr{staff.id}",
                    staff_id=staff.id,
                    created_at=now,
                )
            )
        for i in range(n):
            department, positions, majors = DEPARTMENTS[i % len(DEPARTMENTS)]
            offer_day = START_DAY + timedelta(days=rng.randrange(OFFER_SPREAD_DAYS))
            onboarding = offer_day + timedelta(days=rng.randint(*WAIT_DAYS))
            birthday_inside = rng.random() < 0.2
            birthday_day = (
                offer_day + timedelta(days=rng.randint(1, (onboarding - offer_day).days - 1))
                if birthday_inside
                else START_DAY - timedelta(days=rng.randint(10, 200))
            )
            candidate = Candidate(
                name=f"候选人{i:03d}",
                phone=f"139{i:08d}",
                school="浙江大学",
                major=rng.choice(majors),
                degree="本科",
                position=rng.choice(positions),
                department=department,
                hr_id=hrs[i % HR_STAFF].id,
                manager_id=managers[i % len(DEPARTMENTS)].id,
                offer_date=offer_day,
                training_date=onboarding - timedelta(days=rng.randint(0, 3)),
                onboarding_date=onboarding,
                doc_deadline=onboarding - timedelta(days=14),
                hometown=rng.choice(HOMETOWNS),
                work_city="杭州",
                birthday=date(rng.randint(1998, 2004), birthday_day.month, birthday_day.day)
                if not (birthday_day.month == 2 and birthday_day.day == 29)
                else date(2000, 2, 29),
                tags=["校招"] + (["异地"] if rng.random() < 0.5 else []),
                offer_status=OfferStatus.OFFERED.value,
                created_at=now,
                updated_at=now,
            )
            session.add(candidate)
            await session.flush()
            assert candidate.id is not None
            invite, _ = await issue_invite(
                session=session, candidate_id=candidate.id, now=now, ttl_days=60
            )
            persona = rng.choices([p for p, _ in PERSONAS], [w for _, w in PERSONAS])[0]
            people.append(
                Person(
                    candidate.id, f"c{candidate.id}", persona, offer_day, onboarding, invite.code
                )
            )
        boss = managers[0].id
    assert boss is not None
    return people, boss


async def act(app: App, chat: Recorder, person: Person, now: datetime) -> None:
    """What this person does at ``now`` (hourly)."""
    today = now.astimezone(TZ).date()
    hour = now.astimezone(TZ).hour
    if person.bound_at is None:
        if today == person.offer_day and hour == 11:
            await chat.say(person.user, f"/bind {person.code}")
            person.bound_at = now
        return
    if person.declined_at or (person.accepted_at is None and person.persona == "silent"):
        return
    days = (today - person.offer_day).days
    if person.accepted_at is None and hour == 12:
        if person.persona == "decliner" and days == 1:
            await chat.say(person.user, "/offer")
            await _tap(chat, person.user, "婉拒")
            await _tap(chat, person.user, "确定婉拒")  # yes, sure
            await _tap(chat, person.user, 1)  # the first reason
            await _tap(chat, person.user, 1)  # no note: skip
            person.declined_at = now
        elif (person.persona == "active" and days >= 1) or (person.persona == "slow" and days >= 7):
            await chat.say(person.user, "/offer")
            if await _tap(chat, person.user, "接受"):
                person.accepted_at = now
        return
    if person.persona == "active" and hour == 21 and person.accepted_at is not None:
        days = (today - person.accepted_at.astimezone(TZ).date()).days
        if days in (*COURSE_DAYS, *DOCUMENT_DAYS, SURVEY_DAY):
            await chat.say(person.user, "进度")  # looks at their progress, then does a task
            await do_tasks(app, person, days)
    if person.persona == "active" and hour == 20:
        # Answers today's pushes that ask something: the first button.
        for at, message in chat.log[person.user]:
            if message.buttons and now - at < timedelta(hours=24) and at.astimezone(TZ).hour < 20:
                if await _tap(chat, person.user, 1):
                    person.answered += 1
                break


# Days after accepting when an active candidate does their tasks (as they would in the
# chat or the portal): a course on each of these days, documents, the survey.
COURSE_DAYS = (2, 6, 10)
DOCUMENT_DAYS = (4, 9)
SURVEY_DAY = 15


async def do_tasks(app: App, person: Person, days: int) -> None:
    now = app.clock.now()
    content = app.content
    async with app.db.session() as session:
        candidate = await session.get(Candidate, person.candidate_id)
        assert candidate is not None
        if days in COURSE_DAYS and COURSE_DAYS.index(days) < len(content.courses):
            course = content.courses[COURSE_DAYS.index(days)]
            n = len(course.questions)
            await courses.record_course_attempt(
                session=session,
                candidate_id=person.candidate_id,
                course_id=course.id,
                score=n,
                total=n,
                passing_score=course.passing_score,
                points=course.points,
                now=now,
            )
        if days in DOCUMENT_DAYS:
            items = content.checklists.items_for(candidate.department, candidate.position)
            half = len(items) // 2
            for item in items[:half] if days == DOCUMENT_DAYS[0] else items[half:]:
                await documents.submit_document(
                    session=session,
                    candidate_id=person.candidate_id,
                    item=item.id,
                    sha256=f"{person.candidate_id:032d}{item.id}"[:64].ljust(64, "0"),
                    mime_type="image/png",
                    size=10,
                    file_name=None,
                    now=now,
                )
        if days == SURVEY_DAY:
            await surveys.add_survey_response(
                session=session,
                candidate_id=person.candidate_id,
                ratings={"hr_communication": 4, "next_steps": 4, "confidence": 4},
                looking_forward=None,
                open_questions=None,
                other_offers="no",
                now=now,
            )


async def _tap(chat: Recorder, user: str, label: str | int) -> bool:
    buttons = next((m.buttons for m in reversed(chat.sent[user]) if m.buttons), ())
    if isinstance(label, int):
        if not buttons:
            return False
    elif not any(label in b.label for b in buttons):
        return False
    await chat.tap(user, label)
    return True


async def record_welcome(app: App, manager_id: int) -> None:
    now = app.clock.now()
    async with app.db.session() as session:
        session.add(
            WelcomeMessage(
                department=DEPARTMENTS[0][0],
                staff_id=manager_id,
                kind="text",
                text=WELCOME_TEXT,
                created_at=now,
                updated_at=now,
            )
        )


# ---- the audit ---------------------------------------------------------------------------------


def _has_offer_button(message: Outgoing) -> bool:
    return any(b.payload and b.payload.startswith("of") for b in message.buttons)


def _asks_documents(message: Outgoing) -> bool:
    return "材料" in message.text and ("提交" in message.text or "上传" in message.text)


async def audit(
    app: App, chat: Recorder, people: list[Person], welcome_at: datetime, end: datetime
) -> dict[str, Any]:
    found = Audit()
    async with app.db.session() as session:
        rows = (
            await session.exec(
                select(Outbox).where(
                    Outbox.status == OutboxStatus.SENT.value,
                    Outbox.candidate_id.is_not(None),  # type: ignore[union-attr]
                )
            )
        ).all()
        candidates = {c.id: c for c in (await session.exec(select(Candidate))).all()}
    by_candidate: dict[int, list[Outbox]] = defaultdict(list)
    for row in rows:
        assert row.candidate_id is not None
        by_candidate[row.candidate_id].append(row)
    for person in people:
        candidate = candidates[person.candidate_id]
        if person.bound_at is None:
            continue
        got = [(at, m) for at, m in chat.log[person.user]]
        day_one = local(person.onboarding, 0)
        stop = min(day_one, end)
        pushes = [r for r in by_candidate[person.candidate_id] if r.sent_at is not None]
        for row in pushes:
            assert row.sent_at is not None
            hour = row.sent_at.astimezone(TZ).hour
            if row.category and (hour >= NIGHT[0] or hour < NIGHT[1]):
                found.night += 1  # a scheduled message at night (replies may come any time)
            message = Outgoing.from_json(row.payload)
            if person.declined_at and row.sent_at > person.declined_at:
                found.violations["after_decline"] += 1
            if row.sent_at >= day_one + timedelta(days=1):
                found.violations["after_day_one"] += 1
            if (
                person.accepted_at
                and row.sent_at > person.accepted_at
                and _has_offer_button(message)
            ):
                found.violations["offer_prompt_after_acceptance"] += 1
            if person.accepted_at is None and row.category and _asks_documents(message):
                found.violations["documents_before_acceptance"] += 1
        if person.declined_at:
            continue
        times = sorted(at for at, _ in got if person.bound_at <= at < stop)
        marks = [person.bound_at, *times, stop]
        gaps = [((b - a).total_seconds() / 86400, a, b) for a, b in itertools.pairwise(marks)]
        worst = max(gaps)
        found.silences.append(worst[0])
        if worst[0] > found.longest[0]:
            when = [t.astimezone(TZ).strftime("%m-%d %H:%M") for t in worst[1:]]
            found.longest = (worst[0], person.user, when[0], when[1])
        push_times = sorted(
            r.sent_at
            for r in pushes
            if r.category == OutboxCategory.PUSH.value and r.sent_at is not None
        )
        weeks = max(1.0, (stop - person.bound_at).total_seconds() / (7 * 86400))
        found.weekly.append(len([t for t in push_times if t < stop]) / weeks)
        for i, t in enumerate(push_times):
            in_week = sum(1 for u in push_times[i:] if u < t + timedelta(days=7))
            found.most_in_a_week = max(found.most_in_a_week, in_week)
        keys = {r.dedupe_key or "": r for r in pushes}
        _promises(found, person, candidate, keys, got, welcome_at, stop)
    return _summary(found)


def _promises(
    found: Audit,
    person: Person,
    candidate: Candidate,
    keys: dict[str, Outbox],
    received: list[tuple[datetime, Outgoing]],
    welcome_at: datetime,
    stop: datetime,
) -> None:
    assert person.bound_at is not None
    cid = person.candidate_id
    bound_day = person.bound_at.astimezone(TZ).date()
    last_day = (stop - timedelta(seconds=1)).astimezone(TZ).date()

    def promise(kind: str, key: str, on: date | None, by: date | None = None) -> None:
        found.promises[kind][1] += 1
        row = keys.get(f"push:{cid}:{key}")
        if row is None or row.sent_at is None:
            return
        sent_day = row.sent_at.astimezone(TZ).date()
        if (on is not None and sent_day == on) or (by is not None and sent_day <= by):
            found.promises[kind][0] += 1

    if candidate.birthday is not None:
        for year in {bound_day.year, last_day.year}:
            try:
                day = candidate.birthday.replace(year=year)
            except ValueError:
                day = date(year, 2, 28)
            if bound_day < day <= last_day:
                promise("birthday", f"birthday:{year}", day)
    for slot, name in (("mid_autumn", "Mid-Autumn Festival"), ("national_day", "National Day")):
        holiday = china_holiday(name, bound_day.year)
        if holiday is not None and bound_day < holiday.day <= last_day:
            promise("holiday", f"{slot}:{bound_day.year}", holiday.day)
    # Countdowns are promised to those who have accepted by then (nobody else is told
    # to book a ticket).
    accepted = person.accepted_at.astimezone(TZ).date() if person.accepted_at else None
    countdown = person.onboarding - timedelta(days=7)
    if bound_day < countdown <= last_day and accepted and accepted < countdown:
        promise("countdown", "countdown", countdown)
    day_before = person.onboarding - timedelta(days=1)
    if bound_day < day_before <= last_day and accepted and accepted < day_before:
        promise("day_before", "day_before", day_before)
    if candidate.department == DEPARTMENTS[0][0] and welcome_at < stop:
        recorded = welcome_at.astimezone(TZ).date()
        offer_day3 = person.offer_day + timedelta(days=3)
        by = offer_day3 if offer_day3 > recorded else recorded + timedelta(days=7)
        if by <= last_day:
            found.promises["manager_welcome"][1] += 1
            if any(WELCOME_TEXT in m.text and at.astimezone(TZ).date() <= by for at, m in received):
                found.promises["manager_welcome"][0] += 1


def _summary(found: Audit) -> dict[str, Any]:
    silences = sorted(found.silences)
    p95 = silences[min(len(silences) - 1, int(0.95 * len(silences)))] if silences else 0.0
    return {
        "silence_days": {
            "max": round(max(silences, default=0), 1),
            "p95": round(p95, 1),
            "longest": {"user": found.longest[1], "from": found.longest[2], "to": found.longest[3]},
        },
        "pushes_per_week": {
            "mean": round(statistics.fmean(found.weekly), 2) if found.weekly else 0,
            "most_in_7_days": found.most_in_a_week,
        },
        "promises": {k: {"kept": v[0], "due": v[1]} for k, v in sorted(found.promises.items())},
        "state_violations": dict(sorted(found.violations.items())),
        "night_messages": found.night,
    }


async def staff_and_bands(
    app: App, weeks: float, people: list[Person], end: datetime
) -> dict[str, Any]:
    """HR's alerts, tickets, and the bands of the candidates still waiting at the end
    (bound, not declined, first day not past)."""
    last_day = (end - timedelta(seconds=1)).astimezone(TZ).date()
    waiting = {
        p.candidate_id
        for p in people
        if p.bound_at and not p.declined_at and p.onboarding >= last_day
    }
    async with app.db.session() as session:
        staff_rows = (
            await session.exec(
                select(Outbox).where(
                    Outbox.staff_id.is_not(None),  # type: ignore[union-attr]
                    Outbox.status == OutboxStatus.SENT.value,
                )
            )
        ).all()
        hrs = (await session.exec(select(Staff).where(Staff.role == Role.HR.value))).all()
        tickets = len((await session.exec(select(Ticket))).all())
        snapshots = (await session.exec(select(ScoreSnapshot))).all()
    hr_ids = {s.id for s in hrs}
    alerts = sum(1 for r in staff_rows if r.staff_id in hr_ids)
    latest: dict[int, ScoreSnapshot] = {}
    for snap in snapshots:
        if snap.candidate_id not in waiting:
            continue
        if snap.candidate_id not in latest or snap.at >= latest[snap.candidate_id].at:
            latest[snap.candidate_id] = snap
    bands: dict[str, int] = defaultdict(int)
    for snap in latest.values():
        bands[snap.band] += 1
    total = sum(bands.values()) or 1
    return {
        "hr_alerts_per_hr_week": round(alerts / max(1, len(hrs)) / max(weeks, 1.0), 1),
        "tickets": tickets,
        "bands": {band: round(count / total, 3) for band, count in sorted(bands.items())},
    }


# ---- the run -----------------------------------------------------------------------------------


def _print_trace(chat: Recorder, person: Person) -> None:
    """Every message the person got, in order, on stderr (``--trace``)."""
    print(
        f"== {person.user} {person.persona} offer {person.offer_day} day one {person.onboarding}",
        file=sys.stderr,
    )
    for at, message in chat.log[person.user]:
        when = at.astimezone(TZ).strftime("%m-%d %a %H:%M")
        buttons = " ".join(f"[{b.label}]" for b in message.buttons)
        text = message.text.replace("\n", " / ")
        print(f"  {when}  {text[:150]} {buttons}", file=sys.stderr)


async def run(
    n: int, days: int, seed_value: int, db_kind: str, trace: tuple[str, ...] = ()
) -> dict[str, Any]:
    rng = random.Random(seed_value)
    started = time.perf_counter()
    async with fresh_database(db_kind) as url:
        engine = create_async_engine(url)
        await migrate.upgrade(engine)
        await engine.dispose()
        clock = FixedClock(local(START_DAY, 0))
        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        db = Database(url)
        app = build_app(settings, clock=clock, db=db)
        chat = Recorder(clock)
        app.add_adapter(chat)
        people, boss = await seed(app, n, rng)
        welcome_at = local(START_DAY + timedelta(days=days // 2), 10)
        end = local(START_DAY + timedelta(days=days), 0)
        now = clock.now()
        while now < end:
            if now == welcome_at:
                await record_welcome(app, boss)
            for person in people:
                await act(app, chat, person, now)
            await app.tick()
            now += timedelta(hours=1)
            clock.set(now)
        if trace:
            for person in people:
                if person.persona in trace or person.user in trace:
                    _print_trace(chat, person)
        result = await audit(app, chat, people, welcome_at, end)
        result.update(await staff_and_bands(app, days / 7, people, end))
        await app.close()
    personas: dict[str, int] = defaultdict(int)
    for person in people:
        personas[person.persona] += 1
    return {
        "candidates": n,
        "days": days,
        "seed": seed_value,
        "db": db_kind,
        "personas": dict(sorted(personas.items())),
        **result,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--trace", action="append", default=[], help="a persona or user (c12) to print"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = asyncio.run(run(args.candidates, args.days, args.seed, args.db, tuple(args.trace)))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
