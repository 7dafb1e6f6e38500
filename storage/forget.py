"""/forget: delete everything stored about one candidate, keeping an anonymous outcome.

Everything runs in the caller's transaction, children before parents (foreign
keys are enforced on both databases). Inbound events carry no candidate id:
they are found by their sender, ``payload["sender"] = [platform, user_id,
chat_id, name]``, through a JSON path that SQLAlchemy renders for each dialect
(``json_extract`` on SQLite, ``#>>`` on PostgreSQL). Files on disk are not
touched here: the caller gets the digests no other document references any more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, false, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.dialogs import DialogKey
from storage.models import (
    BindFailure,
    Candidate,
    CheckIn,
    ContentReceipt,
    CourseResult,
    Dialog,
    Document,
    Identity,
    InboundEvent,
    Interaction,
    Invite,
    LinkToken,
    Outbox,
    Outcome,
    Question,
    ScoreSnapshot,
    SurveyResponse,
    Ticket,
    WelcomeMessage,
)

FORGOTTEN = "forgotten"
INDICATORS = ("interaction", "training", "feedback", "completeness", "external")


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    mime_type: str


@dataclass
class ForgetReport:
    """Rows deleted per table, and the files no remaining document uses."""

    counts: dict[str, int] = field(default_factory=dict)
    orphan_files: list[StoredFile] = field(default_factory=list)

    def summary(self) -> str:
        """``table=n`` for every table that had rows (no personal data: safe for the audit)."""
        return " ".join(f"{table}={n}" for table, n in self.counts.items() if n)


@dataclass(frozen=True, slots=True)
class _Who:
    candidate_id: int
    identity_ids: list[int]
    accounts: list[tuple[str, str]]  # (platform, user_id)

    @property
    def persons(self) -> list[str]:
        return [
            DialogKey(candidate_id=self.candidate_id).person,
            *(DialogKey(identity_id=i).person for i in self.identity_ids),
        ]


async def _who(session: AsyncSession, candidate_id: int) -> _Who:
    identities = (
        await session.exec(select(Identity).where(Identity.candidate_id == candidate_id))
    ).all()
    return _Who(
        candidate_id,
        [i.id for i in identities if i.id is not None],
        [(i.platform, i.user_id) for i in identities],
    )


def _in(column: Any, values: Sequence[Any]) -> Any:
    return col(column).in_(values) if values else false()


def _sender_is(accounts: Sequence[tuple[str, str]]) -> Any:
    sender = col(InboundEvent.payload)[("sender", 1)].as_string()
    return or_(
        false(),
        *(
            and_(col(InboundEvent.platform) == platform, sender == user_id)
            for platform, user_id in accounts
        ),
    )


def _bind_failures_of(accounts: Sequence[tuple[str, str]]) -> Any:
    return or_(
        false(),
        *(
            and_(col(BindFailure.platform) == platform, col(BindFailure.user_id) == user_id)
            for platform, user_id in accounts
        ),
    )


def _targets(who: _Who) -> list[tuple[str, type[Any], Any]]:
    """(name, table, rows of this candidate), in a safe deletion order."""
    cid = who.candidate_id
    ids = who.identity_ids
    outbox_rows = or_(col(Outbox.candidate_id) == cid, _in(Outbox.identity_id, ids))
    return [
        ("content_receipts", ContentReceipt, col(ContentReceipt.candidate_id) == cid),
        ("outbox", Outbox, outbox_rows),
        ("tickets", Ticket, col(Ticket.candidate_id) == cid),
        ("questions", Question, col(Question.candidate_id) == cid),
        (
            "interactions",
            Interaction,
            or_(col(Interaction.candidate_id) == cid, _in(Interaction.identity_id, ids)),
        ),
        ("invites", Invite, col(Invite.candidate_id) == cid),
        ("link_tokens", LinkToken, col(LinkToken.candidate_id) == cid),
        ("score_snapshots", ScoreSnapshot, col(ScoreSnapshot.candidate_id) == cid),
        ("course_results", CourseResult, col(CourseResult.candidate_id) == cid),
        ("survey_responses", SurveyResponse, col(SurveyResponse.candidate_id) == cid),
        ("checkins", CheckIn, col(CheckIn.candidate_id) == cid),
        ("documents", Document, col(Document.candidate_id) == cid),
        ("dialogs", Dialog, _in(Dialog.person, who.persons)),
        ("inbound_events", InboundEvent, _sender_is(who.accounts)),
        ("bind_failures", BindFailure, _bind_failures_of(who.accounts)),
        ("identities", Identity, col(Identity.candidate_id) == cid),
        ("candidates", Candidate, col(Candidate.id) == cid),
    ]


async def preview(*, session: AsyncSession, candidate_id: int) -> dict[str, int]:
    """How many rows /forget would delete from each table."""
    who = await _who(session, candidate_id)
    counts: dict[str, int] = {}
    for name, table, where in _targets(who):
        total = (await session.exec(select(func.count()).select_from(table).where(where))).one()
        counts[name] = int(total)
    return counts


async def forget_candidate(
    *, session: AsyncSession, candidate: Candidate, recorded_by: int | None, now: datetime
) -> ForgetReport:
    """Delete the candidate and every row about them; keep (or create) an anonymous outcome."""
    assert candidate.id is not None
    cid = candidate.id
    who = await _who(session, cid)
    report = ForgetReport()
    await _keep_outcome(session, candidate, recorded_by, now)
    documents = (await session.exec(select(Document).where(Document.candidate_id == cid))).all()
    files = {StoredFile(d.sha256, d.mime_type) for d in documents}
    # Someone else's invite redeemed from one of these accounts keeps its row, not the link.
    await session.exec(
        update(Invite)
        .where(_in(Invite.used_by_identity_id, who.identity_ids), col(Invite.candidate_id) != cid)
        .values(used_by_identity_id=None)
    )
    await session.flush()
    for name, table, where in _targets(who):
        result = await session.exec(delete(table).where(where))
        report.counts[name] = int(result.rowcount or 0)
    for stored in sorted(files, key=lambda f: f.sha256):
        others = await session.exec(
            select(func.count()).select_from(Document).where(Document.sha256 == stored.sha256)
        )
        welcomes = await session.exec(
            select(func.count())
            .select_from(WelcomeMessage)
            .where(col(WelcomeMessage.file_path).like(f"%{stored.sha256}%"))
        )
        if int(others.one()) == 0 and int(welcomes.one()) == 0:
            report.orphan_files.append(stored)
    return report


async def _keep_outcome(
    session: AsyncSession, candidate: Candidate, recorded_by: int | None, now: datetime
) -> None:
    """Detach the recorded outcome from the candidate, or record "forgotten" with the score."""
    existing = (
        await session.exec(select(Outcome).where(Outcome.candidate_id == candidate.id))
    ).first()
    if existing is not None:
        existing.candidate_id = None
        session.add(existing)
        await session.flush()
        return
    last = (
        await session.exec(
            select(ScoreSnapshot)
            .where(ScoreSnapshot.candidate_id == candidate.id)
            .order_by(col(ScoreSnapshot.at).desc(), col(ScoreSnapshot.id).desc())
            .limit(1)
        )
    ).first()
    session.add(
        Outcome(
            candidate_id=None,
            outcome=FORGOTTEN,
            department=candidate.department,
            recorded_by=recorded_by,
            score=last.score if last else None,
            features={k: getattr(last, k) for k in INDICATORS} if last else {},
            at=now,
        )
    )
    await session.flush()
