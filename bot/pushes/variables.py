"""What a push's template may say about its candidate, and who the candidate is for audiences.

- :func:`profile_of`: the candidate as content audiences see them;
- :func:`template_variables` fills the names that ``content.render.SAMPLE_VARIABLES``
  lists, from the candidate's record, staff names and :class:`Readiness`
  (:func:`load_readiness` reads missing documents, unfinished courses, progress and points;
  :func:`readiness_of` works them out from rows already read);
  /resources uses the same names for its titles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.people.progress import Progress, offer_awaiting_reply
from content import ContentPack
from content.audience import Profile
from storage import courses, documents, pushes
from storage.models import Candidate, CourseResult, DocumentStatus, OfferStatus


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
        offer_awaiting=offer_awaiting_reply(candidate.offer_status),
    )


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
    docs = {
        d.item: d.status
        for d in await documents.documents_of(session=session, candidate_id=candidate.id)
    }
    results = await courses.course_results_of(session=session, candidate_id=candidate.id)
    return readiness_of(content, candidate, lang, docs, results)


def readiness_of(
    content: ContentPack,
    candidate: Candidate,
    lang: str,
    docs: Mapping[str, str],
    course_results: Sequence[CourseResult],
) -> Readiness:
    """:class:`Readiness` from the candidate's documents (checklist item: status) and
    course results (the planner reads them for a whole batch at once)."""
    required = content.checklists.items_for(candidate.department, candidate.position)
    rejected = DocumentStatus.REJECTED.value
    submitted = [i for i in required if docs.get(i.id, rejected) != rejected]
    approved = [i for i in required if docs.get(i.id) == DocumentStatus.APPROVED.value]
    results = {r.course_id: r for r in course_results}
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
