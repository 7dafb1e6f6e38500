"""What a scheduled push says: template variables and the rendering of pushes into messages.

The planner (bot/pushes/planner.py) decides which items a candidate gets and when; this
module turns its choice into an :class:`~bot.core.messages.Outgoing`:

- :func:`template_variables` fills the names that ``content.render.SAMPLE_VARIABLES``
  lists, from the candidate's record, staff names and :class:`Readiness`
  (:func:`load_readiness` reads missing documents, unfinished courses, progress and points);
  /resources uses the same names for its titles.
- :class:`PushComposer` renders, for one candidate, a single item (title, body, tracked
  links, the item's image, an ``action`` button), a digest of several items (in a frame
  item's layout or the catalog's), or a manager's recorded welcome.

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
from bot.people.progress import Progress
from content import CONTENT_DIR, ContentPack
from content.audience import Profile
from content.calendar import china_holiday
from content.models import ContentItem, JourneySlot
from content.render import TemplateProblem, render, render_item
from storage import courses, documents, links, pushes
from storage.models import Candidate, DocumentStatus, OfferStatus, WelcomeMessage

log = logging.getLogger(__name__)

# The receipt id of a manager's welcome message (one per candidate, whichever version). The
# colon keeps it apart from library ids ([a-z0-9_]; the library has an item "welcome").
MANAGER_WELCOME_ITEM = "manager:welcome"
# Where relative item images are (``image: library/img/team.png``): the content directory
# the app loads (content.load_content's default).
CONTENT_ROOT: Path = CONTENT_DIR


# ---- shared with the planner ----------------------------------------------------------------


def profile_of(candidate: Candidate) -> Profile:
    """What audience filters (and ``out_of_town``) look at, from the candidate's record."""
    return Profile(
        major=candidate.major,
        position=candidate.position,
        department=candidate.department,
        degree=candidate.degree,
        motivation=candidate.motivation,
        tags=tuple(candidate.tags or ()),
        hometown=candidate.hometown,
        work_city=candidate.work_city,
    )


def is_digest(slot: JourneySlot) -> bool:
    """Weekly slots and slots with a ``digest`` item send several items in one message."""
    return slot.anchor == "weekly" or slot.digest is not None


# ---- template variables -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Readiness:
    """How far the candidate is: titles in their language, percent done, points earned."""

    missing_documents: list[str]
    unfinished_courses: list[str]
    progress: int
    points: int


async def load_readiness(
    session: AsyncSession, content: ContentPack, candidate: Candidate, lang: str
) -> Readiness:
    """Missing documents and unfinished courses (titles in ``lang``), percent done, points."""
    assert candidate.id is not None
    required = content.checklists.items_for(candidate.department, candidate.position)
    docs = {
        d.item: d.status
        for d in await documents.documents_of(session=session, candidate_id=candidate.id)
    }
    rejected = DocumentStatus.REJECTED.value
    submitted = [i for i in required if docs.get(i.id, rejected) != rejected]
    approved = [i for i in required if docs.get(i.id) == DocumentStatus.APPROVED.value]
    results = {
        r.course_id: r
        for r in await courses.course_results_of(session=session, candidate_id=candidate.id)
    }
    passed = [c for c in content.courses if c.id in results and results[c.id].passed]
    progress = Progress(
        offer_confirmed=candidate.offer_status == OfferStatus.ACCEPTED.value,
        documents_required=len(required),
        documents_submitted=len(submitted),
        documents_approved=len(approved),
        courses_total=len(content.courses),
        courses_passed=len(passed),
        days_to_training=None,
        days_to_onboarding=None,
    )
    return Readiness(
        missing_documents=[i.title.get(lang) for i in required if i not in submitted],
        unfinished_courses=[c.title.get(lang) for c in content.courses if c not in passed],
        progress=progress.percent,
        points=sum(r.points_awarded for r in results.values()),
    )


def _days(target: date | None, today: date) -> int | None:
    return None if target is None else (target - today).days


def template_variables(
    candidate: Candidate,
    *,
    company: str,
    today: date,
    readiness: Readiness,
    names: Mapping[int, str],
) -> dict[str, object]:
    """The template variables (``content.render.SAMPLE_VARIABLES`` names them all).

    ``company``: the catalog's ``push.company`` in the candidate's language; ``names``:
    staff names by id (the candidate's manager and HR; others are ignored). ``holiday``
    and ``news`` are empty here; the composer fills them for holiday slots and digests.
    """
    return {
        "name": candidate.name,
        "department": candidate.department or "",
        "position": candidate.position or "",
        "major": candidate.major or "",
        "manager": names.get(candidate.manager_id or 0, ""),
        "hr": names.get(candidate.hr_id or 0, ""),
        "company": company,
        "work_city": candidate.work_city or "",
        "hometown": candidate.hometown or "",
        "out_of_town": bool(profile_of(candidate).out_of_town),
        "offer_date": candidate.offer_date,
        "training_date": candidate.training_date,
        "onboarding_date": candidate.onboarding_date,
        "doc_deadline": candidate.doc_deadline,
        "days_to_training": _days(candidate.training_date, today),
        "days_to_onboarding": _days(candidate.onboarding_date, today),
        "days_to_deadline": _days(candidate.doc_deadline, today),
        "missing_documents": readiness.missing_documents,
        "unfinished_courses": readiness.unfinished_courses,
        "progress": readiness.progress,
        "points": readiness.points,
        "holiday": "",
        "news": [],
    }


async def candidate_variables(
    session: AsyncSession,
    content: ContentPack,
    candidate: Candidate,
    *,
    lang: str,
    today: date,
    company: str,
) -> dict[str, object]:
    """:func:`template_variables` with readiness and staff names read from the database."""
    staff_ids = [i for i in (candidate.manager_id, candidate.hr_id) if i is not None]
    names = await pushes.staff_names(session=session, staff_ids=staff_ids)
    return template_variables(
        candidate,
        company=company,
        today=today,
        readiness=await load_readiness(session, content, candidate, lang),
        names=names,
    )


# ---- messages ---------------------------------------------------------------------------------


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
    async def for_candidate(
        cls,
        session: AsyncSession,
        services: Services,
        candidate: Candidate,
        *,
        lang: str,
        tz: ZoneInfo,
        now: datetime,
        readiness: Readiness,
        welcome: WelcomeMessage | None = None,
    ) -> PushComposer:
        """A composer for ``candidate`` in ``lang``, with their variables and the staff names
        pushes use (their manager, their HR and the author of ``welcome``) read."""
        assert candidate.id is not None
        staff_ids = [i for i in (candidate.manager_id, candidate.hr_id) if i is not None]
        if welcome is not None:
            staff_ids.append(welcome.staff_id)
        names = await pushes.staff_names(session=session, staff_ids=staff_ids)
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
            if item.action is not None:
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
