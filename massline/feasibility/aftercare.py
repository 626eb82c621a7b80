"""After adoption: milestones, citizens' monitoring, the completion report and ratings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import lives_in, require_role
from massline.errors import Conflict, Forbidden, Unauthorized
from massline.feasibility.models import Milestone, Monitor, MonitoringPost, Rating, Report
from massline.feasibility.service import OFFICIAL
from massline.models_common import utcnow
from massline.priorities.models import Priority
from massline.sql import insert_ignoring_duplicates
from massline.stages.service import get_process, require_action
from massline.storage import Storage, check_image

UNDER_WAY = ("adopt", "pilot")


def _require_under_way(report: Report) -> None:
    if report.status != "published" or report.decision not in UNDER_WAY:
        raise Conflict(_l("Only adopted or piloted work can be followed up."))


def _require_resident(user: User | None, report: Report) -> User:
    if user is None:
        raise Unauthorized()
    if not user.is_verified:
        raise Forbidden(_l("Verify your phone number first."))
    if not lives_in(user, report.locality):
        raise Forbidden(_l("Only residents of %(place)s can do this.", place=report.locality.name))
    return user


def add_milestone(
    session: Session, report: Report, user: User, *, title: str, due_on: date, progress: int
) -> Milestone:
    """Officials in scope add a dated step to adopted work."""
    require_role(user, OFFICIAL, report.locality)
    _require_under_way(report)
    milestone = Milestone(report_id=report.id, title=title, due_on=due_on, progress=progress)
    if progress == 100:
        milestone.done_at = utcnow()
    session.add(milestone)
    session.flush()
    return milestone


def update_progress(session: Session, milestone: Milestone, user: User, progress: int) -> Milestone:
    """Officials in scope move a milestone's progress."""
    report = session.get(Report, milestone.report_id)
    require_role(user, OFFICIAL, report.locality)
    milestone.progress = progress
    milestone.done_at = utcnow() if progress == 100 else None
    session.flush()
    return milestone


def monitor(session: Session, report: Report, user: User | None) -> bool:
    """A resident presses "I want to monitor"; True if new."""
    resident = _require_resident(user, report)
    _require_under_way(report)
    created = insert_ignoring_duplicates(
        session,
        Monitor,
        {"report_id": report.id, "user_id": resident.id, "created_at": utcnow()},
        ["report_id", "user_id"],
    )
    return created is not None


def post_monitoring(
    session: Session,
    report: Report,
    user: User | None,
    *,
    body: str,
    photo: bytes | None,
    storage: Storage,
    max_bytes: int,
) -> MonitoringPost:
    """A resident's note with an optional photo, checked before anything is stored."""
    resident = _require_resident(user, report)
    _require_under_way(report)
    extension = check_image(photo, max_bytes=max_bytes) if photo else None
    key = storage.save(photo, extension) if photo and extension else None
    try:
        post = MonitoringPost(report_id=report.id, user_id=resident.id, body=body, photo_key=key)
        session.add(post)
        session.flush()
    except Exception:
        if key:
            storage.delete(key)
        raise
    insert_ignoring_duplicates(
        session,
        Monitor,
        {"report_id": report.id, "user_id": resident.id, "created_at": utcnow()},
        ["report_id", "user_id"],
    )
    return post


def complete(session: Session, report: Report, user: User, summary: str, now: datetime) -> Report:
    """The implementing side's completion report; ratings open."""
    require_role(user, OFFICIAL, report.locality)
    _require_under_way(report)
    report.completion_summary = summary
    report.completed_at = report.completed_at or now
    if report.subject_type == "priority":
        priority = session.get(Priority, report.subject_id)
        if priority is not None and priority.status in ("adopted", "piloted"):
            priority.status = "implemented"
    session.flush()
    return report


def _require_rating_stage(session: Session, report: Report, now: datetime) -> None:
    # Work that came out of a consultation is rated in that consultation's evaluation stage.
    if report.subject_type != "priority":
        return
    process_id = session.scalar(select(Priority.process_id).where(Priority.id == report.subject_id))
    if process_id is not None:
        require_action(get_process(session, process_id), "rate", now)


def rate(
    session: Session,
    report: Report,
    user: User | None,
    stars: int,
    comment: str | None,
    now: datetime | None = None,
) -> Rating:
    """A resident rates the finished work once."""
    resident = _require_resident(user, report)
    if report.completed_at is None:
        raise Conflict(_l("Ratings open when the work is reported complete."))
    _require_rating_stage(session, report, now or utcnow())
    rating = Rating(report_id=report.id, user_id=resident.id, stars=stars, comment=comment)
    try:
        with session.begin_nested():
            session.add(rating)
    except IntegrityError as error:
        raise Conflict(_l("You have already rated this work.")) from error
    return rating


@dataclass(frozen=True)
class Satisfaction:
    """The public evaluation figures."""

    count: int
    satisfied: int
    average: float | None
    rate: float | None
    accepted: bool

    def to_dict(self) -> dict:
        """As JSON."""
        return self.__dict__.copy()


def satisfaction(
    session: Session, report: Report, *, threshold: float, min_ratings: int
) -> Satisfaction:
    """Share of 4–5 stars; accepted by residents above `threshold` with enough ratings."""
    count, satisfied, total = session.execute(
        select(
            func.count(Rating.id),
            func.coalesce(func.sum(case((Rating.stars >= 4, 1), else_=0)), 0),
            func.coalesce(func.sum(Rating.stars), 0),
        ).where(Rating.report_id == report.id)
    ).one()
    share = satisfied / count if count else None
    return Satisfaction(
        count=count,
        satisfied=int(satisfied),
        average=round(total / count, 2) if count else None,
        rate=round(share, 4) if share is not None else None,
        accepted=bool(count >= min_ratings and share is not None and share > threshold),
    )
