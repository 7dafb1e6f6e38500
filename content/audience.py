"""Matching content items to a candidate's profile."""

from __future__ import annotations

from dataclasses import dataclass, field

from content.models import Audience


@dataclass(frozen=True, slots=True)
class Profile:
    """What audience filters look at (kept apart from the storage model)."""

    major: str | None = None
    position: str | None = None
    department: str | None = None
    degree: str | None = None
    motivation: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    hometown: str | None = None
    work_city: str | None = None
    # Whether the candidate still has to answer their offer (items with ``action: offer``
    # are only for them); None when unknown (e.g. /resources, where it does not matter).
    offer_awaiting: bool | None = None

    @property
    def out_of_town(self) -> bool | None:
        """True when hometown and work city are both known and differ."""
        if not self.hometown or not self.work_city:
            return None
        return _norm_city(self.hometown) != _norm_city(self.work_city)


def _norm_city(name: str) -> str:
    name = name.strip().lower()
    for suffix in ("市", " city"):
        name = name.removesuffix(suffix)
    return name


def _contains_any(value: str | None, needles: list[str]) -> bool:
    if not value:
        return False
    text = value.lower()
    return any(needle.lower() in text for needle in needles)


def match(audience: Audience, profile: Profile) -> int | None:
    """How specifically ``audience`` fits ``profile`` (filters matched), or None if it does not.

    Text filters match as case-insensitive substrings ("计算机" matches
    "计算机科学与技术"); ``tags`` need one tag in common; ``out_of_town`` must
    equal the profile's (unknown cities do not match an out-of-town filter).
    """
    score = 0
    checks = (
        (audience.majors, profile.major),
        (audience.positions, profile.position),
        (audience.departments, profile.department),
        (audience.degrees, profile.degree),
        (audience.motivation_keywords, profile.motivation),
    )
    for needles, value in checks:
        if needles:
            if not _contains_any(value, needles):
                return None
            score += 1
    if audience.tags:
        wanted = {t.lower() for t in audience.tags}
        if not wanted & {t.lower() for t in profile.tags}:
            return None
        score += 1
    if audience.out_of_town is not None:
        if profile.out_of_town is not audience.out_of_town:
            return None
        score += 1
    return score
