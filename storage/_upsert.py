"""INSERT ... ON CONFLICT DO NOTHING for both dialects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a table model."""
    table = getattr(model, "__table__", None)
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


def insert_ignore(session: AsyncSession, model: type[SQLModel]) -> Any:
    """An INSERT into ``model``'s table that does nothing on a unique conflict.

    With ``.returning(id)`` it yields no row when the conflict happened.
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    module: Any = postgresql if dialect == "postgresql" else sqlite
    table = table_of(model)
    return module.insert(table).on_conflict_do_nothing().returning(table.c.id)
