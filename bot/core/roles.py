"""Who may do what."""

from __future__ import annotations

from storage.models import Role

STAFF_ROLES = frozenset({Role.HR, Role.MANAGER, Role.ADMIN})
EVERYONE = frozenset({None, Role.CANDIDATE, Role.HR, Role.MANAGER, Role.ADMIN})
BOUND = frozenset({Role.CANDIDATE, Role.HR, Role.MANAGER, Role.ADMIN})

__all__ = ["BOUND", "EVERYONE", "STAFF_ROLES", "Role"]
