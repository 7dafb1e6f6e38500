"""Scheduled pushes: the planner decides what and when, the composer renders it."""

from __future__ import annotations

from bot.pushes.composer import MANAGER_WELCOME_ITEM, Composed, PushComposer
from bot.pushes.planner import SEND_PLANNED, plan_pushes
from bot.pushes.slots import occurrences
from bot.pushes.variables import Readiness, load_readiness, profile_of, template_variables

__all__ = [
    "MANAGER_WELCOME_ITEM",
    "SEND_PLANNED",
    "Composed",
    "PushComposer",
    "Readiness",
    "load_readiness",
    "occurrences",
    "plan_pushes",
    "profile_of",
    "template_variables",
]
