"""Render content item templates (Jinja2 in a sandbox).

Editors write ``{{ name }}``, ``{% if out_of_town %}`` and the like; the sandbox
keeps a template from reaching Python internals, and an unknown variable is an
error (caught when the library is loaded, see :func:`check_template`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from content.models import ContentItem

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)

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
    "news": [],
}


class TemplateProblem(Exception):
    """A template does not compile or uses something it may not."""


def render(template: str, variables: Mapping[str, object]) -> str:
    """Render one template string; raise :class:`TemplateProblem` on any template error."""
    try:
        return _ENV.from_string(template).render(**variables).strip()
    except TemplateError as exc:
        raise TemplateProblem(str(exc)) from exc


def render_item(
    item: ContentItem, lang: str | None, variables: Mapping[str, object]
) -> tuple[str, str]:
    """The item's title and body in ``lang``, filled with ``variables``."""
    return render(item.title.get(lang), variables), render(item.body.get(lang), variables)


def check_template(template: str) -> None:
    """Raise :class:`TemplateProblem` if the template fails with the sample variables."""
    render(template, SAMPLE_VARIABLES)
