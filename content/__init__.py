"""Content pack: checklists, courses, the FAQ, the journey and the content library (zh + en).

Load it once with :func:`load_content` and keep the returned :class:`ContentPack`.
Editors' guide: docs/content.md.
"""

from content.audience import Profile, match
from content.calendar import HOLIDAY_LANGUAGE, Holiday, china_holiday, holiday_names
from content.faq_matcher import FaqMatch, FaqMatcher
from content.loader import CONTENT_DIR, ContentError, load_content
from content.models import (
    LANGS,
    Audience,
    ChecklistItem,
    Checklists,
    ContentItem,
    ContentPack,
    Course,
    FaqEntry,
    ItemLink,
    Journey,
    JourneySlot,
    Question,
    Text,
)
from content.render import (
    SAMPLE_VARIABLES,
    SPARSE_VARIABLES,
    TemplateProblem,
    check_template,
    render,
    render_item,
)

__all__ = [
    "CONTENT_DIR",
    "HOLIDAY_LANGUAGE",
    "LANGS",
    "SAMPLE_VARIABLES",
    "SPARSE_VARIABLES",
    "Audience",
    "ChecklistItem",
    "Checklists",
    "ContentError",
    "ContentItem",
    "ContentPack",
    "Course",
    "FaqEntry",
    "FaqMatch",
    "FaqMatcher",
    "Holiday",
    "ItemLink",
    "Journey",
    "JourneySlot",
    "Profile",
    "Question",
    "TemplateProblem",
    "Text",
    "check_template",
    "china_holiday",
    "holiday_names",
    "load_content",
    "match",
    "render",
    "render_item",
]
