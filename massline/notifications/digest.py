"""Daily digests: the email items of people who chose one email a day, gathered into one.

A digest day runs from `MASSLINE_DIGEST_HOUR` (Beijing time, default 07:00) to the same hour
the next day. The first tick after that hour turns each person's items from before it into
one "email" outbox row, which the normal delivery then sends exactly once. So everyone gets
at most one digest a day, in the morning, with everything of the day before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, aliased

from massline.notifications.models import OutboxMessage

CHINA = ZoneInfo("Asia/Shanghai")
# Written in the platform's default language, like the items it gathers.
DIGEST_LOCALE = "zh_CN"


def digest_cutoff(now: datetime, hour: int) -> datetime:
    """The start of the current digest day: the latest `hour`:00 Beijing time at or before now."""
    local = now.astimezone(CHINA)
    cutoff = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if cutoff > local:
        cutoff -= timedelta(days=1)
    return cutoff.astimezone(UTC)


def compose_digests(
    session: Session, now: datetime, config: Mapping[str, Any], *, batch: int = 500
) -> int:
    """Gather each person's pending digest items into one email; returns how many were made.

    People are taken `batch` at a time, each batch in one transaction: a conditional UPDATE
    (… WHERE sent_at IS NULL) claims their items and returns the rows it won, and only those
    become emails. A second tick running at once waits for the first one's claim, then wins
    none of those rows, so no item is ever sent twice.
    """
    cutoff = digest_cutoff(now, int(config["MASSLINE_DIGEST_HOUR"]))
    pending = (
        OutboxMessage.channel == "digest",
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.created_at < cutoff,
    )
    earlier = aliased(OutboxMessage)
    # Someone whose items were gathered in this digest day already waits for the next one.
    done_today = (
        select(earlier.id)
        .where(
            earlier.user_id == OutboxMessage.user_id,
            earlier.channel == "digest",
            earlier.sent_at >= cutoff,
        )
        .exists()
    )
    made, after = 0, 0
    while True:
        people = session.scalars(
            select(OutboxMessage.user_id)
            .where(*pending, OutboxMessage.user_id > after, ~done_today)
            .group_by(OutboxMessage.user_id)
            .order_by(OutboxMessage.user_id)
            .limit(batch)
        ).all()
        if not people:
            return made
        claimed = session.execute(
            update(OutboxMessage)
            .where(*pending, OutboxMessage.user_id.in_(people))
            .values(sent_at=now)
            .returning(
                OutboxMessage.id,
                OutboxMessage.user_id,
                OutboxMessage.recipient,
                OutboxMessage.subject,
                OutboxMessage.body,
            )
            .execution_options(synchronize_session=False)
        ).all()
        # RETURNING comes in no particular order; each digest lists its items oldest first.
        claimed.sort(key=lambda item: (item.user_id, item.id))
        emails = [
            _digest_email(user_id, list(items), now)
            for user_id, items in groupby(claimed, key=lambda item: item.user_id)
        ]
        if emails:
            session.execute(insert(OutboxMessage), emails)
        session.commit()
        made += len(emails)
        after = people[-1]


def _digest_email(user_id: int, items: list, now: datetime) -> dict[str, Any]:
    """One "email" outbox row with every item, oldest first, for the normal delivery."""
    subject, body = _digest_text(items)
    return {
        "channel": "email",
        "user_id": user_id,
        "recipient": items[-1].recipient,  # the address they gave most recently
        "subject": subject[:200],
        "body": body,
        "created_at": now,
        "attempts": 0,
    }


def _digest_text(items: list) -> tuple[str, str]:
    with force_locale(DIGEST_LOCALE):
        subject = _("%(n)s new messages from the consultations you follow", n=len(items))
        parts = [_("Everything new since your last digest, oldest first:")]
        parts += [f"{i}. {item.subject}\n{item.body}" for i, item in enumerate(items, 1)]
        parts.append(
            _(
                "You get one email a day because you chose it on your account page; "
                "choose “one email per update” there to get each one as it comes."
            )
        )
    return subject, "\n\n".join(parts)
