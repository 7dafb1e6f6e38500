"""Render content item templates (Jinja2 in a sandbox).

Editors write ``{{ name }}``, ``{% if out_of_town %}`` and the like; the sandbox
keeps a template from reaching Python internals, and an unknown variable is an
error (caught when the library is loaded, see :func:`check_template`). A value
that is None (no manager yet, say) renders as an empty string; ``zh_date`` and
``en_date`` format dates ("7月20日", "20 July").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import date

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from content.models import ContentItem

_EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def zh_date(value: date) -> str:
    """``7月20日`` (template filter ``zh_date``)."""
    return f"{value.month}月{value.day}日"


def en_date(value: date) -> str:
    """``20 July`` (template filter ``en_date``)."""
    return f"{value.day} {_EN_MONTHS[value.month - 1]}"


def _blank_none(value: object) -> object:
    return "" if value is None else value


_ENV = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, finalize=_blank_none, lstrip_blocks=True
)
# A line holding nothing but one "{% ... %}" tag leaves no blank line behind. (Jinja's
# trim_blocks would also eat the line break after "{% endif %}" at the end of a text line.)
_TAG_LINE = re.compile(r"^([ \t]*\{%(?:(?!%\}).)*%\})[ \t]*\r?\n", re.MULTILINE)
_ENV.filters["zh_date"] = zh_date
_ENV.filters["en_date"] = en_date

# The variables every template may use, with sample values for checking templates at load time.
SAMPLE_VARIABLES: Mapping[str, object] = {
    "name": "张三",
    "department": "研发中心",
    "position": "后端开发工程师",
    "major": "计算机科学与技术",
    "manager": "李强",
    "hr": "王芳",
    "company": "星河科技",
    "work_city": "杭州",
    "hometown": "成都",
    "out_of_town": True,
    "offer_date": date(2026, 6, 1),
    "training_date": date(2026, 7, 20),
    "onboarding_date": date(2026, 8, 1),
    "doc_deadline": date(2026, 7, 10),
    "days_to_training": 49,
    "days_to_onboarding": 61,
    "days_to_deadline": 39,
    "missing_documents": ["学历证书", "体检报告"],
    "unfinished_courses": ["信息安全入门"],
    "progress": 40,
    "points": 20,
    "holiday": "中秋节",
    "news": [
        {
            "title": "星河 AI 助手内测开放",
            "summary": "研发中心的大模型团队开放了内测名额。",
            "url": "https://xinghe.example.com/news/ai-beta",
        },
        {
            "title": "秋季运动会报名开始",
            "summary": "十月在园区南广场举行，欢迎家属参加。",
            "url": "https://xinghe.example.com/news/sports-day",
        },
    ],
}

# A candidate with little on file: templates must also work with this (other if-branches;
# ``{{ hr or "HR" }}`` covers an empty name).
SPARSE_VARIABLES: Mapping[str, object] = {
    **SAMPLE_VARIABLES,
    "position": None,
    "major": None,
    "manager": None,
    "hr": None,
    "hometown": None,
    "out_of_town": None,
    "missing_documents": [],
    "unfinished_courses": [],
    "progress": 0,
    "points": 0,
    "news": [],
}


class TemplateProblem(Exception):
    """A template does not compile or uses something it may not."""


@functools.lru_cache(maxsize=1024)
def _compile(template: str) -> Template:
    return _ENV.from_string(_TAG_LINE.sub(r"\1", template))


def render(template: str, variables: Mapping[str, object]) -> str:
    """Render one template string; raise :class:`TemplateProblem` on any template error."""
    try:
        return _compile(template).render(**variables).strip()
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"line {exc.lineno}: {exc.message}") from exc
    except TemplateError as exc:
        raise TemplateProblem(str(exc)) from exc


def render_item(
    item: ContentItem, lang: str | None, variables: Mapping[str, object]
) -> tuple[str, str]:
    """The item's title and body in ``lang``, filled with ``variables``."""
    return render(item.title.get(lang), variables), render(item.body.get(lang), variables)


def check_template(template: str) -> None:
    """Raise :class:`TemplateProblem` if the template fails with the sample variables.

    It is rendered twice, with :data:`SAMPLE_VARIABLES` and :data:`SPARSE_VARIABLES`,
    so both sides of an ``{% if out_of_town %}`` or ``{% if missing_documents %}`` run.
    """
    for variables in (SAMPLE_VARIABLES, SPARSE_VARIABLES):
        if not render(template, variables):
            raise TemplateProblem("renders as an empty text")
