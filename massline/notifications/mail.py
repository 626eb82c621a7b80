"""Delivering the email outbox over SMTP: retried on failure, never sent twice."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from massline.notifications.models import OutboxMessage

LEASE = timedelta(minutes=10)


def _connect(config: Mapping[str, Any]) -> smtplib.SMTP:
    client = smtplib.SMTP(
        config["MASSLINE_SMTP_HOST"], int(config["MASSLINE_SMTP_PORT"]), timeout=20
    )
    if config["MASSLINE_SMTP_TLS"]:
        client.starttls(context=ssl.create_default_context())
    if config["MASSLINE_SMTP_USER"]:
        client.login(config["MASSLINE_SMTP_USER"], config["MASSLINE_SMTP_PASSWORD"])
    return client


def deliver_email(
    session: Session, now: datetime, config: Mapping[str, Any], *, batch: int = 200
) -> int:
    """Send due emails; each is claimed by one tick at a time and marked sent once."""
    max_attempts = int(config["MASSLINE_MAIL_MAX_ATTEMPTS"])
    candidates = session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.channel == "email",
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.attempts < max_attempts,
        )
        .order_by(OutboxMessage.id)
        .limit(batch)
    ).all()
    session.commit()
    sent = 0
    client: smtplib.SMTP | None = None
    try:
        for message_id in candidates:
            # Claim: only the tick whose UPDATE wins this row may send it. A concurrent tick
            # sees attempts moved on (or the row locked) and skips it.
            claimed = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.attempts < max_attempts,
                    or_(
                        OutboxMessage.claimed_at.is_(None),
                        OutboxMessage.claimed_at < now - LEASE,
                    ),
                )
                .values(attempts=OutboxMessage.attempts + 1, claimed_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            session.commit()
            if not claimed:
                continue
            message = session.get(OutboxMessage, message_id, populate_existing=True)
            try:
                client = client or _connect(config)
                client.send_message(_email(message, config))
            except (smtplib.SMTPException, OSError) as error:
                message.last_error = str(error)[:500]
                message.claimed_at = None  # free for the next tick's retry
                session.commit()
                if client is not None:  # start afresh: the connection may be broken
                    client.close()
                client = None
                continue
            message.sent_at = now
            message.last_error = None
            session.commit()
            sent += 1
    finally:
        if client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()
    return sent


def _email(message: OutboxMessage, config: Mapping[str, Any]) -> EmailMessage:
    email = EmailMessage()
    email["From"] = config["MASSLINE_MAIL_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = f"<outbox-{message.id}@massline>"
    email.set_content(message.body)
    return email
