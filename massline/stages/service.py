"""Running a process: creating it, moving and extending stages, and gating actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import require_role
from massline.errors import Conflict, NotFound, ValidationError
from massline.localities.models import Locality
from massline.stages.models import ACTIONS, Process, Stage, StageChange
from massline.stages.templates import TEMPLATES

FACILITATOR = "facilitator"


@dataclass(frozen=True)
class StageInput:
    """One stage of a custom process."""

    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime
    actions: tuple[str, ...]
    briefing: str = ""


def stages_from_template(name: str, starts_at: datetime) -> list[StageInput]:
    """Back-to-back dated stages from a template, starting at `starts_at`."""
    if name not in TEMPLATES:
        raise ValidationError(fields={"template": _l("Unknown template.")})
    stages, start = [], starts_at
    for item in TEMPLATES[name]:
        end = start + timedelta(days=item.days)
        stages.append(StageInput(item.kind, item.title, start, end, item.actions))
        start = end
    return stages


def create_process(
    session: Session,
    facilitator: User | None,
    *,
    title: str,
    description: str,
    locality: Locality,
    template: str,
    stages: list[StageInput],
) -> Process:
    """A process in the facilitator's subtree with checked, ordered stages."""
    require_role(facilitator, FACILITATOR, locality)
    if not stages:
        raise ValidationError(fields={"stages": _l("A process needs at least one stage.")})
    for before, after in zip(stages, stages[1:], strict=False):
        if after.starts_at < before.ends_at:
            raise ValidationError(fields={"stages": _l("Stages must follow one another in time.")})
    for stage in stages:
        if stage.ends_at <= stage.starts_at or not set(stage.actions) <= set(ACTIONS):
            raise ValidationError(fields={"stages": _l("Each stage needs an end after its start.")})
    process = Process(
        title=title, description=description, locality_code=locality.code, template=template,
        created_by_id=facilitator.id,
    )  # fmt: skip
    process.stages = [
        Stage(position=i, kind=s.kind, title=s.title, briefing=s.briefing, actions=list(s.actions),
              starts_at=s.starts_at, ends_at=s.ends_at)
        for i, s in enumerate(stages)
    ]  # fmt: skip
    session.add(process)
    session.flush()
    return process


def get_process(session: Session, process_id: int) -> Process:
    """A process by id, or NotFound."""
    process = session.get(Process, process_id) if 0 < process_id < 2**31 else None
    if process is None:
        raise NotFound()
    return process


def _log(
    session: Session,
    process: Process,
    user: User | None,
    kind: str,
    to: int,
    reason: str,
    now: datetime,
) -> None:  # noqa: E501
    session.add(
        StageChange(
            process_id=process.id, user_id=user.id if user else None, kind=kind,
            from_position=process.current_position, to_position=to, reason=reason, at=now,
        )
    )  # fmt: skip


def advance(
    session: Session,
    facilitator: User | None,
    process: Process,
    reason: str,
    now: datetime,
    *,
    from_position: int | None = None,
) -> Process:
    """Move to the next stage now; 409 at the last one, or if it moved since `from_position`."""
    require_role(facilitator, FACILITATOR, process.locality)
    start = process.current_position
    if from_position is not None and from_position != start:
        raise Conflict(
            _l("The consultation is already in “%(stage)s”.", stage=process.current_stage.title)
        )
    if start + 1 >= len(process.stages):
        raise Conflict(_l("This is the last stage; there is nothing to advance to."))
    # Two requests at once (a double click, two facilitators): only one moves the process.
    if not _claim_move(session, process, start, start + 1):
        raise Conflict(_l("The consultation was moved a moment ago; reload the page."))
    _move(session, process, facilitator, "advance", reason, now)
    _announce(session, process, now, reason=reason)
    return process


def _move(
    session: Session, process: Process, user: User | None, kind: str, reason: str, now: datetime
) -> None:  # noqa: E501
    to = process.current_position + 1
    _log(session, process, user, kind, to, reason, now)
    # The next stage starts now (earlier than planned when a facilitator advances).
    process.current_stage.ends_at = min(process.current_stage.ends_at, now)
    process.current_position = to
    process.current_stage.starts_at = now
    session.flush()


def extend(
    session: Session,
    facilitator: User | None,
    process: Process,
    days: int,
    reason: str,
    now: datetime,
) -> Process:  # noqa: E501
    """Give the current stage more days; later stages move with it."""
    require_role(facilitator, FACILITATOR, process.locality)
    shift = timedelta(days=days)
    for stage in process.stages[process.current_position :]:
        if stage.position > process.current_position:
            stage.starts_at += shift
        stage.ends_at += shift
    _log(session, process, facilitator, "extend", process.current_position, reason, now)
    session.flush()
    _announce(session, process, now, extended=True, reason=reason)
    return process


def advance_due(session: Session, now: datetime) -> int:
    """The tick: move every process whose current stage has ended; returns how many moves."""
    moved = 0
    for process in session.scalars(select(Process)).unique():
        start, to = process.current_position, process.current_position
        while to + 1 < len(process.stages) and process.stages[to].ends_at <= now:
            to += 1
        if to == start or not _claim_move(session, process, start, to):
            continue
        while process.current_position < to:
            step = process.current_position + 1
            _log(session, process, None, "schedule", step, "", process.current_stage.ends_at)
            process.current_position = step
            moved += 1
        # One announcement per process and tick: stages skipped while the tick was down are over.
        _announce(session, process, now)
    session.flush()
    return moved


def _claim_move(session: Session, process: Process, start: int, to: int) -> bool:
    """Move the process only if no concurrent tick moved it first (so each move is logged once)."""
    claimed = session.execute(
        update(Process)
        .where(Process.id == process.id, Process.current_position == start)
        .values(current_position=to)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(claimed)


def _announce(
    session: Session, process: Process, now: datetime, *, extended: bool = False, reason: str = ""
) -> None:
    # Imported here: updates.py builds on this module (roles, processes).
    from massline.stages.updates import announce_stage

    announce_stage(session, process, now, extended=extended, reason=reason)


def require_action(process: Process, action: str, now: datetime) -> None:
    """409 unless the current stage allows the action, naming the stage and when it opens."""
    stage = process.current_stage
    if action in stage.actions and stage.starts_at <= now < stage.ends_at:
        return
    later = next(
        (s for s in process.stages[process.current_position + 1 :] if action in s.actions), None
    )
    if later is None:
        raise Conflict(
            _l(
                "The process is in its “%(stage)s” stage; this is no longer possible.",
                stage=stage.title,
            )
        )
    raise Conflict(
        _l(
            "The process is in its “%(stage)s” stage; this opens in “%(next)s” on %(date)s.",
            stage=stage.title,
            next=later.title,
            date=format_datetime(later.starts_at, "yyyy-MM-dd"),
        )
    )


def audit_log(session: Session, process: Process) -> list[StageChange]:
    """Every stage change, oldest first."""
    query = select(StageChange).where(StageChange.process_id == process.id).order_by(StageChange.id)
    return list(session.scalars(query))


def audit_names(session: Session, changes: list[StageChange]) -> dict[int, str]:
    """The public names of the people in the audit log (changes by the schedule have none)."""
    ids = {c.user_id for c in changes if c.user_id is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
