"""The facilitator's dashboard: participation per stage and per place, the clock, the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Subquery, and_, case, distinct, func, literal_column, select, union_all
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import require_role
from massline.localities.models import Locality
from massline.localities.service import in_subtree
from massline.priorities.models import Comment, Priority, Support
from massline.stages.models import (
    Process,
    ProcessFollow,
    ProcessUpdate,
    Stage,
    Statement,
    StatementVote,
    WallPost,
)
from massline.stages.service import FACILITATOR

# What people do in a process, in the order the dashboard shows it.
KINDS = ("priorities", "supports", "comments", "statements", "votes", "wall_posts")
QUEUE_PREVIEW = 5
LATEST_UPDATES = 3


@dataclass(frozen=True)
class Counts:
    """Distinct people and items of each kind."""

    people: int = 0
    priorities: int = 0
    supports: int = 0
    comments: int = 0
    statements: int = 0
    votes: int = 0
    wall_posts: int = 0

    @classmethod
    def from_row(cls, row: Any) -> Counts:
        """From a result row carrying one labelled column per field."""
        mapping = row._mapping
        return cls(people=mapping["people"], **{kind: mapping[kind] or 0 for kind in KINDS})


@dataclass(frozen=True)
class StageRow:
    """One stage with its clock and what happened in its time window."""

    stage: Stage
    state: str  # done | now | next
    ends_in: timedelta | None  # the current stage, while it runs
    starts_in: timedelta | None  # a later stage not yet begun
    overdue: bool  # the current stage's end passed; the next tick moves on
    counts: Counts


@dataclass(frozen=True)
class PlaceRow:
    """Participation by people whose home is this place."""

    code: str
    name: str
    counts: Counts


@dataclass(frozen=True)
class Dashboard:
    """Everything the facilitator's dashboard shows."""

    process: Process
    stages: list[StageRow]
    total: Counts
    places: list[PlaceRow]
    elsewhere: Counts  # people living outside the process's locality
    seeded: int
    pending_count: int
    pending: list[tuple[Statement, str]]
    followers: int
    updates_count: int
    latest_updates: list[ProcessUpdate]


def _rows(name: str, person: Any, created: Any) -> Any:
    # The kind is a literal in the SQL text, not a parameter: PostgreSQL must type it in UNION.
    return select(
        literal_column(f"'{name}'").label("kind"),
        person.label("person_id"),
        created.label("created_at"),
    )


def _activity(process_id: int) -> Subquery:
    """Every participant action in the process as (kind, person_id, created_at)."""
    in_process = Priority.process_id == process_id
    return union_all(
        _rows("priorities", Priority.author_id, Priority.created_at).where(
            in_process, Priority.status != "draft"
        ),
        _rows("supports", Support.user_id, Support.created_at)
        .join(Priority, Priority.id == Support.priority_id)
        .where(in_process),
        _rows("comments", Comment.user_id, Comment.created_at)
        .join(Priority, Priority.id == Comment.priority_id)
        .where(in_process),
        # Statements the facilitator seeded are the facilitator's work, not participation.
        _rows("statements", Statement.author_id, Statement.created_at).where(
            Statement.process_id == process_id, Statement.seeded.is_(False)
        ),
        _rows("votes", StatementVote.user_id, StatementVote.created_at)
        .join(Statement, Statement.id == StatementVote.statement_id)
        .where(Statement.process_id == process_id),
        _rows("wall_posts", WallPost.author_id, WallPost.created_at).where(
            WallPost.process_id == process_id
        ),
    ).subquery("activity")


def _measures(activity: Subquery) -> list[Any]:
    kind = activity.c.kind
    sums = [
        func.coalesce(func.sum(case((kind == name, 1), else_=0)), 0).label(name) for name in KINDS
    ]
    return [func.count(distinct(activity.c.person_id)).label("people"), *sums]


def participation_by_stage(session: Session, process: Process) -> dict[int, Counts]:
    """Counts per stage id; an action belongs to the stage whose [starts_at, ends_at) holds it."""
    activity = _activity(process.id)
    window = and_(activity.c.created_at >= Stage.starts_at, activity.c.created_at < Stage.ends_at)
    rows = session.execute(
        select(Stage.id, *_measures(activity))
        .select_from(Stage)
        .join(activity, window)
        .where(Stage.process_id == process.id)
        .group_by(Stage.id)
    )
    return {row.id: Counts.from_row(row) for row in rows}


def participation_by_home(session: Session, process: Process) -> dict[str, Counts]:
    """Counts per home locality code of the people who acted."""
    activity = _activity(process.id)
    rows = session.execute(
        select(User.home_code, *_measures(activity))
        .select_from(activity)
        .join(User, User.id == activity.c.person_id)
        .group_by(User.home_code)
    )
    return {row.home_code: Counts.from_row(row) for row in rows}


def _add(counts: list[Counts]) -> Counts:
    # Each person has one home, so distinct people add up across homes.
    fields = ("people", *KINDS)
    return Counts(**{name: sum(getattr(c, name) for c in counts) for name in fields})


def places(session: Session, process: Process) -> tuple[list[PlaceRow], Counts, Counts]:
    """Rows for the county-level places under the process's locality, the rest, and the total."""
    locality = process.locality
    by_home = participation_by_home(session, process)
    inside = {code: counts for code, counts in by_home.items() if locality.contains(code)}
    elsewhere = _add([c for code, c in by_home.items() if code not in inside])
    codes = set(inside)
    if locality.level in ("prefecture", "county"):
        # A few units: list the silent ones too, since that is where outreach is needed.
        # Prefectures without counties (东莞, 中山, 儋州) are their own county-level unit.
        units = session.scalars(
            select(Locality.code).where(
                Locality.level == "county", in_subtree(Locality.code, locality)
            )
        ).all()
        codes.update(units or [locality.code])
    names = dict(
        session.execute(select(Locality.code, Locality.name).where(Locality.code.in_(codes))).all()
    )
    rows = [PlaceRow(code, names.get(code, code), inside.get(code, Counts())) for code in codes]
    rows.sort(key=lambda row: (-row.counts.people, row.code))
    # Every action has a person and every person one home: the homes add up to the whole.
    return rows, elsewhere, _add(list(by_home.values()))


def stage_rows(process: Process, now: datetime, by_stage: dict[int, Counts]) -> list[StageRow]:
    """Each stage with its state, its countdown (ends in / starts in) and its counts."""
    rows = []
    for stage in process.stages:
        ends_in = starts_in = None
        overdue = False
        if stage.position < process.current_position:
            state = "done"
        elif stage.position == process.current_position:
            state = "now"
            overdue = stage.ends_at <= now
            ends_in = None if overdue else stage.ends_at - now
        else:
            state = "next"
            starts_in = stage.starts_at - now if stage.starts_at > now else None
        counts = by_stage.get(stage.id, Counts())
        rows.append(StageRow(stage, state, ends_in, starts_in, overdue, counts))
    return rows


def _count(session: Session, model: type, process: Process, *conditions: Any) -> int:
    query = select(func.count()).select_from(model).where(model.process_id == process.id)
    return session.scalar(query.where(*conditions)) or 0


def dashboard(session: Session, user: User | None, process: Process, now: datetime) -> Dashboard:
    """The whole dashboard for a facilitator whose scope holds the process (or an admin)."""
    require_role(user, FACILITATOR, process.locality)
    stages = stage_rows(process, now, participation_by_stage(session, process))
    place_rows, elsewhere, total = places(session, process)
    pending = session.execute(
        select(Statement, User.display_name)
        .join(User, User.id == Statement.author_id)
        .where(Statement.process_id == process.id, Statement.status == "pending")
        .order_by(Statement.created_at, Statement.id)
        .limit(QUEUE_PREVIEW)
    ).all()
    latest = session.scalars(
        select(ProcessUpdate)
        .where(ProcessUpdate.process_id == process.id)
        .order_by(ProcessUpdate.created_at.desc(), ProcessUpdate.id.desc())
        .limit(LATEST_UPDATES)
    ).all()
    return Dashboard(
        process=process,
        stages=stages,
        total=total,
        places=place_rows,
        elsewhere=elsewhere,
        seeded=_count(session, Statement, process, Statement.seeded.is_(True)),
        pending_count=_count(session, Statement, process, Statement.status == "pending"),
        pending=[(statement, name) for statement, name in pending],
        followers=_count(session, ProcessFollow, process),
        updates_count=_count(session, ProcessUpdate, process),
        latest_updates=list(latest),
    )
