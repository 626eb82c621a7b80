"""Small SQL helpers that must behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def _dialect_insert(session: Session):  # noqa: ANN202
    """The dialect's insert() construct, which knows ON CONFLICT."""
    return {"postgresql": postgresql, "sqlite": sqlite}[session.get_bind().dialect.name].insert


def insert_ignoring_duplicates(
    session: Session, model: type, values: dict[str, Any], columns: list[str]
) -> int | None:
    """INSERT … ON CONFLICT (columns) DO NOTHING RETURNING id: the new id, or None if present.

    A Core statement on the table, not the ORM's bulk path: this runs on every support,
    and the ORM path costs noticeably more CPU per call.
    """
    table = model.__table__
    statement = (
        _dialect_insert(session)(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=columns)
        .returning(table.c.id)
    )
    session.flush()  # keep the unit of work ahead of the raw statement
    return session.connection().execute(statement).scalar()


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
    statement = _dialect_insert(session)(model).on_conflict_do_nothing(index_elements=columns)
    return list(session.scalars(statement.returning(returning), rows))
