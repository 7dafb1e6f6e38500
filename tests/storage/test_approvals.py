"""Offer approvals: who approves what, the waiting and overdue lists, a manager's team."""

from __future__ import annotations

from datetime import date, timedelta

from bot.core.clock import FixedClock
from storage import approvals, outcomes
from storage.db import Database
from storage.models import OfferStatus
from tests.storage.factories import make_candidate, make_staff, pk

PENDING = OfferStatus.PENDING_APPROVAL


async def test_pending_and_overdue_approvals(database: Database, clock: FixedClock) -> None:
    t0 = clock.now()
    async with database.session() as session:
        boss = await make_staff(session, now=t0, name="boss", role="manager", department="研发中心")
        loner = await make_staff(session, now=t0, name="loner", role="manager")
        other = pk(await make_staff(session, now=t0, name="other", role="manager"))
        # Named manager, requested at +1h (created earlier: the request time counts).
        own = await make_candidate(
            session,
            now=t0 - timedelta(days=3),
            name="own",
            manager_id=pk(boss),
            offer_status=PENDING,
            approval_requested_at=t0 + timedelta(hours=1),
        )
        # The department's, no manager named, imported as pending at t0 (no request time).
        dept = await make_candidate(
            session, now=t0, name="dept", department="研发中心", offer_status=PENDING
        )
        # The department's, but another manager is named: not the boss's to approve.
        await make_candidate(
            session,
            now=t0 - timedelta(days=1),
            name="theirs",
            department="研发中心",
            manager_id=other,
            offer_status=PENDING,
        )
        await make_candidate(session, now=t0, name="done", manager_id=pk(boss))
        lonely = await make_candidate(
            session,
            now=t0 + timedelta(hours=2),
            name="l",
            manager_id=pk(loner),
            offer_status=PENDING,
        )
    async with database.session() as session:
        mine, mine_total = await approvals.pending_approvals(
            session=session, approver=boss, limit=10
        )
        page, page_total = await approvals.pending_approvals(
            session=session, approver=boss, limit=1, offset=1
        )
        admin, admin_total = await approvals.pending_approvals(
            session=session, approver=None, limit=10
        )
        loners, _ = await approvals.pending_approvals(session=session, approver=loner, limit=10)
        overdue = await approvals.overdue_approvals(
            session=session, requested_before=t0 + timedelta(hours=1)
        )
    assert [c.name for c in mine] == ["dept", "own"] and mine_total == 2
    assert [c.name for c in page] == ["own"] and page_total == 2
    assert [c.name for c in admin] == ["theirs", "dept", "own", "l"] and admin_total == 4
    assert [c.id for c in loners] == [pk(lonely)]  # no department: only their own
    # "own" was requested exactly at the cut: not overdue, though created long before.
    assert [c.name for c in overdue] == ["dept", "theirs"]
    assert approvals.approval_since(own) == t0 + timedelta(hours=1)
    assert approvals.approval_since(dept) == t0


async def test_approvers_of(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        m1 = pk(await make_staff(session, now=now, name="m1", role="manager", department="研发"))
        m2 = pk(await make_staff(session, now=now, name="m2", role="manager", department="研发"))
        await make_staff(session, now=now, name="hr", role="hr", department="研发")
        named = await make_candidate(session, now=now, department="研发", manager_id=m2)
        by_dept = await make_candidate(session, now=now, department="研发")
        nowhere = await make_candidate(session, now=now, department="销售")
        no_dept = await make_candidate(session, now=now)
    async with database.session() as session:
        found = {
            name: [s.id for s in await approvals.approvers_of(session=session, candidate=c)]
            for name, c in (
                ("named", named),
                ("by_dept", by_dept),
                ("nowhere", nowhere),
                ("no_dept", no_dept),
            )
        }
    assert found == {"named": [m2], "by_dept": [m1, m2], "nowhere": [], "no_dept": []}


async def test_team_candidates_soonest_first_without_declined_or_decided(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        boss = await make_staff(session, now=now, name="boss", role="manager", department="研发")
        july = date(2026, 7, 1)
        b = await make_candidate(
            session, now=now, name="b", department="研发", onboarding_date=july
        )
        a = await make_candidate(
            session, now=now, name="a", department="研发", onboarding_date=july
        )
        early = await make_candidate(
            session,
            now=now,
            name="z",
            department="销售",
            manager_id=pk(boss),
            onboarding_date=date(2026, 6, 15),
        )
        undated = await make_candidate(session, now=now, name="u", department="研发")
        await make_candidate(
            session, now=now, name="d", department="研发", offer_status=OfferStatus.DECLINED
        )
        gone = await make_candidate(session, now=now, name="g", department="研发")
        joined = await make_candidate(
            session, now=now, name="j", department="研发", onboarding_date=july
        )
        outsider = await make_candidate(session, now=now, name="o", department="销售")
        for cand, outcome in ((gone, outcomes.RENEGED), (joined, outcomes.JOINED)):
            await outcomes.record_outcome(
                session=session,
                candidate_id=pk(cand),
                outcome=outcome,
                reason=None,
                department=None,
                recorded_by=None,
                score=None,
                features={},
                now=now,
            )
    async with database.session() as session:
        team, total = await approvals.team_candidates(session=session, manager=boss, limit=10)
        page, _ = await approvals.team_candidates(session=session, manager=boss, limit=2, offset=2)
        everyone, everyone_total = await approvals.team_candidates(
            session=session, manager=None, limit=10
        )
    # Joined is not incoming any more, like reneged and declined.
    expected = [pk(early), pk(a), pk(b), pk(undated)]
    assert [c.id for c in team] == expected and total == 4
    assert [c.id for c in page] == expected[2:4]
    assert pk(outsider) in {c.id for c in everyone} and everyone_total == 5
    # Given today, those whose first day is past leave too.
    async with database.session() as session:
        later, later_total = await approvals.team_candidates(
            session=session, manager=boss, limit=10, today=date(2026, 6, 20)
        )
    assert [c.id for c in later] == [pk(a), pk(b), pk(undated)] and later_total == 3
