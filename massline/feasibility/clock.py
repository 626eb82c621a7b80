"""The report clock: due dates in calendar months on the locality's local calendar."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_at(opened_at: datetime, *, months: int = 1, zone: ZoneInfo = CHINA) -> datetime:
    """When a report opened at `opened_at` is due: the end of the same local day `months` later.

    Returned as the first instant after that day (local midnight), in UTC, so that
    "overdue" is simply `now >= due_at`.
    """
    if opened_at.tzinfo is None:
        raise ValueError("opened_at must be timezone-aware")
    local_day = opened_at.astimezone(zone).date()
    last_day = add_months(local_day, months)
    return datetime.combine(last_day + timedelta(days=1), time(0), zone).astimezone(UTC)


@dataclass(frozen=True)
class Milestone:
    """A dated step in a report's life that sends one notice."""

    kind: str
    at: datetime


def schedule(due: datetime, *, zone: ZoneInfo = CHINA) -> list[Milestone]:
    """Reminders 7 days and 1 day before, the overdue notice, and escalation 7 days after.

    Each falls at the start of its local day, so a daily `tick` sends it on the right day.
    """
    local_due = due.astimezone(zone)
    return [
        Milestone("remind_7d", (local_due - timedelta(days=7)).astimezone(UTC)),
        Milestone("remind_1d", (local_due - timedelta(days=1)).astimezone(UTC)),
        Milestone("overdue", due),
        Milestone("escalate", (local_due + timedelta(days=7)).astimezone(UTC)),
    ]
