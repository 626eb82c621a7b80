"""Sending SMS: an interface, and the default sender that writes to the outbox and the log."""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy.orm import Session

from massline.models_common import utcnow
from massline.notifications.models import OutboxMessage

log = logging.getLogger(__name__)


class SmsSender(Protocol):
    """Anything that can deliver a text message to a phone number."""

    def send(self, session: Session, phone: str, text: str) -> None:
        """Deliver (or queue) one message."""


class OutboxSmsSender:
    """Records each SMS in the outbox and the log; stands in for a carrier gateway."""

    def send(self, session: Session, phone: str, text: str) -> None:
        """Write the message as sent, and log it for developers."""
        session.add(OutboxMessage(channel="sms", recipient=phone, body=text, sent_at=utcnow()))
        log.warning("SMS to %s: %s", phone, text)


SENDERS: dict[str, type[SmsSender]] = {"outbox": OutboxSmsSender}


def sender_for(name: str) -> SmsSender:
    """The configured sender by name."""
    return SENDERS[name]()
