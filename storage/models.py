"""Table models. Later features add their tables here and a migration beside them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Role(StrEnum):
    CANDIDATE = "candidate"
    HR = "hr"
    MANAGER = "manager"
    ADMIN = "admin"


class OfferStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DELAYED = "delayed"
    DECLINED = "declined"


class Staff(SQLModel, table=True):
    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=100)
    role: str = Field(max_length=16)
    department: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = _ts(nullable=False)


class Candidate(SQLModel, table=True):
    __tablename__ = "candidates"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=100)
    phone: str | None = Field(default=None, max_length=32, unique=True)
    email: str | None = Field(default=None, max_length=254, unique=True)
    school: str | None = Field(default=None, max_length=100)
    major: str | None = Field(default=None, max_length=100)
    degree: str | None = Field(default=None, max_length=32)
    position: str | None = Field(default=None, max_length=100)
    department: str | None = Field(default=None, max_length=100, index=True)
    hr_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    manager_id: int | None = Field(default=None, foreign_key="staff.id")
    offer_date: date | None = None
    onboarding_date: date | None = None
    training_date: date | None = None
    doc_deadline: date | None = None
    hometown: str | None = Field(default=None, max_length=100)
    work_city: str | None = Field(default=None, max_length=100)
    birthday: date | None = None
    motivation: str | None = Field(default=None, max_length=500)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)
    offer_status: str = Field(default=OfferStatus.OFFERED.value, max_length=24)
    offer_replied_at: datetime | None = _ts()
    offer_delay_until: date | None = None
    offer_decline_reason: str | None = Field(default=None, max_length=32)
    offer_decline_note: str | None = Field(default=None, max_length=500)
    bound_at: datetime | None = _ts()
    # Pushes: /mute stops non-transactional content until /unmute.
    muted_at: datetime | None = _ts()
    # Offer approval: when the offer went to the manager for approval.
    approval_requested_at: datetime | None = _ts()
    # /forget: when the candidate asked for their data to be deleted (an admin carries it out).
    forget_requested_at: datetime | None = _ts()
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class Identity(SQLModel, table=True):
    """A chat account on one platform, bound to a candidate or a staff member, or not yet."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=128)
    chat_id: str = Field(max_length=128)
    display_name: str | None = Field(default=None, max_length=100)
    candidate_id: int | None = Field(default=None, foreign_key="candidates.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    language: str | None = Field(default=None, max_length=8)
    unreachable: bool = False
    created_at: datetime = _ts(nullable=False)
    last_seen_at: datetime | None = _ts()


class Invite(SQLModel, table=True):
    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)
    used_at: datetime | None = _ts()
    used_by_identity_id: int | None = Field(default=None, foreign_key="identities.id")


class BindFailure(SQLModel, table=True):
    """A wrong invite code, counted for the lockout and for bursts across accounts."""

    __tablename__ = "bind_failures"
    __table_args__ = (
        Index("ix_bind_failures_who", "platform", "user_id", "at"),
        Index("ix_bind_failures_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=128)
    code: str = Field(max_length=64)
    at: datetime = _ts(nullable=False)


class InboundEvent(SQLModel, table=True):
    """The inbox: every platform delivery, stored before it is acknowledged.

    The unique key makes a redelivery a no-op; ``processed_at`` stays empty
    until the message's effects are committed, so a process that dies after
    acknowledging leaves the event for another to process.
    """

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        Index("ix_inbound_events_unprocessed", "processed_at", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    event_id: str = Field(max_length=128)
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    received_at: datetime = _ts(nullable=False)
    processed_at: datetime | None = _ts()
    error: str | None = Field(default=None, max_length=500)
    # Failed tries of a delivery whose failure could not even be recorded (e.g. the
    # database refused); recovery waits until ``retry_at``, and gives up after a few.
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    retry_at: datetime | None = _ts()


class Interaction(SQLModel, table=True):
    """Every inbound message, button tap and link click, for the stability score."""

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_candidate_at", "candidate_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    identity_id: int | None = Field(default=None, foreign_key="identities.id")
    candidate_id: int | None = Field(default=None, foreign_key="candidates.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    kind: str = Field(max_length=16)
    detail: str = Field(default="", max_length=500)
    at: datetime = _ts(nullable=False)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"  # scheduled content whose time passed before it could be sent


class OutboxCategory(StrEnum):
    """What kind of message a row is, for caps and quiet hours (None: a reply or notice)."""

    PUSH = "push"  # scheduled content: capped per week, muted by /mute, quiet hours
    REMINDER = "reminder"  # transactional scheduled reminder: one a day, quiet hours
    BROADCAST = "broadcast"  # HR's /broadcast: no cap, quiet hours
    ALERT = "alert"  # digests and alerts to staff


class Outbox(SQLModel, table=True):
    """A message to deliver; written in the same transaction as the state that caused it.

    A reply names the ``identity_id`` it answers; a notification names a
    candidate or staff member and goes to the platform they used last.
    Scheduled content sets ``category`` (see :class:`OutboxCategory`) and may
    expire: a row still unsent after ``expires_at`` is dropped, not sent late.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "due_at"),
        Index("ix_outbox_candidate_category", "candidate_id", "category", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    identity_id: int | None = Field(default=None, foreign_key="identities.id")
    candidate_id: int | None = Field(default=None, foreign_key="candidates.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    status: str = Field(default=OutboxStatus.PENDING.value, max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    due_at: datetime = _ts(nullable=False)
    lease_until: datetime | None = _ts()
    created_at: datetime = _ts(nullable=False)
    sent_at: datetime | None = _ts()
    category: str | None = Field(default=None, max_length=16)
    expires_at: datetime | None = _ts()


class DocumentStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class Document(SQLModel, table=True):
    """The latest file a candidate submitted for one checklist item."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("candidate_id", "item"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    item: str = Field(max_length=32)
    status: str = Field(max_length=16)
    sha256: str = Field(max_length=64)
    file_name: str | None = Field(default=None, max_length=200)
    mime_type: str = Field(max_length=64)
    size: int
    submitted_at: datetime = _ts(nullable=False)
    reviewed_at: datetime | None = _ts()
    reviewer_id: int | None = Field(default=None, foreign_key="staff.id")
    reject_reason: str | None = Field(default=None, max_length=500)


class CourseResult(SQLModel, table=True):
    """A candidate's best attempt at one pre-training course."""

    __tablename__ = "course_results"
    __table_args__ = (UniqueConstraint("candidate_id", "course_id"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    course_id: str = Field(max_length=32)
    score: int = 0
    total: int = 0
    passed: bool = False
    points_awarded: int = 0
    attempts: int = 0
    started_at: datetime | None = _ts()
    completed_at: datetime | None = _ts()


class CacheEntry(SQLModel, table=True):
    """Small shared values with an expiry (platform access tokens), visible to every process."""

    __tablename__ = "cache"

    key: str = Field(primary_key=True, max_length=200)
    value: str = Field(max_length=4000)
    expires_at: datetime = _ts(nullable=False)


class DialogStatus(StrEnum):
    ACTIVE = "active"
    PARKED = "parked"
    DONE = "done"


class Dialog(SQLModel, table=True):
    """One person's conversation in one flow: its state, collected data and version.

    ``person`` is ``c:<candidate id>``, ``s:<staff id>`` or ``i:<identity id>``.
    The version grows with every step, so a stale button or a concurrent
    message cannot advance the same step twice.
    """

    __tablename__ = "dialogs"
    __table_args__ = (
        UniqueConstraint("person", "flow"),
        Index("ix_dialogs_person_status", "person", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person: str = Field(max_length=32)
    flow: str = Field(max_length=32)
    state: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 0
    status: str = Field(default=DialogStatus.ACTIVE.value, max_length=16)
    started_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class SurveyResponse(SQLModel, table=True):
    """One answered satisfaction survey."""

    __tablename__ = "survey_responses"

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    ratings: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    looking_forward: str | None = Field(default=None, max_length=1000)
    open_questions: str | None = Field(default=None, max_length=1000)
    other_offers: str | None = Field(default=None, max_length=16)
    created_at: datetime = _ts(nullable=False)


class CheckIn(SQLModel, table=True):
    """A candidate's answer to the weekly check-in (one per local week, the last wins)."""

    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("candidate_id", "week", name="uq_checkins_week"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    week: date  # the Monday of the local week
    answer: str = Field(max_length=16)  # fine, worried, question
    at: datetime = _ts(nullable=False)


class Question(SQLModel, table=True):
    """A free-text question from a candidate and what the FAQ made of it."""

    __tablename__ = "questions"

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    text: str = Field(max_length=1000)
    faq_id: str | None = Field(default=None, max_length=32)
    score: float | None = None
    helpful: bool | None = None
    created_at: datetime = _ts(nullable=False)


class TicketStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class Ticket(SQLModel, table=True):
    """A question for the candidate's HR that the FAQ could not answer."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    hr_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    question_id: int | None = Field(default=None, foreign_key="questions.id")
    text: str = Field(max_length=1000)
    status: str = Field(default=TicketStatus.OPEN.value, max_length=16)
    answer: str | None = Field(default=None, max_length=2000)
    answered_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = _ts(nullable=False)
    answered_at: datetime | None = _ts()
    escalated_at: datetime | None = _ts()


class ContentReceipt(SQLModel, table=True):
    """A content item planned for a candidate: the unique pair means never the same item twice."""

    __tablename__ = "content_receipts"
    __table_args__ = (UniqueConstraint("candidate_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    item_id: str = Field(max_length=64)
    slot: str = Field(max_length=64)
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id")
    at: datetime = _ts(nullable=False)


class LinkToken(SQLModel, table=True):
    """A tracked link in a push: ``GET /r/{token}`` records a click and redirects to ``url``."""

    __tablename__ = "link_tokens"

    token: str = Field(primary_key=True, max_length=32)
    candidate_id: int | None = Field(default=None, foreign_key="candidates.id", index=True)
    item_id: str | None = Field(default=None, max_length=64)
    url: str = Field(max_length=2000)
    created_at: datetime = _ts(nullable=False)
    clicks: int = 0


class WelcomeMessage(SQLModel, table=True):
    """A manager's recorded welcome, delivered to their department's candidates on day 3."""

    __tablename__ = "welcome_messages"

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(max_length=100, unique=True)
    staff_id: int = Field(foreign_key="staff.id")
    kind: str = Field(max_length=16)  # text, photo, voice, video
    text: str | None = Field(default=None, max_length=2000)
    file_path: str | None = Field(default=None, max_length=500)
    file_name: str | None = Field(default=None, max_length=200)
    mime_type: str | None = Field(default=None, max_length=64)
    version: int = 1
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class Broadcast(SQLModel, table=True):
    """An HR broadcast: the text, the audience it was sent to and how many received it."""

    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    text: str = Field(max_length=2000)
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recipients: int = 0
    created_at: datetime = _ts(nullable=False)


class ScoreSnapshot(SQLModel, table=True):
    """One computation of a candidate's stability score, kept as history."""

    __tablename__ = "score_snapshots"
    __table_args__ = (Index("ix_score_snapshots_candidate_at", "candidate_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id")
    at: datetime = _ts(nullable=False)
    score: int
    band: str = Field(max_length=8)  # high, medium, low (risk)
    interaction: int
    training: int
    feedback: int
    completeness: int
    external: int
    # Reason codes with their values, most important first, e.g. [{"code": "silent", "days": 4}].
    reasons: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class Outcome(SQLModel, table=True):
    """Whether a candidate joined or reneged; kept, anonymous, after /forget."""

    __tablename__ = "outcomes"

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int | None = Field(default=None, foreign_key="candidates.id", unique=True)
    outcome: str = Field(max_length=16)  # joined, reneged
    reason: str | None = Field(default=None, max_length=500)
    department: str | None = Field(default=None, max_length=100)
    recorded_by: int | None = Field(default=None, foreign_key="staff.id")
    score: int | None = None
    # The five indicators when the outcome was recorded, for calibration.
    features: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = _ts(nullable=False)


class AuditEntry(SQLModel, table=True):
    """A staff member viewed or exported candidate data (kept after /forget: no foreign key)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int | None = None
    actor: str = Field(max_length=100)
    action: str = Field(max_length=32)
    candidate_id: int | None = None
    detail: str = Field(default="", max_length=500)
    at: datetime = _ts(nullable=False)
