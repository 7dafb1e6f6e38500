"""What a handler sees: the person, their message, one database transaction, and replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock
from bot.core.deferred import Deferred
from bot.core.i18n import I18n
from bot.core.messages import Attachment, Button, Incoming, Link, Outgoing, OutgoingFile
from bot.core.settings import Settings
from bot.core.zones import person_zone
from storage import people
from storage.models import Candidate, Identity, Role, Staff

if TYPE_CHECKING:
    from content import ContentPack, FaqMatch


class FlowStarter(Protocol):
    """The dialog engine, as the core's handlers see it."""

    async def start(self, ctx: Context, name: str, data: dict[str, Any] | None = None) -> None: ...

    async def close_for(self, ctx: Context, candidate_id: int, name: str) -> bool:
        """End a candidate's open dialog in flow ``name`` (e.g. from a staff member's
        action); True when one was open."""
        ...


@dataclass(frozen=True, slots=True)
class HelpEntry:
    """One line of /help and of a platform's command menu."""

    name: str
    aliases: tuple[str, ...]
    help_key: str


class CommandIndex(Protocol):
    """The bot's commands as handlers see them (the router implements it)."""

    def help_for(self, role: Role | None) -> list[HelpEntry]:
        """The commands ``role`` is shown, in registration order."""
        ...

    async def run(self, ctx: Context, name: str, args: str = "") -> None:
        """Run the command ``name`` as if the person had typed it."""
        ...


class FaqLookup(Protocol):
    """The FAQ matcher: the best confident entry for a question, or None."""

    def match(self, text: str) -> FaqMatch | None: ...


class Downloader(Protocol):
    """Fetches the bytes of a file a user sent, through their platform's adapter."""

    async def download(self, platform: str, attachment: Attachment) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Services:
    """The long-lived collaborators every handler may use; built once by the app."""

    settings: Settings
    clock: Clock
    i18n: I18n
    content: ContentPack
    commands: CommandIndex
    flows: FlowStarter
    files: Downloader
    faq: FaqLookup
    # Batch work after a message's commit (re-scoring): see bot.core.deferred.
    deferred: Deferred = field(default_factory=Deferred)


@dataclass(slots=True)
class Actor:
    """The person behind a chat identity, with their role (None while unbound)."""

    identity: Identity
    role: Role | None
    candidate: Candidate | None
    staff: Staff | None
    language: str

    @property
    def name(self) -> str:
        if self.candidate is not None:
            return self.candidate.name
        if self.staff is not None:
            return self.staff.name
        return self.identity.display_name or self.identity.user_id


async def resolve_actor(*, session: AsyncSession, identity: Identity, settings: Settings) -> Actor:
    candidate = staff = None
    role: Role | None = None
    if identity.staff_id is not None:
        staff = await people.get_staff(session=session, staff_id=identity.staff_id)
        role = Role(staff.role) if staff is not None else None
    elif identity.candidate_id is not None:
        candidate = await people.get_candidate(session=session, candidate_id=identity.candidate_id)
        role = Role.CANDIDATE if candidate is not None else None
    if settings.is_admin(identity.platform, identity.user_id):
        role = Role.ADMIN
    record_language = (candidate.language if candidate else None) or (
        staff.language if staff else None
    )
    language = record_language or identity.language or settings.default_language
    return Actor(identity, role, candidate, staff, language)


@dataclass(slots=True)
class Notice:
    """A message to someone other than the sender, rendered in their language."""

    message: Outgoing
    candidate_id: int | None = None
    staff_id: int | None = None
    dedupe_key: str | None = None  # a notice with a key already queued is not queued again


@dataclass
class Context:
    """One inbound message being handled inside one transaction."""

    session: AsyncSession
    services: Services
    actor: Actor
    message: Incoming
    now: datetime
    replies: list[Outgoing] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    # Outbox rows a handler wrote itself that are due now: sent right after the commit.
    outbox_ids: list[int] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def tz(self) -> ZoneInfo:
        return person_zone(self.actor.candidate, self.settings.default_timezone)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def t(self, key: str, /, **values: object) -> str:
        return self.services.i18n.t(self.actor.language, key, **values)

    async def download(self, attachment: Attachment) -> bytes:
        """The bytes of a file in the current message, from the sender's platform."""
        return await self.services.files.download(self.message.sender.platform, attachment)

    def reply(
        self,
        text: str,
        *,
        buttons: tuple[Button, ...] | list[Button] = (),
        links: tuple[Link, ...] | list[Link] = (),
        files: tuple[OutgoingFile, ...] | list[OutgoingFile] = (),
    ) -> None:
        self.replies.append(Outgoing(text, tuple(buttons), tuple(links), tuple(files)))

    def notify_staff(
        self,
        staff: Staff,
        key: str,
        /,
        buttons: tuple[Button, ...] = (),
        dedupe_key: str | None = None,
        **values: object,
    ) -> None:
        """Tell a staff member something, in their language (once per ``dedupe_key``)."""
        text = self.services.i18n.t(staff.language, key, **values)
        self.notices.append(
            Notice(Outgoing(text, buttons), staff_id=staff.id, dedupe_key=dedupe_key)
        )

    def notify_staff_text(
        self,
        staff: Staff,
        text: str,
        buttons: tuple[Button, ...] = (),
        files: tuple[OutgoingFile, ...] = (),
    ) -> None:
        self.notices.append(Notice(Outgoing(text, buttons, (), files), staff_id=staff.id))

    def staff_t(self, staff: Staff, key: str, /, **values: object) -> str:
        """A catalog text in a staff member's language."""
        return self.services.i18n.t(staff.language, key, **values)

    def notify_candidate(
        self, candidate: Candidate, key: str, /, buttons: tuple[Button, ...] = (), **values: object
    ) -> None:
        text = self.services.i18n.t(candidate.language, key, **values)
        self.notices.append(Notice(Outgoing(text, buttons), candidate_id=candidate.id))
