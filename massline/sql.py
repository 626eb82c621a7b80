"""Small SQL helpers that must behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_duplicates(
    session: Session, model: type, values: dict[str, Any], columns: list[str]
) -> int | None:
    """INSERT … ON CONFLICT (columns) DO NOTHING RETURNING id: the new id, or None if present."""
    dialect = session.get_bind().dialect.name
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:  # pragma: no cover - only the two supported databases
        return session.execute(insert(model).values(**values).returning(model.id)).scalar()
    statement = module.insert(model).values(**values).on_conflict_do_nothing(index_elements=columns)
    return session.execute(statement.returning(model.id)).scalar()


def insert_many_ignoring_duplicates(
    session: Session,
    model: type,
    rows: list[dict[str, Any]],
    columns: list[str],
    returning: Any,
) -> list[Any]:
    """Batched INSERT … ON CONFLICT DO NOTHING; returns `returning` of the rows inserted."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    module = {"postgresql": postgresql, "sqlite": sqlite}[dialect]
    statement = module.insert(model).on_conflict_do_nothing(index_elements=columns)
    return list(session.scalars(statement.returning(returning), rows))
