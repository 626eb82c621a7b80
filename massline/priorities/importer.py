"""Bulk entry of offline-collected priorities from CSV: all rows or none."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.errors import DomainError
from massline.parsing import Fields
from massline.priorities import service
from massline.priorities.schemas import parse_priority

REQUIRED = ("title", "body", "locality_code")
OPTIONAL = ("category", "offline_supports", "submitted_at")
CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class RowError:
    """What is wrong with one line of the file."""

    line: int
    message: str


class ImportFailed(Exception):
    """The file was refused; nothing of it was stored."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} bad rows")


def _submitted_at(raw: str) -> datetime:
    value = datetime.fromisoformat(raw.strip())
    return (value.replace(tzinfo=CHINA) if value.tzinfo is None else value).astimezone(UTC)


def _describe(error: DomainError) -> str:
    if error.fields:
        return "; ".join(f"{name}: {text}" for name, text in error.fields.items())
    return str(error.message)


def import_priorities(
    session: Session,
    data: bytes,
    *,
    entered_by: User,
    rule: service.ThresholdRule,
) -> int:
    """Create one published, assisted priority per row; ImportFailed lists every bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFailed([RowError(0, f"not UTF-8: {error}")]) from error
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
    if missing:
        raise ImportFailed([RowError(1, "missing columns: " + ", ".join(missing))])
    errors: list[RowError] = []
    created = 0
    savepoint = session.begin_nested()
    for row in reader:
        line = reader.line_num
        try:
            with session.begin_nested():
                created += _import_row(session, row, entered_by, rule)
        except DomainError as error:
            errors.append(RowError(line, _describe(error)))
        except ValueError as error:
            errors.append(RowError(line, str(error)))
    if errors:
        savepoint.rollback()
        raise ImportFailed(errors)
    savepoint.commit()
    return created


def _import_row(session: Session, row: dict, entered_by: User, rule: service.ThresholdRule) -> int:
    fields = {name: (row.get(name) or "").strip() for name in (*REQUIRED, "category")}
    data = parse_priority({**fields, "category": fields["category"] or None})
    # The same integer rules as every other input: whole, not negative, fits the column.
    counts = Fields({"offline_supports": (row.get("offline_supports") or "").strip()})
    offline = counts.integer("offline_supports", required=False, minimum=0) or 0
    counts.check()
    when = _submitted_at(row["submitted_at"]) if (row.get("submitted_at") or "").strip() else None
    # The worker entered it; the author on record is the worker too, marked assisted,
    # because a paper form names no account.
    priority = service.create_priority(
        session, entered_by, data, rule=rule, entered_by=entered_by, now=when
    )
    if offline:
        service.add_offline_supports(session, priority, offline, when or priority.created_at)
    return 1
