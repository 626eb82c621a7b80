"""The planner's workflow: ideas, immutable match runs, designating and replacing pilots."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import require_role
from massline.errors import Conflict, NotFound, ValidationError
from massline.feasibility.service import open_report
from massline.localities.models import Locality
from massline.localities.service import get_locality
from massline.matching.models import Idea, MatchRun, Pilot
from massline.matching.service import MatchRequest, match
from massline.notifications.service import notify_in_app
from massline.priorities.models import Priority, Support

PLANNER = "planner"


def create_idea(
    session: Session, planner: User | None, *, title: str, body: str, level: str
) -> Idea:
    """A central idea; planners only."""
    require_role(planner, PLANNER)
    idea = Idea(title=title, body=body, level=level, created_by_id=planner.id)
    session.add(idea)
    session.flush()
    return idea


def get_idea(session: Session, idea_id: int) -> Idea:
    """An idea by id, or NotFound."""
    idea = session.get(Idea, idea_id) if 0 < idea_id < 2**31 else None
    if idea is None:
        raise NotFound()
    return idea


def run_match(
    session: Session, planner: User | None, idea: Idea, request: MatchRequest
) -> MatchRun:
    """Run the engine for an idea and keep parameters and results as they were."""
    require_role(planner, PLANNER)
    unknown = [c for c in (*request.exclude, *request.include) if session.get(Locality, c) is None]
    if unknown:
        raise ValidationError(
            fields={"exclude": _l("Unknown locality: %(codes)s", codes=", ".join(unknown))}
        )
    result = match(session, request)
    run = MatchRun(idea_id=idea.id, params=asdict(request), result=result, created_by_id=planner.id)
    session.add(run)
    session.flush()
    return run


def designate(
    session: Session,
    planner: User | None,
    run: MatchRun,
    codes: list[str],
    now: datetime,
    *,
    months: int,
) -> list[Pilot]:
    """Make pilots of chosen sites: each opens a feasibility report and tells the citizens."""
    require_role(planner, PLANNER)
    offered = {row["code"]: row for row in run.result["ranking"] + run.result["portfolio"]}
    missing = [code for code in codes if code not in offered]
    if not codes or missing:
        raise ValidationError(fields={"codes": _l("Choose sites from this run's results.")})
    pilots = []
    for code in dict.fromkeys(codes):
        pilot = Pilot(
            idea_id=run.idea_id, run_id=run.id, locality_code=code, designated_by_id=planner.id,
            designated_at=now,
        )  # fmt: skip
        try:
            with session.begin_nested():
                session.add(pilot)
        except IntegrityError as error:
            raise Conflict(
                _l("%(place)s is already a pilot site for this idea.", place=code)
            ) from error
        open_report(session, "pilot", pilot.id, get_locality(session, code), now, months=months)
        _tell_the_askers(session, run, offered[code])
        pilots.append(pilot)
    return pilots


def _tell_the_askers(session: Session, run: MatchRun, row: dict) -> None:
    """From the masses, to the masses: the people whose priorities made the case hear of it."""
    ids = [item["id"] for item in row.get("evidence", [])]
    if not ids:
        return
    idea = session.get(Idea, run.idea_id)
    people = (
        select(Priority.author_id)
        .where(Priority.id.in_(ids))
        .union(select(Support.user_id).where(Support.priority_id.in_(ids)))
    )
    text = f"您提出或支持的诉求促成了“{idea.title}”在{row['name']}试点。"
    notify_in_app(session, session.scalars(people), text)


def refuse(
    session: Session, planner: User | None, pilot: Pilot, reason: str, now: datetime
) -> dict | None:
    """Record a site's refusal; returns the next-best site of the same stratum to offer."""
    require_role(planner, PLANNER)
    if pilot.status == "refused":
        raise Conflict(_l("This site has already refused."))
    pilot.status = "refused"
    pilot.refused_at = now
    pilot.refusal_reason = reason
    run = session.get(MatchRun, pilot.run_id)
    taken = set(session.scalars(select(Pilot.locality_code).where(Pilot.idea_id == pilot.idea_id)))
    stratum = next(
        (row["stratum"] for row in run.result["ranking"] + run.result["portfolio"]
         if row["code"] == pilot.locality_code),
        None,
    )  # fmt: skip
    session.flush()
    for row in run.result["ranking"]:
        if row["code"] not in taken and (stratum is None or row["stratum"] == stratum):
            return row
    return None
