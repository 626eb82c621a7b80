"""Themes in the product: builds over stored tokens, assignment on arrival, theme queries.

A build is resumable: it is written in checkpointed steps (build row → fitted model and themes
→ assignments in batches keyed by the build id, with `assigned_through` the last priority id
committed). `build_themes` on a scope whose latest build died while assigning continues that
build, predicting the remaining priorities with the stored model; a build that died while
fitting left nothing but its row, which is marked failed and a new build starts. The themes a
scope shows change only when a build reaches `done`, in the same transaction that supersedes
(and deletes) the previous build's themes and assignments.
"""

from __future__ import annotations

import copy
import logging
import pickle
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from massline.errors import Conflict, NotFound
from massline.localities.models import NATION_CODE, Locality
from massline.localities.service import ancestors, get_locality, in_subtree
from massline.models_common import utcnow
from massline.priorities.models import PUBLIC_STATUSES, Priority, Support
from massline.text import analyse
from massline.themes.engine import ThemeModel
from massline.themes.models import PriorityTheme, Theme, ThemeBuild

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, rows done so far, rows in the stage)
LIVE = ("assigning", "done")
_MODEL_CACHE_SIZE = 8
_models: OrderedDict[str, ThemeModel] = OrderedDict()
_models_lock = threading.Lock()


def _no_progress(stage: str, done: int, total: int) -> None:
    """Default progress callback: silent."""


def _published_in(scope: Locality) -> ColumnElement[bool]:
    """Public, visible priorities of the scope's subtree."""
    return (
        Priority.status.in_(PUBLIC_STATUSES)
        & Priority.hidden_at.is_(None)
        & in_subtree(Priority.locality_code, scope)
    )


# -- the fitted model, stored and cached ------------------------------------------------------
def dump_model(model: ThemeModel) -> bytes:
    """Pickle a fitted model without its per-document arrays (a million-row build's model
    would otherwise carry its training labels and the vectoriser's pruned-term set)."""
    slim = copy.copy(model)
    slim.labels_ = None
    slim.confidence_ = None
    if getattr(slim, "vectorizer_", None) is not None and hasattr(slim.vectorizer_, "stop_words_"):
        slim.vectorizer_ = copy.copy(slim.vectorizer_)
        del slim.vectorizer_.stop_words_  # documented as safe to drop; only for introspection
    return pickle.dumps(slim, protocol=pickle.HIGHEST_PROTOCOL)


def load_model(session: Session, build_id: int, key: str) -> ThemeModel:
    """The build's fitted model, unpickled once per process (LRU of a few builds)."""
    with _models_lock:
        if key in _models:
            _models.move_to_end(key)
            return _models[key]
    blob = session.scalar(select(ThemeBuild.model).where(ThemeBuild.id == build_id))
    if blob is None:
        raise Conflict(_l("This theme build has no stored model."))
    # The blob is written only by build_themes into our own database, never from user input.
    model = pickle.loads(blob)  # noqa: S301
    with _models_lock:
        _models[key] = model
        while len(_models) > _MODEL_CACHE_SIZE:
            _models.popitem(last=False)
    return model


# -- building ---------------------------------------------------------------------------------
def build_themes(
    session: Session,
    scope_code: str = NATION_CODE,
    *,
    n_themes: int | None = None,
    random_state: int = 0,
    batch_size: int = 5000,
    progress: Progress = _no_progress,
    checkpoint: Callable[[], None] | None = None,
    restart: bool = False,
) -> ThemeBuild:
    """Cluster the scope's published priorities from their stored tokens (or resume a build).

    `checkpoint` (the CLI passes `session.commit`) is called after each durable step; without
    it the whole build is one transaction that the caller commits. A resumed build keeps its
    stored model (and so its number of themes); `restart` abandons it and fits anew.
    """
    checkpoint = checkpoint or session.flush
    scope = get_locality(session, scope_code)
    build = None if restart else _resumable_build(session, scope.code)
    if build is None:
        if not session.scalar(select(Priority.id).where(_published_in(scope)).limit(1)):
            raise Conflict(_l("There are no published priorities in this scope yet."))
        _fail_stale_builds(session, scope.code)
        _backfill_tokens(session, scope, batch_size, progress, checkpoint)
        build = ThemeBuild(key=uuid.uuid4().hex, scope_code=scope.code, status="fitting")
        session.add(build)
        session.flush()
        checkpoint()
        ids, model = _fit(session, scope, build, n_themes, random_state, batch_size, progress)
        checkpoint()
        _write_fitted(session, build, ids, model, batch_size, progress, checkpoint)
    else:
        model = load_model(session, build.id, build.key)
    _assign_remaining(session, scope, build, model, batch_size, progress, checkpoint)
    _finish(session, build)
    checkpoint()
    return build


def _resumable_build(session: Session, scope_code: str) -> ThemeBuild | None:
    """The scope's latest build if it died after storing its model."""
    latest = session.scalar(
        select(ThemeBuild)
        .where(ThemeBuild.scope_code == scope_code)
        .order_by(ThemeBuild.id.desc())
        .limit(1)
    )
    if latest is not None and latest.status == "assigning":
        return latest
    return None


def _fail_stale_builds(session: Session, scope_code: str) -> None:
    """Builds that died before storing a model can only be started again."""
    session.execute(
        update(ThemeBuild)
        .where(ThemeBuild.scope_code == scope_code, ThemeBuild.status.in_(("fitting", "assigning")))
        .values(status="failed", error="interrupted", finished_at=utcnow(), model=None)
        .execution_options(synchronize_session=False)
    )


def _backfill_tokens(
    session: Session,
    scope: Locality,
    batch_size: int,
    progress: Progress,
    checkpoint: Callable[[], None],
) -> None:
    """Segment, once, priorities written before tokens were stored (NULL `tokens`)."""
    where = _published_in(scope) & Priority.tokens.is_(None)
    total = session.scalar(select(func.count()).select_from(Priority).where(where)) or 0
    if not total:
        return
    done, last_id = 0, 0
    while True:
        rows = session.execute(
            select(Priority.id, Priority.title, Priority.body)
            .where(where, Priority.id > last_id)
            .order_by(Priority.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        session.execute(
            update(Priority),
            [
                {"id": r.id, "tokens": " ".join(analyse(r.title + "\n" + r.body).tokens)}
                for r in rows
            ],
        )
        last_id, done = rows[-1].id, done + len(rows)
        checkpoint()
        progress("segmenting", done, total)


def _fit(
    session: Session,
    scope: Locality,
    build: ThemeBuild,
    n_themes: int | None,
    random_state: int,
    batch_size: int,
    progress: Progress,
) -> tuple[list[int], ThemeModel]:
    """Stream the stored tokens, fit the engine, store the model and the named themes."""
    where = _published_in(scope)
    total = session.scalar(select(func.count()).select_from(Priority).where(where)) or 0
    ids: list[int] = []
    docs: list[list[str]] = []
    statement = (
        select(Priority.id, Priority.tokens)
        .where(where)
        .order_by(Priority.id)
        .execution_options(yield_per=batch_size)
    )
    for row in session.execute(statement):
        ids.append(row.id)
        docs.append((row.tokens or "").split())
        if len(ids) % batch_size == 0:
            progress("reading", len(ids), total)
    progress("reading", len(ids), total)
    model = ThemeModel(n_themes, random_state=random_state).fit(docs)
    progress("clustering", 1, 1)
    for number in range(model.n_themes_):
        representative = int(model.representatives_[number])
        session.add(
            Theme(
                build_id=build.id,
                scope_code=build.scope_code,
                number=number,
                label=(model.names_[number] or "—")[:200],
                keywords=list(model.terms_[number]),
                representative_priority_id=ids[representative] if ids else None,
                built_at=build.started_at,
            )
        )
    build.model = dump_model(model)
    build.n_themes = model.n_themes_
    build.status = "assigning"
    session.flush()
    with _models_lock:
        _models[build.key] = model
    return ids, model


def _theme_ids(session: Session, build_id: int) -> dict[int, int]:
    """Model theme number → Theme.id for a build."""
    rows = session.execute(select(Theme.number, Theme.id).where(Theme.build_id == build_id))
    return {number: theme_id for number, theme_id in rows}  # noqa: C416 (Rows, not pairs)


def _insert_assignments(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert assignments, skipping any the arrival hook already wrote."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:  # pragma: no cover - only the two supported databases
        session.execute(insert(PriorityTheme), rows)
        return
    statement = module.insert(PriorityTheme).on_conflict_do_nothing(
        index_elements=["priority_id", "build_id"]
    )
    session.execute(statement, rows)


def _write_fitted(
    session: Session,
    build: ThemeBuild,
    ids: list[int],
    model: ThemeModel,
    batch_size: int,
    progress: Progress,
    checkpoint: Callable[[], None],
) -> None:
    """Store the labels the fit computed, in committed batches."""
    theme_ids = _theme_ids(session, build.id)
    for start in range(0, len(ids), batch_size):
        stop = min(start + batch_size, len(ids))
        _insert_assignments(
            session,
            [
                {
                    "priority_id": ids[i],
                    "theme_id": theme_ids[int(model.labels_[i])],
                    "build_id": build.id,
                    "confidence": float(model.confidence_[i]),
                }
                for i in range(start, stop)
            ],
        )
        build.assigned_through = ids[stop - 1]
        session.flush()
        checkpoint()
        progress("assigning", stop, len(ids))


def _assign_remaining(
    session: Session,
    scope: Locality,
    build: ThemeBuild,
    model: ThemeModel,
    batch_size: int,
    progress: Progress,
    checkpoint: Callable[[], None],
) -> None:
    """Predict priorities after the checkpoint: the rest of a died build, and late arrivals."""
    where = _published_in(scope)
    theme_ids = _theme_ids(session, build.id)
    done = 0
    while True:
        rows = session.execute(
            select(Priority.id, Priority.tokens)
            .where(where, Priority.id > build.assigned_through)
            .order_by(Priority.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return
        labels, confidence = model.predict_with_confidence([(r.tokens or "").split() for r in rows])
        _insert_assignments(
            session,
            [
                {
                    "priority_id": r.id,
                    "theme_id": theme_ids[int(label)],
                    "build_id": build.id,
                    "confidence": float(c),
                }
                for r, label, c in zip(rows, labels, confidence, strict=True)
            ],
        )
        build.assigned_through = rows[-1].id
        session.flush()
        checkpoint()
        done += len(rows)
        progress("resuming", done, done)


def refresh_counts(session: Session, build: ThemeBuild) -> None:
    """Store each theme's size and total supports (online and offline) from its members."""
    totals = session.execute(
        select(
            PriorityTheme.theme_id,
            func.count(),
            func.coalesce(func.sum(Priority.supports_count + Priority.offline_supports), 0),
        )
        .join(Priority, Priority.id == PriorityTheme.priority_id)
        .where(PriorityTheme.build_id == build.id)
        .group_by(PriorityTheme.theme_id)
    ).all()
    by_theme = {theme_id: (size, supports) for theme_id, size, supports in totals}
    for theme in session.scalars(select(Theme).where(Theme.build_id == build.id)):
        theme.size, theme.supports = (int(v) for v in by_theme.get(theme.id, (0, 0)))
    build.n_priorities = sum(size for size, _ in by_theme.values())
    session.flush()


def _finish(session: Session, build: ThemeBuild) -> None:
    """Count, mark done, and drop the scope's older builds' themes and assignments."""
    refresh_counts(session, build)
    older = list(
        session.scalars(
            select(ThemeBuild.id).where(
                ThemeBuild.scope_code == build.scope_code,
                ThemeBuild.id != build.id,
                ThemeBuild.status.in_(("done", "assigning", "failed")),
            )
        )
    )
    if older:
        # Failed builds keep their status as history, but not their half-written rows.
        session.execute(delete(PriorityTheme).where(PriorityTheme.build_id.in_(older)))
        session.execute(delete(Theme).where(Theme.build_id.in_(older)))
        session.execute(
            update(ThemeBuild)
            .where(ThemeBuild.id.in_(older), ThemeBuild.status != "failed")
            .values(status="superseded", model=None)
            .execution_options(synchronize_session=False)
        )
    build.status = "done"
    build.finished_at = utcnow()
    session.flush()


# -- arrivals ---------------------------------------------------------------------------------
def _scope_codes(session: Session, code: str) -> list[str]:
    """The codes of every scope that contains this locality, itself first."""
    locality = get_locality(session, code)
    return [locality.code, *(a.code for a in reversed(ancestors(session, locality)))]


def assign_on_arrival(session: Session, priority: Priority) -> int:
    """Give a newly published priority a theme in every live build whose scope contains it."""
    codes = _scope_codes(session, priority.locality_code)
    builds = session.execute(
        select(ThemeBuild.id, ThemeBuild.key).where(
            ThemeBuild.scope_code.in_(codes), ThemeBuild.status.in_(LIVE)
        )
    ).all()
    assigned = 0
    for build_id, key in builds:
        try:
            model = load_model(session, build_id, key)
            labels, confidence = model.predict_with_confidence([(priority.tokens or "").split()])
        except Exception:  # publishing must not fail because a stored model cannot be read
            log.exception(
                "theme assignment failed for priority %s, build %s", priority.id, build_id
            )
            continue
        theme_id = session.scalar(
            select(Theme.id).where(Theme.build_id == build_id, Theme.number == int(labels[0]))
        )
        row = {
            "priority_id": priority.id,
            "theme_id": theme_id,
            "build_id": build_id,
            "confidence": float(confidence[0]),
        }
        _insert_assignments(session, [row])
        session.execute(
            update(Theme)
            .where(Theme.id == theme_id)
            .values(size=Theme.size + 1, supports=Theme.supports + priority.total_supports)
            .execution_options(synchronize_session=False)
        )
        assigned += 1
    session.flush()
    return assigned


# -- reading ----------------------------------------------------------------------------------
def current_build(session: Session, scope_code: str) -> ThemeBuild | None:
    """The scope's finished build whose themes are shown, if any."""
    return session.scalar(
        select(ThemeBuild)
        .where(ThemeBuild.scope_code == scope_code, ThemeBuild.status == "done")
        .order_by(ThemeBuild.id.desc())
        .limit(1)
    )


def theme_id_for(session: Session, priority_id: int) -> int | None:
    """The priority's theme in the most recent finished build that covers it."""
    return session.scalar(
        select(PriorityTheme.theme_id)
        .join(ThemeBuild, ThemeBuild.id == PriorityTheme.build_id)
        .where(PriorityTheme.priority_id == priority_id, ThemeBuild.status == "done")
        .order_by(PriorityTheme.build_id.desc())
        .limit(1)
    )


def build_for(session: Session, locality_code: str | None) -> tuple[Locality, ThemeBuild | None]:
    """The locality asked for (the nation by default) and the nearest scope build covering it."""
    locality = get_locality(session, locality_code or NATION_CODE)
    for code in _scope_codes(session, locality.code):
        build = current_build(session, code)
        if build is not None:
            return locality, build
    return locality, None


def themes_for(session: Session, locality_code: str | None) -> tuple[Locality, list[Theme]]:
    """Themes for a locality, largest first; from an enclosing scope, counted in the subtree."""
    locality, build = build_for(session, locality_code)
    if build is None:
        return locality, []
    themes = list(session.scalars(select(Theme).where(Theme.build_id == build.id)))
    if build.scope_code != locality.code:
        counts = {
            theme_id: (int(size), int(supports))
            for theme_id, size, supports in session.execute(
                select(
                    PriorityTheme.theme_id,
                    func.count(),
                    func.coalesce(func.sum(Priority.supports_count + Priority.offline_supports), 0),
                )
                .join(Priority, Priority.id == PriorityTheme.priority_id)
                .where(
                    PriorityTheme.build_id == build.id,
                    in_subtree(Priority.locality_code, locality),
                )
                .group_by(PriorityTheme.theme_id)
            )
        }
        for theme in themes:
            # Detached copies: the counts are for this locality only and must not be saved.
            session.expunge(theme)
            theme.size, theme.supports = counts.get(theme.id, (0, 0))
        themes = [t for t in themes if t.size]
    themes.sort(key=lambda t: (-t.size, -t.supports, t.number))
    return locality, themes


def get_theme(session: Session, theme_id: int) -> Theme:
    """A theme of a finished build, or NotFound."""
    theme = session.get(Theme, theme_id)
    if theme is None:
        raise NotFound()
    status = session.scalar(select(ThemeBuild.status).where(ThemeBuild.id == theme.build_id))
    if status != "done":
        raise NotFound()
    return theme


def _members(theme: Theme) -> Select:
    return (
        select(Priority)
        .join(PriorityTheme, PriorityTheme.priority_id == Priority.id)
        .where(
            PriorityTheme.theme_id == theme.id,
            Priority.status.in_(PUBLIC_STATUSES),
            Priority.hidden_at.is_(None),
        )
    )


def members(
    session: Session, theme: Theme, *, page: int = 1, page_size: int = 20
) -> tuple[list[Priority], int]:
    """One page of the theme's visible priorities, most supported first, and their number."""
    statement = _members(theme)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    total_supports = Priority.supports_count + Priority.offline_supports
    page_rows = session.scalars(
        statement.order_by(total_supports.desc(), Priority.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return list(page_rows.unique()), total


def _month(session: Session, column: Any) -> ColumnElement[str]:
    """'YYYY-MM' of a UTC timestamp column, in the current dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _months_between(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def trend(session: Session, theme: Theme, *, months: int = 24) -> list[tuple[str, int]]:
    """Submissions per month (by publication date), gaps filled, the last `months` months."""
    month = _month(session, Priority.published_at).label("month")
    counted = dict(
        session.execute(
            select(month, func.count())
            .join(PriorityTheme, PriorityTheme.priority_id == Priority.id)
            .where(PriorityTheme.theme_id == theme.id, Priority.published_at.is_not(None))
            .group_by(month)
        ).all()
    )
    if not counted:
        return []
    series = _months_between(min(counted), max(counted))[-months:]
    return [(m, int(counted.get(m, 0))) for m in series]


def strongest_localities(session: Session, theme: Theme, *, limit: int = 5) -> list[dict[str, Any]]:
    """Localities with the most priorities in the theme, with their rate per 100,000 people."""
    rows = session.execute(
        select(Locality, func.count().label("n"))
        .join(Priority, Priority.locality_code == Locality.code)
        .join(PriorityTheme, PriorityTheme.priority_id == Priority.id)
        .where(PriorityTheme.theme_id == theme.id)
        .group_by(Locality.code)
        .order_by(func.count().desc(), Locality.code)
        .limit(limit)
    ).all()
    return [
        {
            "code": loc.code,
            "name": loc.name,
            "priorities": int(n),
            "per_100k": round(n * 100_000 / loc.population, 2) if loc.population else None,
        }
        for loc, n in rows
    ]


def bar_chart(series: Sequence[tuple[str, int]], *, width: int = 320, height: int = 80) -> dict:
    """Geometry of a small bar chart for server-side SVG: one bar per point, scaled to max."""
    if not series:
        return {"width": width, "height": height, "bars": []}
    peak = max(count for _, count in series) or 1
    step = width / len(series)
    bars = [
        {
            "x": round(i * step + step * 0.1, 2),
            "width": round(step * 0.8, 2),
            "height": round((height - 14) * count / peak, 2),
            "y": round(height - 14 - (height - 14) * count / peak, 2),
            "label": label,
            "count": count,
        }
        for i, (label, count) in enumerate(series)
    ]
    return {"width": width, "height": height, "bars": bars}


def theme_detail(session: Session, theme: Theme) -> dict[str, Any]:
    """The JSON shape of one theme, with its trend and strongest localities."""
    data = theme.to_dict()
    data.update(
        scope_code=theme.scope_code,
        build_id=theme.build_id,
        built_at=theme.built_at.isoformat(),
        representative_priority_id=theme.representative_priority_id,
        trend=[{"month": m, "priorities": n} for m, n in trend(session, theme)],
        localities=strongest_localities(session, theme),
    )
    return data


def hot_themes(
    session: Session, locality_code: str | None, *, now: datetime | None = None, days: int = 30
) -> list[dict[str, Any]]:
    """Themes ranked by growth: new supports and submissions in the last `days` days minus
    those in the `days` before (absolute, so three new voices do not beat three thousand)."""
    now = now or utcnow()
    locality, build = build_for(session, locality_code)
    if build is None:
        return []
    recent, before = now - timedelta(days=days), now - timedelta(days=2 * days)
    in_place = in_subtree(Priority.locality_code, locality)
    activity: dict[int, list[int]] = {}

    def add(statement: Select, slot: int) -> None:
        for theme_id, n in session.execute(statement):
            activity.setdefault(theme_id, [0, 0, 0, 0])[slot] += int(n)

    base = (
        select(PriorityTheme.theme_id, func.count())
        .join(Priority, Priority.id == PriorityTheme.priority_id)
        .where(PriorityTheme.build_id == build.id, in_place)
        .group_by(PriorityTheme.theme_id)
    )
    add(base.where(Priority.published_at >= recent, Priority.published_at < now), 0)
    add(base.where(Priority.published_at >= before, Priority.published_at < recent), 1)
    supports = base.join(Support, Support.priority_id == Priority.id)
    add(supports.where(Support.created_at >= recent, Support.created_at < now), 2)
    add(supports.where(Support.created_at >= before, Support.created_at < recent), 3)
    themes = {t.id: t for t in session.scalars(select(Theme).where(Theme.id.in_(activity)))}
    ranked = []
    for theme_id, (new_now, new_before, sup_now, sup_before) in activity.items():
        growth = (new_now + sup_now) - (new_before + sup_before)
        data = themes[theme_id].to_dict()
        data.update(
            submissions_recent=new_now,
            submissions_before=new_before,
            supports_recent=sup_now,
            supports_before=sup_before,
            growth=growth,
        )
        ranked.append(data)
    ranked.sort(
        key=lambda d: (-d["growth"], -(d["submissions_recent"] + d["supports_recent"]), d["id"])
    )
    return ranked
