"""Comments, flags and moderation of priorities and comments."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import has_role, require_role
from massline.errors import Conflict, Forbidden, NotFound, Unauthorized
from massline.models_common import utcnow
from massline.parsing import DB_INT_MAX
from massline.priorities.models import Comment, Flag, Priority
from massline.priorities.schemas import CommentInput
from massline.stages.service import get_process, require_action

MODERATOR_ROLE = "facilitator"


def add_comment(
    session: Session, priority: Priority, user: User | None, data: CommentInput
) -> Comment:
    """A verified person's comment, or a reply to a top-level comment."""
    if user is None:
        raise Unauthorized()
    if not user.is_verified:
        raise Forbidden(_l("Verify your phone number first."))
    if priority.status in ("draft", "retired", "archived") or priority.hidden_at is not None:
        raise Conflict(_l("This priority is closed for comments."))
    if priority.process_id is not None:
        require_action(get_process(session, priority.process_id), "comment", utcnow())
    if data.parent_id is not None:
        parent = session.get(Comment, data.parent_id)
        if parent is None or parent.priority_id != priority.id or parent.hidden_at is not None:
            raise NotFound(fields={"parent_id": _l("No such comment on this priority.")})
        if parent.parent_id is not None:
            raise Conflict(fields={"parent_id": _l("Replies cannot be replied to.")})
    comment = Comment(
        priority_id=priority.id, user_id=user.id, parent_id=data.parent_id, body=data.body
    )
    session.add(comment)
    session.execute(
        update(Priority)
        .where(Priority.id == priority.id)
        .values(comments_count=Priority.comments_count + 1)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return comment


def comment_threads(
    session: Session, priority: Priority, viewer: User | None
) -> list[tuple[Comment, list[Comment]]]:
    """Top-level comments with their replies, oldest first; hidden ones only to moderators."""
    statement = select(Comment).where(Comment.priority_id == priority.id).order_by(Comment.id)
    if not has_role(viewer, MODERATOR_ROLE, priority.locality):
        statement = statement.where(Comment.hidden_at.is_(None))
    comments = list(session.scalars(statement).unique())
    replies: dict[int, list[Comment]] = {}
    for comment in comments:
        if comment.parent_id is not None:
            replies.setdefault(comment.parent_id, []).append(comment)
    return [(c, replies.get(c.id, [])) for c in comments if c.parent_id is None]


def _target(session: Session, target_type: str, target_id: int) -> Priority | Comment:
    model = {"priority": Priority, "comment": Comment}.get(target_type)
    # Ids beyond the INTEGER range (a URL can carry any digits) cannot exist.
    found = session.get(model, target_id) if model and 0 < target_id <= DB_INT_MAX else None
    if found is None:
        raise NotFound()
    return found


def _locality_of(session: Session, target: Priority | Comment):  # noqa: ANN202
    if isinstance(target, Comment):
        return session.get(Priority, target.priority_id).locality
    return target.locality


def flag(
    session: Session, user: User | None, target_type: str, target_id: int, reason: str
) -> bool:
    """Report an item to the moderators once; True if this flag is new."""
    if user is None:
        raise Unauthorized()
    target = _target(session, target_type, target_id)
    # Only what the user can see may be flagged; otherwise 201-versus-404 would reveal
    # other people's drafts and hidden items.
    from massline.priorities.service import get_priority  # late: service imports schemas

    priority = get_priority(session, getattr(target, "priority_id", target_id), user)
    hidden_comment = isinstance(target, Comment) and target.hidden_at is not None
    if hidden_comment and not has_role(user, MODERATOR_ROLE, priority.locality):
        raise NotFound()
    try:
        with session.begin_nested():
            session.add(
                Flag(user_id=user.id, target_type=target_type, target_id=target_id, reason=reason)
            )
    except IntegrityError:
        return False
    # One atomic increment, so concurrent flags are all counted.
    session.execute(
        update(type(target))
        .where(type(target).id == target.id)
        .values(flags_count=type(target).flags_count + 1)
        .execution_options(synchronize_session=False)
    )
    session.expire(target, ["flags_count"])
    return True


def moderate(
    session: Session, moderator: User | None, target_type: str, target_id: int, *, hide: bool
) -> None:
    """Hide or restore an item; facilitators (and admins) of its locality only."""
    target = _target(session, target_type, target_id)
    require_role(moderator, MODERATOR_ROLE, _locality_of(session, target))
    target.hidden_at = utcnow() if hide else None
    session.execute(
        update(Flag)
        .where(
            Flag.target_type == target_type, Flag.target_id == target_id, Flag.resolved_at.is_(None)
        )
        .values(resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()


def moderation_queue(session: Session, moderator: User) -> list[tuple[str, Priority | Comment]]:
    """Flagged items with open flags in the moderator's scopes, most flagged first."""
    open_flags = (
        select(Flag.target_type, Flag.target_id).where(Flag.resolved_at.is_(None)).distinct()
    )
    items: list[tuple[str, Priority | Comment]] = []
    for target_type, target_id in session.execute(open_flags):
        target = session.get({"priority": Priority, "comment": Comment}[target_type], target_id)
        if target is not None and has_role(
            moderator, MODERATOR_ROLE, _locality_of(session, target)
        ):
            items.append((target_type, target))
    items.sort(key=lambda item: -item[1].flags_count)
    return items
