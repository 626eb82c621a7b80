"""Following a process and the facilitator's updates to its followers (in-app and email)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import require_role
from massline.errors import Unauthorized
from massline.notifications.models import OutboxMessage
from massline.sql import insert_ignoring_duplicates
from massline.stages.models import Process, ProcessFollow, ProcessUpdate
from massline.stages.service import FACILITATOR


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
    (facilitators' updates, stage changes, published stage summaries).
    """
    followers = session.execute(
        select(User.id, User.email)
        .join(ProcessFollow, ProcessFollow.user_id == User.id)
        .where(ProcessFollow.process_id == process.id)
    ).all()
    subject = f"【{process.title}】{title}"[:200]
    messages = []
    for user_id, email in followers:
        messages.append({"channel": "inapp", "user_id": user_id, "recipient": str(user_id)})
        if email:
            messages.append({"channel": "email", "user_id": user_id, "recipient": email})
    for message in messages:
        session.add(OutboxMessage(**message, subject=subject, body=body, created_at=now))
    session.flush()
    return len(followers)
