"""What a scheduled push says: the rendering of pushes into messages.

The planner (bot/pushes/planner.py) decides which items a candidate gets and when; this
module turns its choice into an :class:`~bot.core.messages.Outgoing`, with the template
variables of bot/pushes/variables.py. :class:`PushComposer` renders, for one candidate,
a single item (title, body, tracked links, the item's image, an ``action`` button), a
digest of several items (in a frame item's layout or the catalog's), or a manager's
recorded welcome.

Every link becomes a tracked ``PUBLIC_BASE_URL/r/<token>`` (storage.links). The rules are
described in docs/pushes.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path, PurePath
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.context import Services
from bot.core.messages import AttachmentKind, Button, Link, Outgoing, OutgoingFile
from bot.pushes.variables import Readiness, template_variables
from content import CONTENT_DIR
from content.calendar import china_holiday
from content.models import ContentItem, JourneySlot
from content.render import TemplateProblem, render, render_item
from storage import links
from storage.checkins import ANSWERS as CHECKIN_ANSWERS
from storage.models import Candidate, WelcomeMessage

log = logging.getLogger(__name__)

# The receipt id of a manager's welcome message (one per candidate, whichever version). The
# colon keeps it apart from library ids ([a-z0-9_]; the library has an item "welcome").
MANAGER_WELCOME_ITEM = "manager:welcome"
# Where relative item images are (``image: library/img/team.png``): the content directory
# the app loads (content.load_content's default).
CONTENT_ROOT: Path = CONTENT_DIR


def is_digest(slot: JourneySlot) -> bool:
    """Weekly slots (unless ``single``) and slots with a ``digest`` item send several
    items in one message."""
    return (slot.anchor == "weekly" and not slot.single) or slot.digest is not None


@dataclass(frozen=True, slots=True)
class Composed:
    """A rendered push: the message, the item ids it carries (receipts) and when it expires."""

    message: Outgoing
    item_ids: list[str]
    expires: datetime


def _end_of_day(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)


@dataclass(slots=True)
class PushComposer:
    """Renders the pushes of one candidate into messages with tracked links.

    ``variables`` come from :func:`template_variables`; ``names`` are staff names by id
    (a manager's welcome names its author). Relative item images are looked up under
    ``content_root``.
    """

    session: AsyncSession
    services: Services
    candidate_id: int
    lang: str
    tz: ZoneInfo
    now: datetime
    variables: dict[str, object]
    names: Mapping[int, str]
    content_root: Path = field(default_factory=lambda: CONTENT_ROOT)

    @classmethod
    def of(
        cls,
        session: AsyncSession,
        services: Services,
        candidate: Candidate,
        *,
        lang: str,
        tz: ZoneInfo,
        now: datetime,
        readiness: Readiness,
        names: Mapping[int, str],
    ) -> PushComposer:
        """A composer for ``candidate`` in ``lang``, with their variables; ``names`` holds
        the staff names pushes use (their manager, their HR, the author of a welcome)."""
        assert candidate.id is not None
        variables = template_variables(
            candidate,
            company=services.i18n.t(lang, "push.company"),
            today=now.astimezone(tz).date(),
            readiness=readiness,
            names=names,
        )
        return cls(session, services, candidate.id, lang, tz, now, variables, names)

    def t(self, key: str, /, **values: object) -> str:
        return self.services.i18n.t(self.lang, key, **values)

    async def compose(
        self,
        slot: JourneySlot,
        day: date,
        expires: datetime,
        *,
        items: Sequence[ContentItem] = (),
        frame: ContentItem | None = None,
        welcome: WelcomeMessage | None = None,
    ) -> Composed | None:
        """The push of ``slot`` on ``day``: the manager's ``welcome`` if given, else the
        first of ``items`` that renders (a digest: all that render, in ``frame``'s layout).

        ``expires`` is the latest expiry; an item's ``expires`` day may make it earlier.
        None if nothing renders.
        """
        if welcome is not None:
            return Composed(self._welcome(welcome), [MANAGER_WELCOME_ITEM], expires)
        variables = dict(self.variables)
        if slot.anchor == "holiday" and slot.holiday:
            found = china_holiday(slot.holiday, day.year)
            variables["holiday"] = (
                (found.name_zh if self.lang == "zh" else found.name) if found else ""
            )
        if is_digest(slot):
            return await self._digest(items, frame, variables, expires)
        for item in items:
            try:
                title, body = render_item(item, self.lang, variables)
                item_links = await self._links(item, variables)
            except TemplateProblem:
                log.exception(
                    "item %s does not render for candidate %s", item.id, self.candidate_id
                )
                continue
            buttons: tuple[Button, ...] = ()
            if item.action == "checkin":
                buttons = tuple(
                    Button(self.t(f"checkin.answer.{answer}"), f"ci:{answer}")
                    for answer in CHECKIN_ANSWERS
                )
            elif item.action is not None:
                label = self.t(f"push.action.{item.action}")
                buttons = (Button(label, f"pa:{item.action}"),)
            files, image_links = await self._image(item)
            message = Outgoing(
                f"**{title}**\n\n{body}", buttons, tuple(item_links + image_links), files
            )
            return Composed(message, [item.id], self._expiry(expires, [item]))
        return None

    def _expiry(self, expires: datetime, items: Sequence[ContentItem]) -> datetime:
        for item in items:
            if item.expires is not None:
                expires = min(expires, _end_of_day(item.expires, self.tz))
        return expires

    async def _tracked(self, item: ContentItem, url: str) -> str:
        token = await links.create_token(
            session=self.session,
            candidate_id=self.candidate_id,
            item_id=item.id,
            url=url,
            now=self.now,
        )
        return f"{self.services.settings.public_base_url.rstrip('/')}/r/{token}"

    async def _links(self, item: ContentItem, variables: Mapping[str, object]) -> list[Link]:
        """The item's links (labels are templates too), each through a tracked token."""
        return [
            Link(render(link.label.get(self.lang), variables), await self._tracked(item, link.url))
            for link in item.links
        ]

    async def _image(self, item: ContentItem) -> tuple[tuple[OutgoingFile, ...], list[Link]]:
        """The item's image: a local file goes as a photo, a URL as a tracked link."""
        if item.image is None:
            return (), []
        if item.image.startswith(("https://", "http://")):
            return (), [Link(self.t("push.image"), await self._tracked(item, item.image))]
        path = (self.content_root / item.image).resolve()
        if not path.is_file():  # checked at start-up; gone since: send the text alone
            log.warning("image %s of item %s not found; sent without it", path, item.id)
            return (), []
        return (OutgoingFile(AttachmentKind.PHOTO, path.name, path=str(path)),), []

    async def _digest(
        self,
        items: Sequence[ContentItem],
        frame: ContentItem | None,
        variables: dict[str, object],
        expires: datetime,
    ) -> Composed | None:
        """Up to three news items in one message: in the frame item's layout, else the catalog's.

        News items' images are not sent (one message, several items).
        """
        news: list[dict[str, str]] = []
        used: list[ContentItem] = []
        for item in items:
            try:
                title, summary = render_item(item, self.lang, variables)
            except TemplateProblem:
                log.exception(
                    "item %s does not render for candidate %s", item.id, self.candidate_id
                )
                continue
            url = await self._tracked(item, item.links[0].url) if item.links else ""
            news.append({"title": title, "summary": summary, "url": url})
            used.append(item)
        if not used:
            return None
        message: Outgoing | None = None
        if frame is not None:
            try:
                title, body = render_item(frame, self.lang, {**variables, "news": news})
                message = Outgoing(f"**{title}**\n\n{body}")
            except TemplateProblem:
                log.exception("digest frame %s does not render", frame.id)
        if message is None:
            parts = [f"**{self.t('push.news.header')}**"]
            parts += [f"**{n['title']}**\n{n['summary']}" for n in news]
            message = Outgoing(
                "\n\n".join(parts),
                links=tuple(Link(n["title"], n["url"]) for n in news if n["url"]),
            )
        return Composed(message, [item.id for item in used], self._expiry(expires, used))

    def _welcome(self, welcome: WelcomeMessage) -> Outgoing:
        """A manager's own welcome: their words and their recording, under a short header."""
        manager = self.names.get(welcome.staff_id, "")
        key = "push.welcome.header_text" if welcome.kind == "text" else "push.welcome.header_media"
        text = self.t(key, manager=manager, department=welcome.department)
        if welcome.text:
            text = f"{text}\n\n{welcome.text}"
        files: tuple[OutgoingFile, ...] = ()
        if welcome.file_path and welcome.kind != "text":
            try:
                kind = AttachmentKind(welcome.kind)
            except ValueError:
                kind = AttachmentKind.FILE
            name = welcome.file_name or PurePath(welcome.file_path).name
            files = (OutgoingFile(kind, name, path=welcome.file_path),)
        return Outgoing(text, files=files)
