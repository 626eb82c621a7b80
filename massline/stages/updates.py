"""Following a process and the facilitator's updates to its followers (in-app and email)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import require_role
from massline.errors import Unauthorized
from massline.notifications.service import Recipient, notify_people
from massline.sql import insert_ignoring_duplicates
from massline.stages.models import Process, ProcessFollow, ProcessUpdate
from massline.stages.service import FACILITATOR

# Announcements go to every follower at once, often from the tick, which has no request:
# they are written in the platform's default language.
ANNOUNCEMENT_LOCALE = "zh_CN"


def follow(session: Session, user: User | None, process: Process, now: datetime) -> bool:
    """Follow a process; True if new."""
    if user is None:
        raise Unauthorized()
    created = insert_ignoring_duplicates(
        session,
        ProcessFollow,
        {"process_id": process.id, "user_id": user.id, "created_at": now},
        ["process_id", "user_id"],
    )
    return created is not None


def unfollow(session: Session, user: User | None, process: Process) -> bool:
    """Stop following a process; True if the person was following it."""
    if user is None:
        raise Unauthorized()
    removed = session.execute(
        delete(ProcessFollow)
        .where(ProcessFollow.process_id == process.id, ProcessFollow.user_id == user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(removed)


def is_following(session: Session, user: User | None, process: Process) -> bool:
    """Whether the person follows the process."""
    if user is None:
        return False
    query = select(ProcessFollow.id).where(
        ProcessFollow.process_id == process.id, ProcessFollow.user_id == user.id
    )
    return session.scalar(query) is not None


def recent_updates(session: Session, process: Process, *, limit: int = 10) -> list[ProcessUpdate]:
    """The facilitators' newest updates, newest first: public on the process page too."""
    query = (
        select(ProcessUpdate)
        .where(ProcessUpdate.process_id == process.id)
        .order_by(ProcessUpdate.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def post_update(
    session: Session,
    facilitator: User | None,
    process: Process,
    title: str,
    body: str,
    now: datetime,
) -> ProcessUpdate:
    """A facilitator's update: one in-app message per follower, and an email where they gave one."""
    require_role(facilitator, FACILITATOR, process.locality)
    update = ProcessUpdate(process_id=process.id, author_id=facilitator.id, title=title, body=body)
    session.add(update)
    session.flush()
    notify_followers(session, process, title, body, now)
    return update


def notify_followers(
    session: Session, process: Process, title: str, body: str, now: datetime
) -> int:
    """Tell every follower of the process: in-app, and by email where they gave one.

    Returns how many followers were told. Every announcement to followers goes through here
    (facilitators' updates, stage changes, published stage summaries). Followers who chose
    one email a day get it in their daily digest instead of an email of its own.
    """
    followers = session.execute(
        select(User.id, User.email, User.email_digest)
        .join(ProcessFollow, ProcessFollow.user_id == User.id)
        .where(ProcessFollow.process_id == process.id)
        .order_by(User.id)
    ).all()
    subject = f"【{process.title}】{title}"
    people = (Recipient(user_id, email, digest) for user_id, email, digest in followers)
    return notify_people(session, people, subject, body, now)


def announce_stage(
    session: Session, process: Process, now: datetime, *, extended: bool = False, reason: str = ""
) -> int:
    """Tell the followers which stage the process is in now and until when (or its new end).

    Called once for each change (a facilitator's advance or extension, or the tick moving
    the process on its dates); returns how many followers were told.
    """
    stage = process.current_stage
    with force_locale(ANNOUNCEMENT_LOCALE):
        until = format_datetime(stage.ends_at, "yyyy-MM-dd HH:mm")
        names = {"process": process.title, "stage": stage.title, "date": until}
        if extended:
            title = _("The stage “%(stage)s” is extended", **names)
            body = _("The stage “%(stage)s” of “%(process)s” now lasts until %(date)s.", **names)
        else:
            title = _("Now in its stage “%(stage)s”", **names)
            body = _(
                "The consultation “%(process)s” is now in its stage “%(stage)s” until %(date)s.",
                **names,
            )
        if reason:
            body += "\n\n" + _("The facilitator’s reason: %(reason)s", reason=reason)
    return notify_followers(session, process, title, body, now)
