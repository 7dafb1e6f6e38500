"""Apply Alembic migrations from code (start-up and ``run_bot.py db upgrade``).

Every start brings the database to the head revision. When it is already there (every
start but the first after an upgrade) that is one query: the head is read from the
``revision`` / ``down_revision`` lines of ``migrations/versions/*.py`` and compared with
``alembic_version``, and Alembic (with Mako and Pygments, a few hundred milliseconds) is
never imported. Anything unusual in the scripts (a merge, a dependency, a line not
understood, more than one head) or in the table falls back to Alembic itself, which
then does what it always did.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py keeps it
MIGRATION_LOCK = 0x5072_6562_4D69_6772  # "PrebMigr": an advisory lock only migrations take

_ASSIGNED = r"^{name}(?:\s*:[^=\n]*)?\s*=\s*(?P<value>.+?)\s*$"
_REVISION = re.compile(_ASSIGNED.format(name="revision"), re.MULTILINE)
_DOWN = re.compile(_ASSIGNED.format(name="down_revision"), re.MULTILINE)
_DEPENDS = re.compile(_ASSIGNED.format(name="depends_on"), re.MULTILINE)
_QUOTED = re.compile(r"""^(["'])([\w.-]+)\1$""")


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _one(pattern: re.Pattern[str], source: str) -> str | None:
    found = pattern.findall(source)
    return found[0] if len(found) == 1 else None


@functools.cache
def script_head() -> str | None:
    """The one head revision of the scripts, or None when they are not a plain chain
    (then only Alembic can tell)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        source = script.read_text(encoding="utf-8")
        revision, down = _one(_REVISION, source), _one(_DOWN, source)
        depends = _one(_DEPENDS, source)
        if revision is None or down is None or depends != "None":
            return None
        quoted = _QUOTED.match(revision)
        if quoted is None or quoted[2] in revisions:
            return None
        revisions.add(quoted[2])
        if down != "None":
            parent = _QUOTED.match(down)
            if parent is None:
                return None
            parents.add(parent[2])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _at_head(sync_connection: Any) -> bool:
    head = script_head()
    if head is None or not inspect(sync_connection).has_table(VERSION_TABLE):
        return False
    rows = sync_connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    return [row[0] for row in rows] == [head]


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision``."""

    def _run(sync_connection: object) -> None:
        from alembic import command

        config = alembic_config(str(engine.url))
        config.attributes["connection"] = sync_connection
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        if revision == "head" and await conn.run_sync(_at_head):
            return
        if conn.dialect.name == "postgresql":
            # Several processes starting on an old schema: one migrates, the others wait
            # for its commit (the lock is the transaction's) and then find the head.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            if revision == "head" and await conn.run_sync(_at_head):
                return
        await conn.run_sync(_run)
