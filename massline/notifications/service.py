"""Telling people: in-app messages in their inbox, and the emails or digest items beside them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from massline.models_common import utcnow
from massline.notifications.models import OutboxMessage


def inbox(session: Session, user_id: int, *, limit: int = 50) -> list[OutboxMessage]:
    """The newest in-app messages of a user."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.channel == "inapp")
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def unread_count(session: Session, user_id: int) -> int:
    """How many in-app messages the user has not seen."""
    query = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.user_id == user_id,
        OutboxMessage.channel == "inapp",
        OutboxMessage.read_at.is_(None),
    )
    return session.scalar(query) or 0


def mark_read(session: Session, user_id: int, now: datetime) -> int:
    """Mark every unread in-app message of the user as read; returns how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.user_id == user_id,
            OutboxMessage.channel == "inapp",
            OutboxMessage.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def notify_in_app(
    session: Session,
    user_ids: Iterable[int],
    body: str,
    *,
    subject: str | None = None,
    now: datetime | None = None,
) -> int:
    """Put one in-app message per person in the outbox; returns how many."""
    count = 0
    for user_id in user_ids:
        session.add(
            OutboxMessage(
                channel="inapp",
                user_id=user_id,
                recipient=str(user_id),
                subject=(subject or body)[:200],
                body=body,
                created_at=now or utcnow(),
            )
        )
        count += 1
    return count


@dataclass(frozen=True)
class Recipient:
    """Someone to tell: their id, the email they gave (if any) and whether they want a digest."""

    user_id: int
    email: str | None = None
    email_digest: bool = False


def notify_people(
    session: Session, people: Iterable[Recipient], subject: str, body: str, now: datetime
) -> int:
    """One in-app message each, and an email where they gave an address; returns how many.

    People who chose one email a day get a "digest" item instead, which the tick gathers
    into their daily email (massline/notifications/digest.py).
    """
    rows = []
    count = 0
    for person in people:
        count += 1
        rows.append(_row("inapp", person.user_id, str(person.user_id), subject, body, now))
        if person.email:
            channel = "digest" if person.email_digest else "email"
            rows.append(_row(channel, person.user_id, person.email, subject, body, now))
    if rows:
        # One executemany: an announcement may go to tens of thousands of followers.
        session.execute(insert(OutboxMessage), rows)
    return count


def _row(
    channel: str, user_id: int, recipient: str, subject: str, body: str, now: datetime
) -> dict:
    return {
        "channel": channel,
        "user_id": user_id,
        "recipient": recipient,
        "subject": subject[:200],
        "body": body,
        "created_at": now,
        "attempts": 0,
    }
