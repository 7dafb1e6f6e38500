"""A person's time zone: theirs when it is a real zone, else the configured default."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)


class HasZone(Protocol):
    timezone: str | None


@lru_cache(maxsize=256)
def zone_named(name: str | None, default: str) -> ZoneInfo:
    """``name`` as a zone; the default zone when it is empty or unknown (logged once)."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("unknown time zone %r; using %s", name, default)
    return ZoneInfo(default)


def person_zone(person: HasZone | None, default: str) -> ZoneInfo:
    """The time zone of a candidate (or anyone with a ``timezone``), else ``default``."""
    return zone_named(person.timezone if person is not None else None, default)
