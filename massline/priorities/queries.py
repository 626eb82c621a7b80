"""Listing, filtering, full-text search and similar-title hints for priorities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session

from massline.localities.service import get_locality, in_subtree
from massline.models_common import utcnow
from massline.priorities.models import PUBLIC_STATUSES, Category, Priority, Support
from massline.priorities.schemas import TITLE_MAX
from massline.text import search_tokens, tokenize
from massline.themes.models import PriorityTheme

SORTS = ("newest", "supports", "hot")
LISTABLE_STATUSES = (*PUBLIC_STATUSES, "archived", "retired")
HOT_WINDOW = timedelta(days=7)
# A constant, not a parameter, so PostgreSQL matches the expression index.
SIMPLE = literal_column("'simple'::regconfig")


def search_vector() -> ColumnElement:
    """The indexed tsvector over pre-segmented tokens (PostgreSQL only)."""
    return func.to_tsvector(SIMPLE, Priority.search_text)


@dataclass(frozen=True)
class ListQuery:
    """Filters and order of a priority list."""

    locality: str | None = None
    category: str | None = None
    status: str | None = None
    q: str | None = None
    sort: str = "newest"
    page: int = 1
    theme: int | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


def _token_condition(session: Session, tokens: list[str]) -> ColumnElement[bool]:
    """All tokens present: a GIN-indexed tsvector on PostgreSQL, LIKE on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        vector = search_vector()
        return vector.op("@@")(func.plainto_tsquery(SIMPLE, " ".join(tokens)))
    return and_(
        *(Priority.search_text.like("% " + _escape_like(t) + " %", escape="\\") for t in tokens)
    )


def text_condition(session: Session, q: str) -> ColumnElement[bool]:
    """Priorities matching a Chinese (or any) search text."""
    tokens = search_tokens(q)
    plain = Priority.title.like("%" + _escape_like(q.strip()) + "%", escape="\\")
    if not tokens:
        return plain
    return or_(_token_condition(session, tokens), plain)


def filtered(session: Session, query: ListQuery) -> Select:
    """The SELECT for a list query, before ordering and paging."""
    statement = select(Priority).where(Priority.hidden_at.is_(None))
    if query.status:
        statement = statement.where(Priority.status == query.status)
    else:
        statement = statement.where(Priority.status.in_(PUBLIC_STATUSES))
    if query.locality:
        statement = statement.where(
            in_subtree(Priority.locality_code, get_locality(session, query.locality))
        )
    if query.category:
        statement = statement.join(Category).where(Category.slug == query.category)
    if query.q and query.q.strip():
        statement = statement.where(text_condition(session, query.q))
    if query.theme is not None:
        members = select(PriorityTheme.priority_id).where(PriorityTheme.theme_id == query.theme)
        statement = statement.where(Priority.id.in_(members))
    return statement


def ordered(statement: Select, sort: str, now: datetime) -> Select:
    """Apply newest / most supported / hot ordering."""
    if sort == "supports":
        total = Priority.supports_count + Priority.offline_supports
        return statement.order_by(total.desc(), Priority.id.desc())
    if sort == "hot":
        recent = (
            select(func.count(Support.id))
            .where(Support.priority_id == Priority.id, Support.created_at >= now - HOT_WINDOW)
            .correlate(Priority)
            .scalar_subquery()
        )
        return statement.order_by(recent.desc(), Priority.supports_count.desc(), Priority.id.desc())
    return statement.order_by(Priority.published_at.desc(), Priority.id.desc())


def list_priorities(
    session: Session, query: ListQuery, *, page_size: int, now: datetime | None = None
) -> tuple[list[Priority], int]:
    """One page of priorities and the total count."""
    statement = filtered(session, query)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = ordered(statement, query.sort, now or utcnow())
    page = page.limit(page_size).offset((query.page - 1) * page_size)
    return list(session.scalars(page).unique()), total


def similar_titles(
    session: Session, title: str, *, limit: int = 5, exclude_id: int | None = None
) -> list[Priority]:
    """Published priorities sharing the most search tokens with a title being typed."""
    # Content words only: particles and place names say nothing about the topic. A title
    # longer than any real one (a form sent back with an error) is cut to the longest there is.
    tokens = list(dict.fromkeys(tokenize(title[:TITLE_MAX])))[:8]
    if not tokens:
        return []
    matches = [
        Priority.search_text.like("% " + _escape_like(t) + " %", escape="\\") for t in tokens
    ]
    overlap = sum((case((m, 1), else_=0) for m in matches), literal(0))
    statement = (
        select(Priority)
        .where(Priority.status.in_(PUBLIC_STATUSES), Priority.hidden_at.is_(None), or_(*matches))
        .order_by(overlap.desc(), Priority.supports_count.desc(), Priority.id.desc())
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.where(_any_token(tokens))
    if exclude_id is not None:
        statement = statement.where(Priority.id != exclude_id)
    found = list(session.scalars(statement).unique())
    # Keep only real overlaps: at least half the title's tokens, or two.
    needed = min(2, len(tokens))
    return [p for p in found if sum(f" {t} " in p.search_text for t in tokens) >= needed]


def _any_token(tokens: list[str]) -> ColumnElement[bool]:
    """Any token present, through the GIN index (PostgreSQL)."""
    quoted = " | ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in tokens)
    vector = search_vector()
    return vector.op("@@")(func.to_tsquery(SIMPLE, quoted))
