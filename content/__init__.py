"""Content pack: document checklists, pre-training courses and the FAQ (YAML, zh + en).

Load it once with :func:`load_content` and keep the returned :class:`ContentPack`.
"""

from content.faq_matcher import FaqMatch, FaqMatcher
from content.loader import CONTENT_DIR, ContentError, load_content
from content.models import (
    LANGS,
    ChecklistItem,
    Checklists,
    ContentPack,
    Course,
    FaqEntry,
    Question,
    Text,
)

__all__ = [
    "CONTENT_DIR",
    "LANGS",
    "ChecklistItem",
    "Checklists",
    "ContentError",
    "ContentPack",
    "Course",
    "FaqEntry",
    "FaqMatch",
    "FaqMatcher",
    "Question",
    "Text",
    "load_content",
]
