"""The courier's rules for scheduled rows: quiet hours, expiry, batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.memory import MemoryAdapter
from bot.core.clock import FixedClock
from bot.core.messages import DeliveryError, Outgoing
from bot.runtime.app import App
from storage import outbox, people
from storage.models import Candidate, Outbox, OutboxCategory, OutboxStatus
from tests.bot.helpers import add_candidate, add_staff

EVENING = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
MORNING = datetime(2026, 6, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


async def _bound_candidate(app: App, name: str = "张三", timezone: str | None = None) -> Candidate:
    candidate, _ = await add_candidate(app, name, timezone=timezone)
    async with app.db.session() as session:
        identity = await people.touch_identity(
            session=session,
            platform="memory",
            user_id=f"u-{name}",
            chat_id=f"u-{name}",
            display_name=name,
            now=app.clock.now(),
        )
        await people.bind_identity(session=session, identity=identity, candidate_id=candidate.id)
    return candidate


async def _enqueue(
    app: App,
    text: str,
    *,
    candidate_id: int | None = None,
    staff_id: int | None = None,
    category: str | None = None,
    expires_at: datetime | None = None,
    due_at: datetime | None = None,
) -> int:
    now = app.clock.now()
    async with app.db.session() as session:
        row = await outbox.enqueue(
            session=session,
            kind="push" if category else "notice",
            payload=Outgoing(text).to_json(),
            due_at=due_at or now,
            now=now,
            candidate_id=candidate_id,
            staff_id=staff_id,
            category=category,
            expires_at=expires_at,
        )
    assert row is not None
    return row


async def _row(app: App, row_id: int) -> Outbox:
    async with app.db.session() as session:
        row = await session.get(Outbox, row_id)
    assert row is not None
    return row


def _texts(chat: MemoryAdapter, user: str) -> list[str]:
    return [m.text for m in chat.sent[user]]


async def test_push_waits_for_the_morning(app: App, chat: MemoryAdapter, clock: FixedClock) -> None:
    clock.set(EVENING)
    candidate = await _bound_candidate(app)
    assert candidate.id is not None
    push = await _enqueue(app, "今晚的推送", candidate_id=candidate.id, category="push")
    notice = await _enqueue(app, "普通通知", candidate_id=candidate.id)

    assert await app.courier.drain() == 2
    assert _texts(chat, "u-张三") == ["普通通知"]  # notices and replies are not held back
    row = await _row(app, push)
    assert row.status == OutboxStatus.PENDING.value
    assert row.due_at == MORNING
    assert row.attempts == 0 and row.lease_until is None and row.last_error is None
    assert (await _row(app, notice)).status == OutboxStatus.SENT.value

    clock.set(MORNING - timedelta(minutes=1))
    assert await app.courier.drain() == 0
    clock.set(MORNING)
    assert await app.courier.drain() == 1
    assert _texts(chat, "u-张三") == ["普通通知", "今晚的推送"]
    assert (await _row(app, push)).status == OutboxStatus.SENT.value


async def test_every_scheduled_category_respects_quiet_hours(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    clock.set(EVENING)
    candidate = await _bound_candidate(app)
    hr = await add_staff(app, "王芳", "hr", user="hr-wang")
    assert candidate.id is not None
    for category in OutboxCategory:
        if category is OutboxCategory.ALERT:
            await _enqueue(app, category.value, staff_id=hr.id, category=category.value)
        else:
            await _enqueue(app, category.value, candidate_id=candidate.id, category=category.value)
    await app.courier.drain()
    assert _texts(chat, "hr-wang") == []  # staff alerts wait for the morning too
    assert _texts(chat, "u-张三") == []
    clock.set(MORNING)
    await app.courier.drain()
    assert sorted(_texts(chat, "u-张三")) == ["broadcast", "push", "reminder"]
    assert _texts(chat, "hr-wang") == ["alert"]


async def test_quiet_hours_in_the_candidates_time_zone(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    # 10:00 in Shanghai is 04:00 in Berlin (summer time).
    candidate = await _bound_candidate(app, "Anna", timezone="Europe/Berlin")
    assert candidate.id is not None
    push = await _enqueue(app, "Guten Morgen", candidate_id=candidate.id, category="push")
    await app.courier.drain()
    assert not chat.sent["u-Anna"]
    assert (await _row(app, push)).due_at == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


async def test_expired_rows_are_not_sent(app: App, chat: MemoryAdapter, clock: FixedClock) -> None:
    candidate = await _bound_candidate(app)
    assert candidate.id is not None
    now = clock.now()
    stale = await _enqueue(
        app,
        "过期内容",
        candidate_id=candidate.id,
        category="push",
        due_at=now - timedelta(days=3),
        expires_at=now - timedelta(hours=1),
    )
    fresh = await _enqueue(
        app, "有效内容", candidate_id=candidate.id, category="push", expires_at=now + timedelta(1)
    )
    assert await app.courier.drain() == 2
    assert _texts(chat, "u-张三") == ["有效内容"]
    row = await _row(app, stale)
    assert row.status == OutboxStatus.EXPIRED.value and row.last_error == "expired"
    assert row.sent_at is None and row.attempts == 0
    assert (await _row(app, fresh)).status == OutboxStatus.SENT.value
    assert await app.courier.drain() == 0  # an expired row is never tried again


async def test_deferred_row_that_expires_overnight_is_dropped(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    clock.set(EVENING)
    candidate = await _bound_candidate(app)
    assert candidate.id is not None
    push = await _enqueue(
        app,
        "只在今晚有效",
        candidate_id=candidate.id,
        category="push",
        expires_at=EVENING + timedelta(hours=2),
    )
    await app.courier.drain()
    clock.set(MORNING)
    await app.courier.drain()
    assert not chat.sent["u-张三"]
    assert (await _row(app, push)).status == OutboxStatus.EXPIRED.value


async def test_drain_works_in_batches_until_nothing_is_due(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    candidate = await _bound_candidate(app)
    assert candidate.id is not None
    for i in range(25):
        await _enqueue(app, f"n{i}", candidate_id=candidate.id)
    assert await app.courier.drain(limit=10) == 25
    assert _texts(chat, "u-张三") == [f"n{i}" for i in range(25)]


async def test_a_row_due_again_at_once_is_tried_once_per_drain(
    app: App, chat: MemoryAdapter, clock: FixedClock
) -> None:
    candidate = await _bound_candidate(app)
    assert candidate.id is not None
    row_id = await _enqueue(app, "稍后再试", candidate_id=candidate.id)
    chat.fail_next.append(DeliveryError("429", retry_after=0))
    assert await app.courier.drain() == 1
    row = await _row(app, row_id)
    assert row.status == OutboxStatus.PENDING.value and row.attempts == 1
    assert await app.courier.drain() == 1
    assert _texts(chat, "u-张三") == ["稍后再试"]
