"""The scheduled job: every date-driven change, each step committed on its own."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from massline.feasibility.service import open_reports, send_notices
from massline.matching.store.service import refresh as refresh_matching
from massline.notifications.digest import compose_digests
from massline.notifications.mail import deliver_email
from massline.priorities.service import archive_stale
from massline.stages.service import advance_due

TickStep = Callable[[Session, datetime, Mapping[str, Any]], int]


def _archive(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    return archive_stale(session, now, months=int(config["MASSLINE_ARCHIVE_MONTHS"]))


def _open_reports(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    return open_reports(session, now, months=int(config["MASSLINE_REPORT_DUE_MONTHS"]))


def _report_notices(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    return send_notices(session, now)


def _stages(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    return advance_due(session, now)


# Order matters: reports open before their reminders are considered, and the day's digests
# (stage announcements included) are composed before the emails go out.
STEPS: dict[str, TickStep] = {
    "stages_advanced": _stages,
    "archived": _archive,
    "reports_opened": _open_reports,
    "report_notices": _report_notices,
    "digests_composed": compose_digests,
    "emails_sent": deliver_email,
    # Last: at national scale a refit takes a minute and should not hold back the emails.
    "matching_refreshed": refresh_matching,
}


def run_tick(session: Session, now: datetime, config: Mapping[str, Any]) -> dict[str, int]:
    """Run every step at `now`; returns what each step did."""
    done: dict[str, int] = {}
    for name, step in STEPS.items():
        done[name] = step(session, now, config)
        session.commit()
    return done
