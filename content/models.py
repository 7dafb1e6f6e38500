"""Pydantic models of the content pack (checklists, courses, FAQ, journey, library items).

Every user-visible string is a :class:`Text` holding both languages. The models
check one file's shape; checks that span files (duplicate ids, unknown slots,
templates, image files) are made by :func:`content.loader.load_content`.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from content.calendar import holiday_names, is_holiday_name

LANGS: tuple[str, ...] = ("zh", "en")
OPTION_LETTERS = "ABCD"

Lang = Literal["zh", "en"]
NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,24}$")]
ContentId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """One string in both languages."""

    zh: NonEmptyStr
    en: NonEmptyStr

    def get(self, lang: str | None) -> str:
        """The string in ``lang`` ("en", "en-US", "zh", ...); anything else gets Chinese."""
        if lang and lang.strip().lower()[:2] == "en":
            return self.en
        return self.zh


class ChecklistItem(_Model):
    """One document a candidate submits (a photo or a scan)."""

    id: ItemId
    title: Text
    hint: Text


def _unique_item_ids(items: list[ChecklistItem]) -> list[ChecklistItem]:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.id in seen:
            raise ValueError(f"duplicate id {item.id!r} (items {seen[item.id]} and {index})")
        seen[item.id] = index
    return items


ItemList = Annotated[list[ChecklistItem], AfterValidator(_unique_item_ids)]


class Checklists(_Model):
    """The default checklist plus extras per department and per position."""

    default: Annotated[list[ChecklistItem], Field(min_length=1), AfterValidator(_unique_item_ids)]
    by_department: dict[NonEmptyStr, ItemList] = Field(default_factory=dict)
    by_position: dict[NonEmptyStr, ItemList] = Field(default_factory=dict)

    @field_validator("by_department", "by_position", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return {} if value is None else value

    @field_validator("by_department", "by_position")
    @classmethod
    def _extras_not_in_default(
        cls, value: dict[str, list[ChecklistItem]], info: ValidationInfo
    ) -> dict[str, list[ChecklistItem]]:
        default_ids = {item.id for item in info.data.get("default", [])}
        for name, items in value.items():
            for item in items:
                if item.id in default_ids:
                    raise ValueError(f"{name}: {item.id!r} is already in the default checklist")
        return value

    def items_for(self, department: str | None, position: str | None) -> list[ChecklistItem]:
        """Default items, then the department's extras, then the position's extras.

        Names match exactly (after trimming spaces); an id already listed is skipped.
        """
        items = list(self.default)
        if department:
            items += self.by_department.get(department.strip(), [])
        if position:
            items += self.by_position.get(position.strip(), [])
        seen: set[str] = set()
        merged: list[ChecklistItem] = []
        for item in items:
            if item.id not in seen:
                seen.add(item.id)
                merged.append(item)
        return merged


class Question(_Model):
    """A multiple-choice question; options are shown as A, B, C, D."""

    text: Text
    options: list[Text] = Field(min_length=2, max_length=len(OPTION_LETTERS))
    answer: str
    explanation: Text

    @field_validator("answer", mode="before")
    @classmethod
    def _check_answer(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value  # the str type check reports it
        letter = value.strip().upper()
        options = info.data.get("options")
        if options is None:  # options already failed; don't pile on
            return letter
        letters = OPTION_LETTERS[: len(options)]
        if len(letter) != 1 or letter not in letters:
            raise ValueError(f"{value!r} is not one of the options A-{letters[-1]}")
        return letter

    @property
    def answer_index(self) -> int:
        """0-based index of the correct option."""
        return OPTION_LETTERS.index(self.answer)


class Course(_Model):
    """A short pre-training course: study text and a quiz."""

    id: ContentId
    title: Text
    summary: Text
    material: Text
    link: str | None = None
    points: int = Field(gt=0)
    pass_ratio: float = Field(default=0.8, gt=0, le=1)
    questions: list[Question] = Field(min_length=3, max_length=5)

    @field_validator("link")
    @classmethod
    def _check_link(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value.startswith(("https://", "http://")) or " " in value:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @property
    def passing_score(self) -> int:
        """Correct answers needed to pass: ceil(pass_ratio * number of questions)."""
        return max(1, math.ceil(self.pass_ratio * len(self.questions) - 1e-9))


def _phrasings(value: dict[Lang, list[str]]) -> dict[Lang, list[str]]:
    missing = [lang for lang in LANGS if lang not in value]
    if missing:
        raise ValueError(f"missing language {', '.join(missing)}")
    return value


class FaqEntry(_Model):
    """A question candidates ask, how they phrase it, and the answer."""

    id: ContentId
    questions: Annotated[
        dict[Lang, Annotated[list[NonEmptyStr], Field(min_length=1)]],
        AfterValidator(_phrasings),
    ]
    answer: Text
    keywords: dict[Lang, list[NonEmptyStr]] = Field(default_factory=dict)

    @field_validator("keywords", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return {} if value is None else value


# ---- scheduled content (journey slots and library items) ---------------------------------

Anchor = Literal[
    "offer",
    "training",
    "onboarding",
    "doc_deadline",
    "weekly",
    "birthday",
    "holiday",
    "manager_welcome",
    "decision_day",
]
DATE_ANCHORS: frozenset[str] = frozenset(
    {"offer", "training", "onboarding", "doc_deadline", "manager_welcome", "decision_day"}
)
ItemKind = Literal["article", "video", "guide", "news", "greeting", "reminder", "survey", "checkin"]
ItemAction = Literal["offer", "survey", "documents", "quiz", "resources", "checkin"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
SlotId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]


def _http_url(value: str) -> str:
    value = value.strip()
    if not value.startswith(("https://", "http://")) or " " in value:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


class JourneySlot(_Model):
    """A moment in the journey when the bot may push one item (content/journey.yaml).

    ``anchor`` + ``days``: that many days after (negative: before) the candidate's
    offer (or binding, when later: a late binder starts the journey when they arrive),
    training, onboarding date, document deadline or ``decision_day`` (the date they
    asked to decide the offer by, while it is delayed). ``weekly`` fires on
    ``weekday``; ``birthday`` on the candidate's birthday; ``holiday`` on the
    named holiday of the Chinese calendar (``holiday``: the holidays library's
    English name, e.g. "Mid-Autumn Festival"; its first day, see
    :func:`content.calendar.china_holiday`). ``manager_welcome`` carries the
    department manager's /welcome: ``days`` after the offer, or the day it is
    recorded or the candidate binds, whichever is latest. ``days`` applies to the date
    anchors only. ``at`` is local time. A slot not sendable on time (cap, quiet hours) may wait
    ``max_delay_days``, then lapses. ``transactional`` slots (reminders) are exempt
    from the weekly cap and /mute but limited to one a day. ``when_missing_documents``:
    only for candidates with documents still missing. ``when_accepted``: only once the
    offer is accepted (nothing asks for documents before that). ``when_offer_unanswered``:
    only while the offer waits for a first answer (not after "I need more time"). ``date_bound``: a
    promise kept on its day (a birthday, a holiday, a countdown): not held back by the
    weekly cap, and other pushes make room for it. A weekly slot sends a digest of its
    items unless ``single`` (one item, e.g. the check-in). ``digest``: the id of a
    library item (no trigger) that wraps all of the slot's matching, unsent items into one
    message; its template gets them as ``news``.
    """

    id: SlotId
    anchor: Anchor
    days: int = Field(default=0, ge=-366, le=366)
    weekday: Weekday | None = Field(default=None, validate_default=True)
    holiday: NonEmptyStr | None = Field(default=None, validate_default=True)
    at: ClockTime = "10:00"
    transactional: bool = False
    max_delay_days: int = Field(default=2, ge=0, le=30)
    priority: int = 0
    when_missing_documents: bool = False
    when_accepted: bool = False
    when_offer_unanswered: bool = False
    date_bound: bool = False
    single: bool = False
    prefer_manager_welcome: bool = False
    digest: ContentId | None = None

    @field_validator("days")
    @classmethod
    def _days_need_a_date(cls, value: int, info: ValidationInfo) -> int:
        anchor = info.data.get("anchor")
        if value and anchor is not None and anchor not in DATE_ANCHORS:
            raise ValueError(
                f"days only applies to the anchors {', '.join(sorted(DATE_ANCHORS))}, "
                f"not {anchor!r}"
            )
        return value

    @field_validator("weekday")
    @classmethod
    def _weekday_for_weekly(cls, value: str | None, info: ValidationInfo) -> str | None:
        anchor = info.data.get("anchor")
        if anchor == "weekly" and value is None:
            raise ValueError("anchor weekly needs a weekday (mon, tue, ... sun)")
        if anchor is not None and anchor != "weekly" and value is not None:
            raise ValueError(f"weekday only applies to anchor weekly, not {anchor!r}")
        return value

    @field_validator("holiday")
    @classmethod
    def _known_holiday(cls, value: str | None, info: ValidationInfo) -> str | None:
        anchor = info.data.get("anchor")
        if anchor == "holiday" and value is None:
            raise ValueError("anchor holiday needs a holiday name, e.g. 'National Day'")
        if anchor is not None and anchor != "holiday" and value is not None:
            raise ValueError(f"holiday only applies to anchor holiday, not {anchor!r}")
        if value is not None and not is_holiday_name(value):
            known = ", ".join(repr(n) for n in sorted(holiday_names()))
            raise ValueError(
                f"{value!r} is not a China holiday in the holidays library; one of: {known}"
            )
        return value


class Journey(_Model):
    """content/journey.yaml: ``slots:``, a list of journey slots."""

    slots: list[JourneySlot] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _slots_key(cls, value: object) -> object:
        if isinstance(value, list):
            raise ValueError("put the list of slots under a top-level 'slots:' key")
        return value


class Audience(_Model):
    """Who an item is for; an empty list means anyone. All given filters must match."""

    majors: list[NonEmptyStr] = Field(default_factory=list)
    positions: list[NonEmptyStr] = Field(default_factory=list)
    departments: list[NonEmptyStr] = Field(default_factory=list)
    degrees: list[NonEmptyStr] = Field(default_factory=list)
    motivation_keywords: list[NonEmptyStr] = Field(default_factory=list)
    tags: list[NonEmptyStr] = Field(default_factory=list)
    out_of_town: bool | None = None

    @property
    def everyone(self) -> bool:
        """True when no filter is set, so the item fits any candidate."""
        return self == _EVERYONE


_EVERYONE = Audience()


class ItemLink(_Model):
    label: Text
    url: str

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)


class ContentItem(_Model):
    """One piece of content in the library (content/library/*.yaml or *.md).

    ``title`` and ``body`` are Jinja2 templates (sandboxed) in both languages.
    ``trigger`` names a journey slot; None means the item is only listed by
    /resources (or is a slot's ``digest``). ``action`` adds a button that starts a
    dialog (offer, survey, documents, quiz, resources), or the three answers of the
    weekly check-in (checkin). ``repeat``: the item may be sent again (a recurring
    format such as the check-in; variants take turns week by week). The item is sendable from
    ``published`` to ``expires`` (both days included, either may be open). ``image``
    is an http(s) URL or a path relative to the content directory.
    """

    id: ContentId
    kind: ItemKind
    title: Text
    body: Text
    links: list[ItemLink] = Field(default_factory=list)
    image: str | None = None
    audience: Audience = Field(default_factory=Audience)
    trigger: SlotId | None = None
    priority: int = 0
    published: date | None = None
    expires: date | None = None
    action: ItemAction | None = None
    repeat: bool = False
    resource: bool = False  # listed by /resources

    @field_validator("image")
    @classmethod
    def _check_image(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if value.startswith(("https://", "http://")):
            return _http_url(value)
        path = PurePosixPath(value)
        if not value or path.is_absolute() or ".." in path.parts or "\\" in value:
            raise ValueError(
                f"{value!r} is neither an http(s) URL nor a path inside the content directory"
            )
        return value

    @field_validator("expires")
    @classmethod
    def _expires_after_published(cls, value: date | None, info: ValidationInfo) -> date | None:
        published = info.data.get("published")
        if value is not None and published is not None and value < published:
            raise ValueError(f"{value.isoformat()} is before published {published.isoformat()}")
        return value

    def available(self, day: date) -> bool:
        """True when ``day`` is within published..expires."""
        if self.published is not None and day < self.published:
            return False
        return self.expires is None or day <= self.expires


class ContentPack(_Model):
    """Everything loaded from the content directory."""

    checklists: Checklists
    courses: list[Course]
    faq: list[FaqEntry]
    journey: list[JourneySlot] = Field(default_factory=list)
    items: list[ContentItem] = Field(default_factory=list)

    def slot(self, slot_id: str) -> JourneySlot | None:
        return next((s for s in self.journey if s.id == slot_id), None)

    def item(self, item_id: str) -> ContentItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def slot_items(self, slot_id: str) -> list[ContentItem]:
        """The items whose trigger is this slot, in library order."""
        return [i for i in self.items if i.trigger == slot_id]

    def course(self, course_id: str) -> Course | None:
        """The course with this id, or None."""
        return next((c for c in self.courses if c.id == course_id), None)
