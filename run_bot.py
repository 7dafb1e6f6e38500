"""Preboard's composition root: ``python run_bot.py --help``.

The one place that sees every layer. It builds the dialogs (``flows/``) and the
chat platforms (``adapters/``) and hands them to the core (``bot/``), which
knows them only through its protocols; the command line then loads the
settings, opens the database and runs the chosen command.
"""

from __future__ import annotations

import flows
from adapters import build_platform_adapters
from adapters.console import ConsoleAdapter
from bot.core.clock import FixedClock, SystemClock
from bot.core.settings import Settings
from bot.runtime import App, Parts, cli
from content import ContentPack
from storage.db import Database


def build_parts() -> Parts:
    """Every part the core is given: dialogs, their free-text handlers, the platforms."""
    return Parts(
        router=flows.router,
        flows=flows.FlowEngine(flows.ALL_FLOWS),
        text_handlers=flows.TEXT_HANDLERS,
        platforms=build_platform_adapters,
        console=ConsoleAdapter,
    )


def build_app(
    settings: Settings,
    *,
    clock: SystemClock | FixedClock | None = None,
    content: ContentPack | None = None,
    db: Database | None = None,
) -> App:
    """One bot process; tests and benchmarks pass their own clock, content or database."""
    return App(settings, build_parts(), clock=clock, content=content, db=db)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with apps built here."""
    return cli.main(build_app, argv)


if __name__ == "__main__":
    raise SystemExit(main())
