"""``:clock +3d`` in the console: time moves in steps and pushes print when they arrive."""

from __future__ import annotations

import io
import re
from datetime import datetime, time, timedelta

from bot.core.clock import FixedClock
from bot.core.context import Services
from bot.core.messages import Outgoing
from bot.runtime.app import App
from storage import outbox, people
from storage.db import Database
from storage.models import OutboxCategory


async def _console(app: App, script: str) -> str:
    await app.seed_demo_if_empty(console=True)
    out = io.StringIO()
    await app.run_console(io.StringIO(script), out, interactive=False)
    return out.getvalue()


def _after(transcript: str, marker: str) -> list[str]:
    return transcript[transcript.index(marker) + len(marker) :].strip("\n").splitlines()


async def test_clock_shows_pushes_at_their_local_times(app: App, clock: FixedClock) -> None:
    """A fake planner schedules three pushes; the transcript shows each at its time."""
    tz = app.settings.timezone
    today = clock.now().astimezone(tz).date()

    def local(days: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(today + timedelta(days=days), time(hour, minute), tzinfo=tz)

    plan = [
        ("afternoon", local(0, 15), "下午好：团队介绍"),
        ("late", local(0, 22, 30), "晚上排的推送，等到早上"),  # quiet hours: 09:00 next day
        ("day3", local(2, 11, 20), "第三天的推送"),
    ]

    async def fake_planner(db: Database, services: Services, now: datetime) -> None:
        async with db.session() as session:
            found = await people.find_candidates(session=session, name="张三")
            for key, due, text in plan:
                await outbox.enqueue(
                    session=session,
                    kind="push",
                    payload=Outgoing(text).to_json(),
                    due_at=due,
                    now=now,
                    candidate_id=found[0].id,
                    category=OutboxCategory.PUSH.value,
                    dedupe_key=f"test:{key}",
                )

    app.tick_jobs = [fake_planner]
    transcript = await _console(app, ":as 张三\n:clock +3d\n:quit\n")
    lines = _after(transcript, "张三> :clock +3d")
    assert lines == [
        "🕒 2026-06-01 15:00 Mon (Asia/Shanghai)",
        "bot: 下午好：团队介绍",
        "🕒 2026-06-02 09:00 Tue (Asia/Shanghai)",
        "bot: 晚上排的推送，等到早上",
        "🕒 2026-06-03 12:00 Wed (Asia/Shanghai)",  # steps are an hour: 11:20 shows at 12:00
        "bot: 第三天的推送",
        "🕒 2026-06-04 10:00 Thu (Asia/Shanghai)",
        "张三> :quit",
    ]
    assert clock.now() == local(3, 10)


async def test_clock_without_pushes_only_moves_time(app: App, clock: FixedClock) -> None:
    app.tick_jobs = []
    transcript = await _console(app, ":clock +90m\n:clock\n:clock soon\n:quit\n")
    assert "🕒 2026-06-01 11:30 Mon (Asia/Shanghai)" in transcript
    assert "usage: :clock +3d" in transcript
    assert clock.now().astimezone(app.settings.timezone).hour == 11


async def test_demo_candidate_receives_planned_pushes_over_three_days(app: App) -> None:
    """End to end with the real planner and content library: a bound demo candidate sees
    scheduled pushes arrive while the clock moves three days."""
    transcript = await _console(app, ":as 张三\n:clock +3d\n:quit\n")
    lines = _after(transcript, "张三> :clock +3d")
    assert re.fullmatch(r"🕒 2026-06-04 10:00 Thu \(Asia/Shanghai\)", lines[-2])
    # Each push to 张三 ("bot: ...") is printed under the local time it arrived at, which is
    # never in quiet hours (21:00-09:00). Staff notices ("✉ → ...") may come at any time.
    arrivals: list[int] = []
    stamp = ""
    for line in lines[:-2]:
        if line.startswith("🕒"):
            stamp = line
        elif line.startswith("bot: "):
            assert stamp, transcript
            arrivals.append(int(stamp.split()[2].split(":")[0]))
    assert arrivals, transcript
    assert all(9 <= hour < 21 for hour in arrivals), transcript
