"""Errors the core defines for the parts it is given (adapters, flows) to raise."""

from __future__ import annotations


class StartupError(Exception):
    """The bot cannot start; the message is one line for the operator."""


__all__ = ["StartupError"]
