"""Priorities: writing, publishing, supporting, retiring and archiving."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, lazyload

from massline.accounts.models import User
from massline.accounts.service import has_role, lives_in
from massline.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationError
from massline.localities.models import Locality
from massline.localities.service import get_locality
from massline.models_common import utcnow
from massline.parsing import DB_INT_MAX
from massline.priorities.models import SUPPORTABLE, Category, Follow, Priority, Support
from massline.priorities.schemas import PriorityInput, RetireInput
from massline.sql import insert_ignoring_duplicates
from massline.stages.models import Process
from massline.stages.service import get_process, require_action
from massline.text import analyse


@dataclass(frozen=True)
class ThresholdRule:
    """How many supports a locality's priorities need: a share of residents, with a floor."""

    rate: float = 0.01
    floor: int = 100
    rates_by_level: tuple[tuple[str, float], ...] = ()

    def for_locality(self, locality: Locality) -> int:
        """The threshold for priorities of this locality."""
        rate = dict(self.rates_by_level).get(locality.level, self.rate)
        return max(self.floor, math.ceil((locality.population or 0) * rate))


def get_priority(session: Session, priority_id: int, viewer: User | None = None) -> Priority:
    """A priority the viewer may see: drafts only to their author, hidden ones to moderators."""
    # Ids beyond the INTEGER range (a URL can carry any digits) cannot exist.
    priority = session.get(Priority, priority_id) if 0 < priority_id <= DB_INT_MAX else None
    if priority is None:
        raise NotFound()
    if priority.status == "draft" and not _is_author(priority, viewer):
        raise NotFound()
    if priority.hidden_at is not None and not (
        _is_author(priority, viewer) or has_role(viewer, "facilitator", priority.locality)
    ):
        raise NotFound()
    return priority


def _is_author(priority: Priority, user: User | None) -> bool:
    return user is not None and user.id in (priority.author_id, priority.entered_by_id)


def _require_verified(user: User | None) -> User:
    if user is None:
        raise Unauthorized()
    if not user.is_verified:
        raise Forbidden(_l("Verify your phone number first."))
    return user


def _category(session: Session, slug: str | None) -> Category | None:
    if slug is None:
        return None
    found = session.scalar(select(Category).where(Category.slug == slug))
    if found is None:
        raise ValidationError(fields={"category": _l("Unknown category.")})
    return found


def _index_text(title: str, body: str) -> tuple[str, str]:
    """Search text (padded so a token matches as ' token ') and topic tokens, one segmentation."""
    analysis = analyse(title + "\n" + body)
    return " " + " ".join(analysis.search_tokens) + " ", " ".join(analysis.tokens)


def _process_for(
    session: Session, process_id: int | None, locality: Locality, action: str, now: datetime
) -> Process | None:
    """The process a priority is made through, checked for place and stage."""
    if process_id is None:
        return None
    try:
        process = get_process(session, process_id)
    except NotFound as error:
        raise NotFound(fields={"process_id": _l("Unknown process.")}) from error
    if not process.locality.contains(locality.code):
        raise ValidationError(fields={"process_id": _l("This process does not cover that place.")})
    require_action(process, action, now)
    return process


def create_priority(
    session: Session,
    author: User,
    data: PriorityInput,
    *,
    rule: ThresholdRule,
    entered_by: User | None = None,
    now: datetime | None = None,
) -> Priority:
    """A new priority in the author's locality subtree, as a draft or published."""
    now = now or utcnow()
    locality = get_locality(session, data.locality_code)
    if entered_by is not None:
        if not has_role(entered_by, "community_worker", locality):
            raise Forbidden(_l("Only community workers of this locality may enter priorities."))
    else:
        _require_verified(author)
    # A paper form entered by the worker names no account: the worker's scope decides.
    if author is not entered_by and not lives_in(author, locality):
        raise Forbidden(
            _l("You can only submit priorities for the places you live in."),
            fields={"locality_code": _l("Not a locality that contains your home.")},
        )
    process = _process_for(session, data.process_id, locality, "submit", now)
    priority = Priority(
        process_id=process.id if process else None,
        title=data.title,
        body=data.body,
        locality_code=locality.code,
        province_code=locality.province_code,
        category=_category(session, data.category),
        author_id=author.id,
        entered_by_id=entered_by.id if entered_by else None,
        status="draft",
        created_at=now,
        updated_at=now,
    )
    priority.search_text, priority.tokens = _index_text(data.title, data.body)
    session.add(priority)
    session.flush()
    if not data.draft:
        publish(session, priority, entered_by or author, rule=rule, now=now)
    follow(session, priority, author)
    return priority


def publish(
    session: Session,
    priority: Priority,
    user: User,
    *,
    rule: ThresholdRule,
    now: datetime | None = None,
) -> Priority:
    """Make a draft public and fix its threshold from the locality's population."""
    if not _is_author(priority, user):
        raise Forbidden()
    if priority.status != "draft":
        raise Conflict(_l("Only drafts can be published."))
    priority.status = "published"
    priority.published_at = now or utcnow()
    priority.threshold = rule.for_locality(priority.locality)
    session.flush()
    from massline.themes.service import assign_on_arrival  # late: themes imports priorities

    assign_on_arrival(session, priority)
    return priority


def edit_priority(
    session: Session, priority: Priority, user: User, data: PriorityInput
) -> Priority:
    """Change a priority's text while nobody has supported it yet."""
    if not _is_author(priority, user):
        raise Forbidden(_l("Only the author can edit this priority."))
    if priority.status not in ("draft", "published") or priority.total_supports > 0:
        raise Conflict(_l("A priority cannot be edited once people have supported it."))
    if data.locality_code != priority.locality_code:
        locality = get_locality(session, data.locality_code)
        if not lives_in(priority.author, locality):
            raise Forbidden(fields={"locality_code": _l("Not a locality that contains your home.")})
        if priority.status != "draft":
            raise Conflict(fields={"locality_code": _l("The locality is fixed once published.")})
        priority.locality_code = locality.code
        priority.province_code = locality.province_code
    priority.title = data.title
    priority.body = data.body
    priority.category = _category(session, data.category)
    priority.search_text, priority.tokens = _index_text(data.title, data.body)
    priority.updated_at = utcnow()
    session.flush()
    return priority


def retire(session: Session, priority: Priority, user: User, data: RetireInput) -> Priority:
    """The author withdraws a priority, giving a reason; supports stay recorded."""
    if not _is_author(priority, user):
        raise Forbidden(_l("Only the author can retire this priority."))
    if priority.status not in ("draft", "published", "successful"):
        raise Conflict(_l("This priority can no longer be retired."))
    priority.status = "retired"
    priority.retire_reason = data.reason
    priority.retire_explanation = data.explanation
    priority.retired_at = utcnow()
    session.flush()
    return priority


@dataclass(frozen=True)
class SupportResult:
    """What a support did: whether it was new, and the counts afterwards."""

    created: bool
    supports: int
    threshold: int
    status: str


def support(
    session: Session,
    priority_id: int,
    user: User,
    *,
    entered_by: User | None = None,
    now: datetime | None = None,
) -> SupportResult:
    """Record one person's support once; a replay changes nothing."""
    now = now or utcnow()
    # The hot path of the API: load the priority with its locality only (the author's and
    # category's joins, and the author's roles, are not needed to count a support).
    # get_priority then finds it in the identity map, which holds it only while this
    # reference lives.
    preloaded = (
        session.get(
            Priority, priority_id, options=[lazyload(Priority.author), lazyload(Priority.category)]
        )
        if 0 < priority_id <= DB_INT_MAX
        else None
    )
    priority = get_priority(session, priority_id, user)
    del preloaded  # `priority` holds it from here on
    if entered_by is not None:
        if not has_role(entered_by, "community_worker", priority.locality):
            raise Forbidden(_l("Only community workers of this locality may record supports."))
    elif not user.is_verified:
        raise Forbidden(_l("Verify your phone number first."))
    if not lives_in(user, priority.locality):
        raise Forbidden(
            _l("Only residents of %(place)s can support this.", place=priority.locality.name)
        )
    if priority.status not in SUPPORTABLE or priority.hidden_at is not None:
        raise Conflict(_l("This priority is not open for supports."))
    if priority.process_id is not None:
        require_action(get_process(session, priority.process_id), "support", now)
    priority_id = priority.id
    support_id = insert_ignoring_duplicates(
        session,
        Support,
        {
            "priority_id": priority_id,
            "user_id": user.id,
            "entered_by_id": entered_by.id if entered_by else None,
            "created_at": now,
        },
        ["priority_id", "user_id"],
    )
    if support_id is None:
        # A racing duplicate waited for the winner's commit: report the counts as they are
        # now, not as they were when this request loaded the priority.
        session.refresh(priority, ["supports_count", "offline_supports", "threshold", "status"])
        return SupportResult(False, priority.total_supports, priority.threshold, priority.status)
    # One atomic increment: the row lock is per priority, so voters of other
    # priorities never wait on each other.
    row = Priority.__table__.c
    supports, offline, threshold, status = (
        session.connection()
        .execute(
            update(Priority.__table__)
            .where(row.id == priority_id)
            .values(supports_count=row.supports_count + 1)
            .returning(row.supports_count, row.offline_supports, row.threshold, row.status)
        )
        .one()
    )
    if status == "published" and supports + offline >= threshold:
        status = mark_successful(session, priority_id, now)
    # Stale in memory now; the plain priority_id below keeps it from reloading mid-request.
    session.expire(priority)
    insert_ignoring_duplicates(
        session,
        Follow,
        {"priority_id": priority_id, "user_id": user.id, "created_at": now},
        ["priority_id", "user_id"],
    )
    return SupportResult(True, supports + offline, threshold, status)


def mark_successful(session: Session, priority_id: int, now: datetime) -> str:
    """Move a published priority to successful exactly once; returns its status."""
    session.execute(
        update(Priority)
        .where(Priority.id == priority_id, Priority.status == "published")
        .values(status="successful", successful_at=now)
        .execution_options(synchronize_session=False)
    )
    return "successful"


def add_offline_supports(session: Session, priority: Priority, count: int, now: datetime) -> None:
    """Add supports collected on paper (assisted, not tied to accounts)."""
    session.execute(
        update(Priority)
        .where(Priority.id == priority.id)
        .values(offline_supports=Priority.offline_supports + count)
        .execution_options(synchronize_session=False)
    )
    session.refresh(priority)
    if priority.status == "published" and priority.total_supports >= priority.threshold:
        mark_successful(session, priority.id, now)
        session.refresh(priority)


def follow(session: Session, priority: Priority, user: User) -> bool:
    """Follow a priority; True if this was new."""
    created = insert_ignoring_duplicates(
        session,
        Follow,
        {"priority_id": priority.id, "user_id": user.id, "created_at": utcnow()},
        ["priority_id", "user_id"],
    )
    return created is not None


def unfollow(session: Session, priority: Priority, user: User) -> None:
    """Stop following a priority."""
    found = session.scalar(
        select(Follow).where(Follow.priority_id == priority.id, Follow.user_id == user.id)
    )
    if found is not None:
        session.delete(found)
        session.flush()


def is_following(session: Session, priority: Priority, user: User | None) -> bool:
    """Whether the user follows the priority."""
    if user is None:
        return False
    query = select(Follow.id).where(Follow.priority_id == priority.id, Follow.user_id == user.id)
    return session.scalar(query) is not None


def has_supported(session: Session, priority: Priority, user: User | None) -> bool:
    """Whether the user has supported the priority."""
    if user is None:
        return False
    query = select(Support.id).where(Support.priority_id == priority.id, Support.user_id == user.id)
    return session.scalar(query) is not None


def archive_stale(session: Session, now: datetime, *, months: int) -> int:
    """Archive published priorities that did not succeed within `months`; returns how many."""
    cutoff = now - timedelta(days=round(months * 365.25 / 12))
    result = session.execute(
        update(Priority)
        .where(Priority.status == "published", Priority.published_at < cutoff)
        .values(status="archived", archived_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
