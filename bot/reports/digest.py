"""The morning digest to each HR (issue #6).

From DIGEST_HOUR:00 local time (``settings.timezone``) every HR gets one
message a day (outbox dedupe key ``digest:<hr id>:<local date>``) about their
own candidates still on their way (offer not declined, no outcome recorded):
the high-risk ones by their latest score, the ones who went silent since
yesterday, documents awaiting review, questions past the reply SLA, offers
awaiting approval, and those whose first day passed with no outcome recorded.
Empty sections are left out; a day with nothing to say gets no digest, except on
Mondays ("all calm", so HR knows the bot is there). A digest not delivered on its
day (quiet hours, an outage) expires: the next morning's replaces it.
Only staff with the HR role get one: admins oversee everyone and would get a
copy of every HR's list, so an admin who also looks after candidates should be
added as HR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.context import Services
from bot.core.messages import Button, Outgoing
from bot.core.quiet import is_weekend
from bot.people.approvals import waited
from bot.people.progress import still_waiting
from bot.scoring.standing import unscored
from bot.scoring.wording import action_text, reason_text
from bot.support.intent import quote
from storage import digest, outbox, people, scores
from storage.approvals import approval_since
from storage.db import Database
from storage.models import Candidate, OfferStatus, OutboxCategory, Role, ScoreSnapshot, Staff
from storage.signals import local_midnight

TOP = 5
TICKETS_LISTED = 3
OUTCOME_ASKED_DAYS = 14  # how long after a first day HR is asked to record the outcome
HIGH = "high"


@dataclass(frozen=True, slots=True)
class _Day:
    now: datetime
    today: date


async def send_digests(db: Database, services: Services, now: datetime) -> None:
    """Queue today's digest for every HR once it is DIGEST_HOUR (once per HR and day)."""
    settings = services.settings
    local = now.astimezone(settings.timezone)
    if local.hour < settings.digest_hour:
        return
    day = _Day(now, local.date())
    weekend = is_weekend(now, settings)
    async with db.session() as session:
        staff = await people.staff_with_role(session=session, role=Role.HR.value)
        keys = {hr.id: f"digest:{hr.id}:{day.today.isoformat()}" for hr in staff}
        sent = await outbox.keys_used(session=session, keys=list(keys.values()))
        for hr in staff:
            assert hr.id is not None
            if keys[hr.id] in sent:
                continue  # today's digest is written: nothing to compose again this tick
            if not await people.identities_of(session=session, staff_id=hr.id):
                continue  # not reachable yet; they get the day's digest once they bind
            sections = await digest_sections(session, services, hr, day.now)
            # Weekends: only when a candidate is waiting for an answer past the SLA.
            if weekend and not sections.tickets:
                continue
            # A calm day is said once a week (Monday), not every morning.
            if not sections.present() and local.weekday() != 0:
                continue
            text = render(services, hr, day.now, sections)
            await outbox.enqueue(
                session=session,
                kind="notice",
                payload=Outgoing(text, sections.buttons).to_json(),
                due_at=now,
                now=now,
                staff_id=hr.id,
                dedupe_key=keys[hr.id],
                category=OutboxCategory.ALERT.value,
                # Held back (quiet hours, an outage) past the day it describes, it is stale:
                # the next morning's digest says it afresh.
                expires_at=local_midnight(now, settings.timezone) + timedelta(days=1),
            )


@dataclass(frozen=True, slots=True)
class Sections:
    """The digest's sections, each its text or "" when there is nothing to say."""

    high_risk: str
    newly_silent: str
    documents: str
    tickets: str
    approvals: str
    no_outcome: str = ""
    buttons: tuple[Button, ...] = ()  # reply buttons for the overdue questions listed

    def present(self) -> list[str]:
        parts = (
            self.high_risk,
            self.newly_silent,
            self.documents,
            self.tickets,
            self.approvals,
            self.no_outcome,
        )
        return [part for part in parts if part]


async def digest_sections(
    session: AsyncSession, services: Services, hr: Staff, now: datetime
) -> Sections:
    assert hr.id is not None
    lang = hr.language
    today = now.astimezone(services.settings.timezone).date()
    undecided = await digest.active_candidates(session=session, hr_id=hr.id)
    candidates = [c for c in undecided if still_waiting(c, today)]
    scored = [c for c in candidates if unscored(c, today=today) is None]
    ids = [c.id for c in scored if c.id is not None]
    latest = await scores.latest(session=session, candidate_ids=ids) if ids else {}
    tickets, buttons = await _tickets(session, services, lang, hr.id, now)
    return Sections(
        _high_risk(services, lang, scored, latest),
        await _newly_silent(session, services, lang, scored, latest, now),
        await _documents(session, services, lang, hr.id, now),
        tickets,
        _approvals(services, lang, candidates, now),
        _no_outcome(services, lang, undecided, today),
        buttons,
    )


def render(services: Services, hr: Staff, now: datetime, sections: Sections) -> str:
    """The digest text for one HR at ``now``, in their language, greeting by the hour."""
    settings = services.settings
    i18n = services.i18n
    lang = hr.language
    today = now.astimezone(settings.timezone).date()
    greeting = i18n.t(lang, f"digest.greeting.{_part_of_day(now, settings.timezone)}")
    values = {"name": hr.name, "date": today.isoformat(), "greeting": greeting}
    body = sections.present()
    if not body:
        return i18n.t(lang, "digest.calm", **values)
    return "\n\n".join([i18n.t(lang, "digest.title", **values), *body])


def _part_of_day(now: datetime, tz: ZoneInfo) -> str:
    hour = now.astimezone(tz).hour
    return "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"


def _high_risk(
    services: Services,
    lang: str | None,
    candidates: list[Candidate],
    latest: dict[int, ScoreSnapshot],
) -> str:
    i18n = services.i18n
    by_id = {c.id: c for c in candidates if c.id is not None}
    risky = sorted(
        (s for s in latest.values() if s.band == HIGH),
        key=lambda s: (s.score, by_id[s.candidate_id].name),
    )
    if not risky:
        return ""
    lines = [i18n.t(lang, "digest.high_title", count=len(risky))]
    for snapshot in risky[:TOP]:
        candidate = by_id[snapshot.candidate_id]
        reasons = snapshot.reasons
        lines.append(
            i18n.t(
                lang,
                "digest.high_line",
                name=candidate.name,
                department=candidate.department or "-",
                score=snapshot.score,
                reason=reason_text(i18n, lang, reasons[0])
                if reasons
                else i18n.t(lang, "digest.low_score"),
                action=action_text(i18n, lang, reasons),
            )
        )
    if len(risky) > TOP:
        lines.append(i18n.t(lang, "digest.high_more", count=len(risky) - TOP))
    return "\n".join(lines)


async def _newly_silent(
    session: AsyncSession,
    services: Services,
    lang: str | None,
    candidates: list[Candidate],
    today: dict[int, ScoreSnapshot],
    now: datetime,
) -> str:
    """Candidates the score calls silent today (see bot.scoring.model: messages that asked
    for an answer left unanswered, or a long silence) who were not silent before today.
    ``today``: their latest snapshots."""
    ids = [c.id for c in candidates if c.id is not None]
    if not ids:
        return ""
    midnight = local_midnight(now, services.settings.timezone)
    before = await scores.latest(session=session, candidate_ids=ids, before=midnight)
    names = {c.id: c.name for c in candidates}
    silent = sorted(
        names[cid]
        for cid, snapshot in today.items()
        if cid in names
        and snapshot.at >= midnight
        and _silent(snapshot)
        and (cid not in before or not _silent(before[cid]))
    )
    if not silent:
        return ""
    return services.i18n.t(lang, "digest.silent", count=len(silent), names="、".join(silent))


def _silent(snapshot: ScoreSnapshot) -> bool:
    return any(reason.get("code") == "silent" for reason in snapshot.reasons or ())


async def _documents(
    session: AsyncSession, services: Services, lang: str | None, hr_id: int, now: datetime
) -> str:
    waiting = await digest.documents_waiting(session=session, hr_id=hr_id)
    if not waiting.count or waiting.oldest is None:
        return ""
    i18n = services.i18n
    return i18n.t(
        lang,
        "digest.documents",
        count=waiting.count,
        wait=waited(i18n, lang, waiting.oldest, now),
    )


async def _tickets(
    session: AsyncSession, services: Services, lang: str | None, hr_id: int, now: datetime
) -> tuple[str, tuple[Button, ...]]:
    """Questions past the reply SLA: the count, the oldest few by number, reply buttons.
    This is HR's only reminder of them (one message a day, not one per ticket)."""
    sla = services.settings.ticket_sla_hours
    before = now - timedelta(hours=sla)
    waiting = await digest.tickets_overdue(session=session, hr_id=hr_id, created_before=before)
    if not waiting.count or waiting.oldest is None:
        return "", ()
    i18n = services.i18n
    lines = [
        i18n.t(
            lang,
            "digest.tickets",
            count=waiting.count,
            hours=sla,
            wait=waited(i18n, lang, waiting.oldest, now),
        )
    ]
    buttons = []
    for ticket, name in await digest.overdue_ticket_list(
        session=session, hr_id=hr_id, created_before=before, limit=TICKETS_LISTED
    ):
        lines.append(
            i18n.t(lang, "digest.ticket_line", id=ticket.id, name=name, text=quote(ticket.text, 40))
        )
        buttons.append(Button(i18n.t(lang, "questions.reply_to", id=ticket.id), f"tk:{ticket.id}"))
    return "\n".join(lines), tuple(buttons)


def _approvals(
    services: Services, lang: str | None, candidates: list[Candidate], now: datetime
) -> str:
    pending = [c for c in candidates if c.offer_status == OfferStatus.PENDING_APPROVAL.value]
    if not pending:
        return ""
    i18n = services.i18n
    oldest = min(approval_since(c) for c in pending)
    return i18n.t(
        lang, "digest.approvals", count=len(pending), wait=waited(i18n, lang, oldest, now)
    )


def _no_outcome(
    services: Services, lang: str | None, undecided: Sequence[Candidate], today: date
) -> str:
    """Candidates whose first day passed (within :data:`OUTCOME_ASKED_DAYS`) with no
    outcome recorded: they left every list, so HR is asked to say whether they came."""
    since = today - timedelta(days=OUTCOME_ASKED_DAYS)
    started = sorted(
        (
            c
            for c in undecided
            if c.onboarding_date is not None and since <= c.onboarding_date < today
        ),
        key=lambda c: (c.onboarding_date or today, c.name),
    )
    if not started:
        return ""
    i18n = services.i18n
    names = i18n.t(lang, "digest.name_separator").join(
        i18n.t(lang, "digest.no_outcome_name", name=c.name, day=f"{c.onboarding_date:%m-%d}")
        for c in started[:TOP]
    )
    more = len(started) - TOP
    if more > 0:
        names += i18n.t(lang, "digest.no_outcome_more", count=more)
    return i18n.t(
        lang, "digest.no_outcome", count=len(started), names=names, example=started[0].name
    )
