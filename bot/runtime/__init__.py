"""The running process: the app, the command line, leadership, the scheduler and its jobs."""

from __future__ import annotations

from bot.runtime import cli
from bot.runtime.app import App, Parts

__all__ = ["App", "Parts", "cli"]
