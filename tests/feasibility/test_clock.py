"""The report clock: calendar months, month ends, leap years and time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massline.feasibility.clock import CHINA, add_months, due_at, schedule


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 5, 31), 2, date(2026, 7, 31)),
    ],
)
def test_add_months_clamps_to_month_end(day, months, expected):
    assert add_months(day, months) == expected


def test_due_date_follows_the_beijing_calendar_not_utc():
    # 20:00 UTC on 31 Jan is already 1 Feb in Beijing: due at the end of 1 Mar local.
    opened = datetime(2026, 1, 31, 20, 0, tzinfo=UTC)
    assert due_at(opened) == datetime(2026, 3, 2, 0, 0, tzinfo=CHINA).astimezone(UTC)
    # 10:00 UTC on 31 Jan is still 31 Jan in Beijing: due at the end of 28 Feb local.
    opened = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
    assert due_at(opened) == datetime(2026, 3, 1, 0, 0, tzinfo=CHINA).astimezone(UTC)


def test_due_date_in_another_zone_and_configurable_months():
    urumqi = ZoneInfo("Asia/Urumqi")
    opened = datetime(2026, 6, 30, 17, 30, tzinfo=UTC)  # 1 July 00:30 in Beijing, 30 June in Ürümqi
    assert due_at(opened, zone=urumqi).astimezone(urumqi).date() == date(2026, 7, 31)
    assert due_at(opened, months=2).astimezone(CHINA).date() == date(2026, 9, 2)


def test_naive_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(datetime(2026, 1, 1))


def test_schedule_order_and_spacing():
    due = due_at(datetime(2026, 2, 10, 3, 0, tzinfo=UTC))
    steps = schedule(due)
    assert [s.kind for s in steps] == ["remind_7d", "remind_1d", "overdue", "escalate"]
    assert steps[2].at == due
    assert due - steps[0].at == timedelta(days=7)
    assert steps[3].at - due == timedelta(days=7)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(min_value=1, max_value=24),
)
def test_due_is_a_local_midnight_between_months_and_months_plus_days(opened, months):
    due = due_at(opened, months=months)
    local = due.astimezone(CHINA)
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert opened + timedelta(days=28 * months) < due <= opened + timedelta(days=31 * months + 1)
