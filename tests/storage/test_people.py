"""Candidates, staff and chat identities: lookups, upserts, binding and languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.clock import FixedClock
from storage import people
from storage.db import Database
from storage.models import Candidate, Staff
from tests.storage.factories import make_candidate, make_identity, make_staff, pk

# ---- staff -------------------------------------------------------------------------------


async def test_staff_lookups(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        hr_a = await make_staff(session, now=now, name="王芳", role="hr")
        manager = await make_staff(
            session, now=now, name="李强", role="manager", department="研发中心"
        )
        admin = await make_staff(session, now=now, name="王芳", role="admin")
        hr_b = await make_staff(session, now=now, name="赵敏", role="hr")
    assert hr_a.created_at == now and manager.department == "研发中心"
    async with database.session() as session:
        everyone = await people.list_staff(session=session)
        hrs = await people.staff_with_role(session=session, role="hr")
        nobody = await people.staff_with_role(session=session, role="candidate")
        named = await people.find_staff_by_name(session=session, name="王芳")
        named_hr = await people.find_staff_by_name(session=session, name="王芳", roles=["hr"])
        no_roles = await people.find_staff_by_name(session=session, name="王芳", roles=[])
        unknown = await people.find_staff_by_name(session=session, name="王")
        got = await people.get_staff(session=session, staff_id=pk(manager))
        missing = await people.get_staff(session=session, staff_id=pk(hr_b) + 100)
    # By role, then by id.
    assert [s.id for s in everyone] == [pk(admin), pk(hr_a), pk(hr_b), pk(manager)]
    assert [s.id for s in hrs] == [pk(hr_a), pk(hr_b)]
    assert list(nobody) == []
    assert [s.id for s in named] == [pk(hr_a), pk(admin)]
    assert [s.id for s in named_hr] == [pk(hr_a)]
    assert [s.id for s in no_roles] == [pk(hr_a), pk(admin)]  # an empty filter is no filter
    assert list(unknown) == []  # exact names only
    assert got is not None and got.name == "李强"
    assert missing is None


async def test_staff_identities_lists_staff_accounts_of_one_platform(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        hr = await make_staff(session, now=now, name="王芳")
        boss = await make_staff(session, now=now, name="李强", role="manager")
        cand = await make_candidate(session, now=now)
        boss_tg = await make_identity(
            session, now=now, user_id="b1", platform="telegram", staff_id=pk(boss)
        )
        hr_tg = await make_identity(
            session, now=now, user_id="h1", platform="telegram", staff_id=pk(hr)
        )
        await make_identity(session, now=now, user_id="h2", platform="wecom", staff_id=pk(hr))
        await make_identity(
            session, now=now, user_id="c1", platform="telegram", candidate_id=pk(cand)
        )
        await make_identity(session, now=now, user_id="x1", platform="telegram")
    async with database.session() as session:
        rows = await people.staff_identities(session=session, platform="telegram")
        none = await people.staff_identities(session=session, platform="feishu")
    assert [(i.id, s.name) for i, s in rows] == [(pk(boss_tg), "李强"), (pk(hr_tg), "王芳")]
    assert list(none) == []


# ---- candidates --------------------------------------------------------------------------


async def test_save_candidate_creates_and_updates(database: Database, clock: FixedClock) -> None:
    created_at = clock.now()
    async with database.session() as session:
        cand = await people.save_candidate(
            session=session,
            candidate=None,
            fields={"name": "张三", "phone": "+8613800000000", "tags": ["校招"]},
            now=created_at,
        )
    assert cand.id is not None
    assert cand.created_at == created_at and cand.updated_at == created_at
    assert cand.offer_status == "offered"
    later = created_at + timedelta(days=1)
    async with database.session() as session:
        loaded = await people.get_candidate(session=session, candidate_id=pk(cand))
        assert loaded is not None
        await people.save_candidate(
            session=session, candidate=loaded, fields={"school": "清华大学"}, now=later
        )
    async with database.session() as session:
        stored = await people.get_candidate(session=session, candidate_id=pk(cand))
        assert await people.get_candidate(session=session, candidate_id=pk(cand) + 1) is None
    assert stored is not None
    assert stored.name == "张三" and stored.phone == "+8613800000000"
    assert stored.school == "清华大学" and stored.tags == ["校招"]
    assert stored.created_at == created_at and stored.updated_at == later


async def test_find_candidate_by_contact_tries_phone_then_email(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        by_phone = await make_candidate(session, now=now, name="甲", phone="111", email="a@x.cn")
        by_email = await make_candidate(session, now=now, name="乙", email="b@x.cn")
    async with database.session() as session:

        async def find(phone: str | None, email: str | None) -> int | None:
            found = await people.find_candidate_by_contact(
                session=session, phone=phone, email=email
            )
            return None if found is None else found.id

        assert await find("111", None) == pk(by_phone)
        assert await find("111", "b@x.cn") == pk(by_phone)  # the phone wins
        assert await find("999", "b@x.cn") == pk(by_email)  # unknown phone: the email
        assert await find(None, "a@x.cn") == pk(by_phone)
        assert await find("", "b@x.cn") == pk(by_email)
        assert await find("999", "z@x.cn") is None
        assert await find(None, None) is None


async def test_find_candidates_exact_before_partial_and_by_hr(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        hr = await make_staff(session, now=now)
        other_hr = await make_staff(session, now=now, name="赵敏")
        zhang = await make_candidate(session, now=now, name="张三", hr_id=pk(hr))
        zhang_feng = await make_candidate(session, now=now, name="张三丰", hr_id=pk(other_hr))
        xiao_zhang = await make_candidate(session, now=now, name="小张三", hr_id=pk(hr))
        li = await make_candidate(session, now=now, name="李四")
    async with database.session() as session:

        async def ids(name: str, hr_id: int | None = None) -> list[int | None]:
            found = await people.find_candidates(session=session, name=name, hr_id=hr_id)
            return [c.id for c in found]

        assert await ids("张三") == [pk(zhang)]
        assert await ids("张三丰") == [pk(zhang_feng)]
        # The other HR has no exact 张三: their partial match counts.
        assert await ids("张三", hr_id=pk(other_hr)) == [pk(zhang_feng)]
        assert await ids("三") == [pk(zhang), pk(zhang_feng), pk(xiao_zhang)]
        assert await ids("三", hr_id=pk(hr)) == [pk(zhang), pk(xiao_zhang)]
        assert await ids("王五") == []
        all_ids = [c.id for c in await people.list_candidates(session=session)]
        hr_ids = [c.id for c in await people.list_candidates(session=session, hr_id=pk(hr))]
    assert all_ids == [pk(zhang), pk(zhang_feng), pk(xiao_zhang), pk(li)]
    assert hr_ids == [pk(zhang), pk(xiao_zhang)]


async def test_bound_rank_counts_this_year_in_the_same_department(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    jan = datetime(2026, 1, 5, 3, tzinfo=UTC)
    last_year = datetime(2025, 12, 30, 3, tzinfo=UTC)
    async with database.session() as session:

        async def bound(name: str, department: str | None, at: datetime | None) -> Candidate:
            return await make_candidate(
                session, now=now, name=name, department=department, bound_at=at
            )

        await bound("去年", "研发中心", last_year)
        first = await bound("一", "研发中心", jan)
        second = await bound("二", "研发中心", jan + timedelta(days=30))
        await bound("未绑", "研发中心", None)
        await bound("销售", "销售部", jan)
        third = await bound("三", "研发中心", now)
        no_dept_a = await bound("无甲", None, jan)
        no_dept_b = await bound("无乙", None, now)
    async with database.session() as session:

        async def rank(candidate: Candidate) -> int:
            return await people.bound_rank_in_department(session=session, candidate=candidate)

        assert await rank(first) == 1
        assert await rank(second) == 2
        assert await rank(third) == 3
        assert await rank(no_dept_a) == 1
        assert await rank(no_dept_b) == 2


# ---- identities --------------------------------------------------------------------------


async def test_touch_identity_creates_then_refreshes(database: Database, clock: FixedClock) -> None:
    first_seen = clock.now()
    async with database.session() as session:
        created = await people.touch_identity(
            session=session,
            platform="telegram",
            user_id="42",
            chat_id="c1",
            display_name="名" * 150,
            now=first_seen,
        )
        silent = await people.touch_identity(
            session=session,
            platform="telegram",
            user_id="43",
            chat_id="c2",
            display_name="",
            now=first_seen,
        )
        # The same user id on another platform is another account.
        other = await people.touch_identity(
            session=session,
            platform="wecom",
            user_id="42",
            chat_id="w1",
            display_name=None,
            now=first_seen,
        )
    assert created.display_name == "名" * 100
    assert created.created_at == first_seen and created.last_seen_at == first_seen
    assert created.candidate_id is None and created.staff_id is None
    assert not created.unreachable
    assert silent.display_name is None
    assert other.id != created.id
    async with database.session() as session:
        assert await people.mark_unreachable(session=session, platform="telegram", user_id="42")
    later = first_seen + timedelta(hours=3)
    async with database.session() as session:
        again = await people.touch_identity(
            session=session,
            platform="telegram",
            user_id="42",
            chat_id="c9",
            display_name=None,
            now=later,
        )
    assert again.id == created.id
    assert again.chat_id == "c9"
    assert again.display_name == "名" * 100  # no new name: the old one stays
    assert again.last_seen_at == later and again.created_at == first_seen
    assert not again.unreachable  # a message from them proves they are reachable


async def test_identity_lookups_and_owner(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    async with database.session() as session:
        cand = await make_candidate(session, now=now)
        staff = await make_staff(session, now=now)
        mine = await make_identity(session, now=now, user_id="u1", candidate_id=pk(cand))
        theirs = await make_identity(session, now=now, user_id="u2", staff_id=pk(staff))
        await make_identity(session, now=now, user_id="u3")
    async with database.session() as session:
        got = await people.get_identity(session=session, platform="memory", user_id="u1")
        wrong_platform = await people.get_identity(
            session=session, platform="telegram", user_id="u1"
        )
        by_id = await people.identity_by_id(session=session, identity_id=pk(theirs))
        no_id = await people.identity_by_id(session=session, identity_id=pk(theirs) + 100)
        owners = [
            await people.identity_owner(session=session, platform="memory", user_id=u)
            for u in ("u1", "u2", "u3", "nobody")
        ]
    assert got is not None and got.id == mine.id
    assert wrong_platform is None
    assert by_id is not None and by_id.staff_id == pk(staff)
    assert no_id is None
    assert owners == [(pk(cand), None), (None, pk(staff)), None, None]


async def test_identities_of_most_recent_first(database: Database, clock: FixedClock) -> None:
    t0 = clock.now()
    async with database.session() as session:
        cand = await make_candidate(session, now=t0)
        staff = await make_staff(session, now=t0)
        old = await make_identity(session, now=t0, user_id="old", candidate_id=pk(cand))
        new = await make_identity(
            session, now=t0 + timedelta(days=1), user_id="new", candidate_id=pk(cand)
        )
        never = await people.prebind_identity(
            session=session,
            platform="wecom",
            user_id="pre",
            display_name="张三",
            now=t0,
            candidate_id=pk(cand),
        )
        never_too = await people.prebind_identity(
            session=session,
            platform="feishu",
            user_id="pre2",
            display_name="张三",
            now=t0,
            candidate_id=pk(cand),
        )
        staff_acc = await make_identity(session, now=t0, user_id="s", staff_id=pk(staff))
        await make_identity(session, now=t0, user_id="stranger")
    assert never.last_seen_at is None and never.candidate_id == pk(cand)
    assert never.chat_id == "pre" and never.display_name == "张三"
    async with database.session() as session:
        mine = await people.identities_of(session=session, candidate_id=pk(cand))
        both = await people.identities_of(
            session=session, candidate_id=pk(cand), staff_id=pk(staff)
        )
        neither = await people.identities_of(session=session)
    # Seen most recently first; never seen last, the newest of those first.
    assert [i.id for i in mine] == [pk(new), pk(old), pk(never_too), pk(never)]
    # Ties on the time: the newer account first.
    assert [i.id for i in both] == [pk(new), pk(staff_acc), pk(old), pk(never_too), pk(never)]
    assert list(neither) == []


async def test_mark_unreachable_flags_once(database: Database, clock: FixedClock) -> None:
    async with database.session() as session:
        await make_identity(session, now=clock.now(), user_id="u1")
    async with database.session() as session:
        flagged = await people.mark_unreachable(session=session, platform="memory", user_id="u1")
        twice = await people.mark_unreachable(session=session, platform="memory", user_id="u1")
        unknown = await people.mark_unreachable(session=session, platform="memory", user_id="u2")
    assert flagged is not None and flagged.unreachable
    assert twice is None
    assert unknown is None
    async with database.session() as session:
        stored = await people.get_identity(session=session, platform="memory", user_id="u1")
    assert stored is not None and stored.unreachable


async def test_set_language_goes_to_the_person_and_the_identity(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with database.session() as session:
        cand = await make_candidate(session, now=now)
        staff = await make_staff(session, now=now)
        c_acc = await make_identity(session, now=now, user_id="c", candidate_id=pk(cand))
        s_acc = await make_identity(session, now=now, user_id="s", staff_id=pk(staff))
        loose = await make_identity(session, now=now, user_id="x")
    async with database.session() as session:
        for identity, language in ((c_acc, "en"), (s_acc, "zh"), (loose, "ja")):
            await people.set_language(session=session, identity=identity, language=language)
    async with database.session() as session:
        stored_cand = await session.get(Candidate, pk(cand))
        stored_staff = await session.get(Staff, pk(staff))
        accounts = {
            u: await people.get_identity(session=session, platform="memory", user_id=u)
            for u in ("c", "s", "x")
        }
    assert stored_cand is not None and stored_cand.language == "en"
    assert stored_staff is not None and stored_staff.language == "zh"
    assert {u: (i.language if i else None) for u, i in accounts.items()} == {
        "c": "en",
        "s": "zh",
        "x": "ja",
    }
