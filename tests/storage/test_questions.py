"""Questions, their feedback, and tickets: answering, SLA overdue lists, escalation."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FixedClock
from storage import questions
from storage.db import Database
from storage.models import TicketStatus
from tests.storage.factories import make_candidate, make_staff, pk


async def test_questions_are_stored_truncated_and_rated(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=now))
        matched = await questions.add_question(
            session=session,
            candidate_id=cid,
            text="几点上班？",
            faq_id="hours",
            score=0.82,
            now=now,
        )
        long = await questions.add_question(
            session=session, candidate_id=cid, text="问" * 1200, faq_id=None, score=None, now=now
        )
    async with database.session() as session:
        got = await questions.get_question(session=session, question_id=pk(matched))
        assert got is not None
        assert got.helpful is None
        await questions.set_helpful(session=session, question=got, helpful=False)
        missing = await questions.get_question(session=session, question_id=pk(long) + 10)
    assert missing is None
    async with database.session() as session:
        rated = await questions.get_question(session=session, question_id=pk(matched))
        stored_long = await questions.get_question(session=session, question_id=pk(long))
    assert rated is not None
    assert (rated.candidate_id, rated.text, rated.faq_id) == (cid, "几点上班？", "hours")
    assert rated.score == 0.82
    assert rated.helpful is False
    assert rated.created_at == now
    assert stored_long is not None
    assert stored_long.text == "问" * 1000
    assert stored_long.faq_id is None and stored_long.score is None


async def test_ticket_lifecycle(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        hr = await make_staff(session, now=now)
        cid = pk(await make_candidate(session, now=now, hr_id=pk(hr)))
        question = await questions.add_question(
            session=session,
            candidate_id=cid,
            text="能否晚一周入职？",
            faq_id=None,
            score=0.1,
            now=now,
        )
        unrelated = await questions.add_question(
            session=session, candidate_id=cid, text="?", faq_id=None, score=None, now=now
        )
        ticket = await questions.open_ticket(
            session=session,
            candidate_id=cid,
            hr_id=pk(hr),
            text="T" * 1500,
            question_id=pk(question),
            now=now,
        )
    assert ticket.status == TicketStatus.OPEN.value
    assert ticket.text == "T" * 1000
    assert ticket.answer is None and ticket.answered_at is None and ticket.escalated_at is None
    answered_at = now + timedelta(hours=2)
    async with database.session() as session:
        found = await questions.ticket_for_question(session=session, question_id=pk(question))
        assert found is not None and found.id == ticket.id
        assert (
            await questions.ticket_for_question(session=session, question_id=pk(unrelated)) is None
        )
        assert await questions.get_ticket(session=session, ticket_id=pk(ticket) + 1) is None
        await questions.answer_ticket(
            session=session, ticket=found, answer="A" * 2500, staff_id=pk(hr), now=answered_at
        )
    async with database.session() as session:
        stored = await questions.get_ticket(session=session, ticket_id=pk(ticket))
    assert stored is not None
    assert stored.status == TicketStatus.ANSWERED.value
    assert stored.answer == "A" * 2000
    assert stored.answered_by == pk(hr)
    assert stored.answered_at == answered_at
    assert stored.created_at == now


async def test_overdue_tickets_open_old_unescalated_oldest_first(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    sla_cut = t0 + timedelta(hours=24)
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=t0))

        async def ticket(hours: int, text: str) -> int:
            opened = await questions.open_ticket(
                session=session,
                candidate_id=cid,
                hr_id=None,
                text=text,
                question_id=None,
                now=t0 + timedelta(hours=hours),
            )
            return pk(opened)

        second = await ticket(3, "second")
        first = await ticket(1, "first")
        third = await ticket(5, "third")
        await ticket(24, "at the cut")  # not older than the cut
        await ticket(30, "fresh")
        answered = await ticket(0, "answered")
        escalated = await ticket(0, "escalated")
        for row_id, done in ((answered, "answer"), (escalated, "escalate")):
            row = await questions.get_ticket(session=session, ticket_id=row_id)
            assert row is not None
            if done == "answer":
                await questions.answer_ticket(
                    session=session, ticket=row, answer="ok", staff_id=None, now=t0
                )
            else:
                await questions.mark_escalated(session=session, ticket=row, now=t0)
    async with database.session() as session:
        overdue = await questions.overdue_tickets(session=session, created_before=sla_cut)
        top_two = await questions.overdue_tickets(session=session, created_before=sla_cut, limit=2)
        assert [t.id for t in overdue] == [first, second, third]
        assert [t.id for t in top_two] == [first, second]
        await questions.mark_escalated(session=session, ticket=overdue[0], now=sla_cut)
    async with database.session() as session:
        left = await questions.overdue_tickets(session=session, created_before=sla_cut)
        marked = await questions.get_ticket(session=session, ticket_id=first)
    assert [t.id for t in left] == [second, third]
    assert marked is not None and marked.escalated_at == sla_cut
    assert marked.status == TicketStatus.OPEN.value


async def test_overdue_tickets_skip_rows_another_worker_holds(
    database: Database, clock: FixedClock
) -> None:
    t0 = clock.now()
    async with database.session() as session:
        cid = pk(await make_candidate(session, now=t0))
        for n in range(3):
            await questions.open_ticket(
                session=session,
                candidate_id=cid,
                hr_id=None,
                text=str(n),
                question_id=None,
                now=t0 + timedelta(minutes=n),
            )
    cut = t0 + timedelta(days=1)
    if database.dialect != "postgresql":
        # SQLite serialises transactions instead; every worker sees every ticket in turn.
        async with database.session() as session:
            overdue = await questions.overdue_tickets(session=session, created_before=cut)
        texts = [t.text for t in overdue]
        assert texts == ["0", "1", "2"]
        return
    async with database.session() as first:
        taken = await questions.overdue_tickets(session=first, created_before=cut, limit=2)
        assert [t.text for t in taken] == ["0", "1"]
        async with database.session() as second:
            rest = await questions.overdue_tickets(session=second, created_before=cut)
        assert [t.text for t in rest] == ["2"]
