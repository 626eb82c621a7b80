"""Opening, writing, publishing and chasing feasibility reports."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.orm import Session

from massline.accounts.models import Role, User
from massline.accounts.service import require_role
from massline.errors import Conflict, NotFound, ValidationError
from massline.feasibility.clock import CHINA, add_months, due_at
from massline.feasibility.models import Report, ReportNotice, ReportRevision
from massline.feasibility.schemas import ReportInput
from massline.localities.models import Locality
from massline.localities.service import in_subtree
from massline.matching.models import Idea, Pilot
from massline.models_common import utcnow
from massline.notifications.models import OutboxMessage
from massline.notifications.service import notify_in_app
from massline.priorities.models import Follow, Priority, Support
from massline.sql import insert_ignoring_duplicates, insert_many_ignoring_duplicates

OFFICIAL = "official"
# Priorities in these statuses have qualified for a report.
QUALIFIED = ("successful", "answered", "adopted", "piloted", "declined", "implemented", "evaluated")
CONTENT_FIELDS = (
    "legality",
    "legal_basis",
    "feasibility",
    "feasibility_explanation",
    "cost_estimate",
    "cost_low",
    "cost_high",
    "cost_breakdown",
    "duration_months",
    "department",
    "decision",
    "decision_reasons",
)
DECISION_STATUS = {
    "adopt": "adopted",
    "pilot": "piloted",
    "decline": "declined",
    "defer": "answered",
}


def open_reports(session: Session, now: datetime, *, months: int, batch: int = 2000) -> int:
    """Open a report for every successful priority that has none; returns how many."""
    has_report = (
        select(Report.id)
        .where(Report.subject_type == "priority", Report.subject_id == Priority.id)
        .exists()
    )
    waiting = select(
        Priority.id, Priority.locality_code, Priority.province_code, Priority.successful_at
    ).where(Priority.status.in_(QUALIFIED), ~has_report)
    rows = [
        {
            "subject_type": "priority",
            "subject_id": priority_id,
            "locality_code": locality_code,
            "province_code": province_code,
            "status": "open",
            "opened_at": successful_at or now,
            "due_at": due_at(successful_at or now, months=months),
            "revision": 0,
            "cost_breakdown": [],
            "updated_at": now,
        }
        for priority_id, locality_code, province_code, successful_at in session.execute(waiting)
    ]
    opened = 0
    for start in range(0, len(rows), batch):
        opened += len(
            insert_many_ignoring_duplicates(
                session,
                Report,
                rows[start : start + batch],
                ["subject_type", "subject_id"],
                Report.id,
            )
        )
    return opened


def open_report(
    session: Session,
    subject_type: str,
    subject_id: int,
    locality: Locality,
    now: datetime,
    *,
    months: int,
) -> Report:
    """Open the report on one subject (a designated pilot, say), or return the one open."""
    insert_ignoring_duplicates(
        session,
        Report,
        {
            "subject_type": subject_type,
            "subject_id": subject_id,
            "locality_code": locality.code,
            "province_code": locality.province_code,
            "status": "open",
            "opened_at": now,
            "due_at": due_at(now, months=months),
            "revision": 0,
            "cost_breakdown": [],
            "updated_at": now,
        },
        ["subject_type", "subject_id"],
    )
    return report_for(session, subject_type, subject_id)


def get_report(session: Session, report_id: int) -> Report:
    """A report by id, or NotFound."""
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound()
    return report


def report_for(session: Session, subject_type: str, subject_id: int) -> Report | None:
    """The report on a subject, if one was opened."""
    query = select(Report).where(
        Report.subject_type == subject_type, Report.subject_id == subject_id
    )
    return session.scalar(query)


def pilot_idea_title(session: Session, report: Report) -> str | None:
    """For a pilot's report, the title of the idea being piloted."""
    if report.subject_type != "pilot":
        return None
    return session.scalar(
        select(Idea.title)
        .join(Pilot, Pilot.idea_id == Idea.id)
        .where(Pilot.id == report.subject_id)
    )


def is_overdue(report: Report, now: datetime) -> bool:
    """Past due and not yet published."""
    return report.published_at is None and now >= report.due_at


def update_report(session: Session, report: Report, user: User, data: ReportInput) -> Report:
    """Officials in scope write the report; a published one changes only by a new revision."""
    require_role(user, OFFICIAL, report.locality)
    for name, value in data.values.items():
        setattr(report, name, value)
    if report.status == "open":
        report.status = "draft"
    report.updated_by_id = user.id
    report.updated_at = utcnow()
    session.flush()
    return report


def _content(report: Report) -> dict[str, Any]:
    content = {name: getattr(report, name) for name in CONTENT_FIELDS}
    for name in ("cost_estimate", "cost_low", "cost_high"):
        if content[name] is not None:
            content[name] = str(content[name])
    return content


def _check_complete(report: Report) -> None:
    missing = {
        name: _l("This field is required.")
        for name in ("legality", "feasibility", "decision")
        if not getattr(report, name)
    }
    if report.decision == "decline" and not report.decision_reasons:
        missing["decision_reasons"] = _l("Declining needs reasons.")
    if missing:
        raise ValidationError(_l("The report is not complete."), fields=missing)


def publish_report(
    session: Session,
    report: Report,
    user: User,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> Report:
    """Publish (or publish a corrected revision), move the priority on, tell its people."""
    require_role(user, OFFICIAL, report.locality)
    _check_complete(report)
    now = now or utcnow()
    if report.status == "published" and session.scalar(
        select(ReportRevision.content).where(
            ReportRevision.report_id == report.id, ReportRevision.revision == report.revision
        )
    ) == _content(report):
        raise Conflict(_l("Nothing changed since the last published revision."))
    report.revision += 1
    report.status = "published"
    report.published_at = report.published_at or now
    session.add(
        ReportRevision(
            report_id=report.id,
            revision=report.revision,
            content=_content(report),
            note=note,
            published_by_id=user.id,
            published_at=now,
        )
    )
    if report.subject_type == "priority":
        # Fresh from the database: supports move the status with bulk UPDATEs.
        priority = session.get(Priority, report.subject_id, populate_existing=True)
        if priority is not None and priority.status in QUALIFIED:
            priority.status = DECISION_STATUS[report.decision or "defer"]
        _notify_people(session, report, priority, now)
    session.flush()
    return report


def _notify_people(
    session: Session, report: Report, priority: Priority | None, now: datetime
) -> None:
    """Tell the author, supporters and followers, once per revision."""
    created = insert_ignoring_duplicates(
        session,
        ReportNotice,
        {"report_id": report.id, "kind": "published", "revision": report.revision, "sent_at": now},
        ["report_id", "kind", "revision"],
    )
    if created is None or priority is None:
        return
    people = (
        select(Support.user_id)
        .where(Support.priority_id == priority.id)
        .union(
            select(Follow.user_id).where(Follow.priority_id == priority.id),
            select(Priority.author_id).where(Priority.id == priority.id),
        )
    )
    title = priority.title
    notify_in_app(
        session,
        session.scalars(people),
        f"您关心的诉求“{title}”的可行性报告已公布（第 {report.revision} 版）。",
        subject="可行性报告已公布",
        now=now,
    )


def officials_for(session: Session, locality_code: str) -> list[int]:
    """Ids of officials whose scope contains the locality."""
    query = (
        select(Role.user_id)
        .where(Role.role == OFFICIAL, Role.scope_code.in_(set(_chain(locality_code))))
        .distinct()
    )
    return list(session.scalars(query))


def _chain(code: str) -> tuple[str, ...]:
    """The codes of a locality and every locality above it, nation first."""
    return ("000000", code[:2] + "0000", code[:4] + "00", code)


def _parent_code(code: str) -> str:
    if code.endswith("0000"):
        return "000000"
    if code.endswith("00"):
        return code[:2] + "0000"
    return code[:4] + "00"


@dataclass(frozen=True)
class NoticeRule:
    """Which unpublished reports get a notice of this kind at `now`."""

    kind: str
    lower: timedelta | None  # due_at > now + lower
    upper: timedelta  # due_at <= now + upper


NOTICE_RULES = (
    NoticeRule("remind_7d", timedelta(days=1), timedelta(days=7)),
    NoticeRule("remind_1d", timedelta(0), timedelta(days=1)),
    NoticeRule("overdue", None, timedelta(0)),
    NoticeRule("escalate", None, timedelta(days=-7)),
)
MESSAGES = {
    "remind_7d": "提醒：诉求“{title}”的可行性报告将于 7 天后到期（{due}）。",
    "remind_1d": "提醒：诉求“{title}”的可行性报告明天到期（{due}）。",
    "overdue": "诉求“{title}”的可行性报告已逾期（应于 {due} 前公布）。",
    "escalate": "督办：{place}诉求“{title}”的可行性报告逾期已超过 7 天（应于 {due} 前公布）。",
}


def send_notices(session: Session, now: datetime, *, batch: int = 2000) -> int:
    """Reminders, overdue notices and escalations that are due; each is sent once.

    The notice row is claimed first (a unique key per report and kind), so two ticks
    running at once never both send: only the one whose insert wins writes messages.
    """
    officials = _OfficialsCache(session)
    sent = 0
    for rule in NOTICE_RULES:
        notice_exists = (
            select(ReportNotice.id)
            .where(ReportNotice.report_id == Report.id, ReportNotice.kind == rule.kind)
            .exists()
        )
        conditions = [
            Report.status != "published",
            Report.due_at <= now + rule.upper,
            ~notice_exists,
        ]
        if rule.lower is not None:
            conditions.append(Report.due_at > now + rule.lower)
        due = session.execute(
            select(Report.id, Report.locality_code, Report.due_at, Priority.title, Locality.name)
            .join(Locality, Locality.code == Report.locality_code)
            .outerjoin(
                Priority, and_(Report.subject_type == "priority", Priority.id == Report.subject_id)
            )
            .where(*conditions)
        ).all()
        for start in range(0, len(due), batch):
            sent += _send_batch(session, rule.kind, due[start : start + batch], officials, now)
    return sent


class _OfficialsCache:
    """Every official role loaded once per tick; a locality's officials are its chain's."""

    def __init__(self, session: Session) -> None:
        self.by_scope: dict[str, list[int]] = {}
        query = select(Role.scope_code, Role.user_id).where(Role.role == OFFICIAL)
        for scope, user_id in session.execute(query):
            self.by_scope.setdefault(scope, []).append(user_id)

    def __call__(self, code: str) -> list[int]:
        found: list[int] = []
        for scope in dict.fromkeys(_chain(code)):
            found.extend(u for u in self.by_scope.get(scope, ()) if u not in found)
        return found


def _send_batch(
    session: Session, kind: str, due: list, officials: _OfficialsCache, now: datetime
) -> int:
    claims = [
        {"report_id": row.id, "kind": kind, "revision": 0, "sent_at": now, "recipients": 0}
        for row in due
    ]
    claimed = set(
        insert_many_ignoring_duplicates(
            session, ReportNotice, claims, ["report_id", "kind", "revision"], ReportNotice.report_id
        )
    )
    messages = []
    for report_id, locality_code, due_at_, title, place in due:
        if report_id not in claimed:
            continue  # another tick sent this one
        recipients = officials(locality_code)
        if kind == "escalate":
            # The parent's officials, not the ones who let it slip.
            parent = set(officials(_parent_code(locality_code)))
            recipients = [r for r in officials(locality_code) if r in parent]
        day = due_at_.astimezone(CHINA).strftime("%Y-%m-%d")
        text = MESSAGES[kind].format(title=title or f"#{report_id}", due=day, place=place)
        messages.extend(
            {
                "channel": "inapp",
                "user_id": user_id,
                "recipient": str(user_id),
                "subject": text[:200],
                "body": text,
                "created_at": now,
                "attempts": 0,
            }
            for user_id in recipients
        )
    if messages:
        session.execute(insert(OutboxMessage), messages)
    return len(claimed)


@dataclass(frozen=True)
class ReportQuery:
    """Filters of the report list."""

    status: str | None = None
    locality: Locality | None = None
    overdue: bool | None = None
    page: int = 1


def list_reports(
    session: Session, query: ReportQuery, now: datetime, *, page_size: int
) -> tuple[list[Report], int]:
    """A page of reports, most urgent first, and the total."""
    statement = select(Report)
    if query.status:
        statement = statement.where(Report.status == query.status)
    if query.locality is not None:
        statement = statement.where(in_subtree(Report.locality_code, query.locality))
    overdue = and_(Report.published_at.is_(None), Report.due_at <= now)
    if query.overdue is True:
        statement = statement.where(overdue)
    elif query.overdue is False:
        statement = statement.where(or_(Report.published_at.is_not(None), Report.due_at > now))
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = statement.order_by(Report.published_at.is_not(None), Report.due_at, Report.id)
    page = page.limit(page_size).offset((query.page - 1) * page_size)
    return list(session.scalars(page).unique()), total


def dashboard(session: Session, locality: Locality, now: datetime) -> dict[str, Any]:
    """Per-locality figures: opened, published on time, overdue now, median days to publish,
    and the same per month (Beijing calendar) for the last 12 months."""
    rows = session.execute(
        select(Report.opened_at, Report.due_at, Report.published_at).where(
            in_subtree(Report.locality_code, locality)
        )
    ).all()
    days = [(p - o).total_seconds() / 86400 for o, _d, p in rows if p is not None]
    return {
        "locality": locality.code,
        "opened": len(rows),
        "published": len(days),
        "published_on_time": sum(1 for _o, d, p in rows if p is not None and p < d),
        "overdue_now": sum(1 for _o, d, p in rows if p is None and now >= d),
        "median_days_to_publish": round(statistics.median(days), 1) if days else None,
        "months": _by_month(rows, now),
    }


def _month(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m")


def _by_month(rows: list, now: datetime) -> list[dict[str, Any]]:
    """Reports opened and published on time per month, oldest first."""
    local = now.astimezone(CHINA).date().replace(day=1)
    months = [add_months(local, -back).strftime("%Y-%m") for back in range(11, -1, -1)]
    table = {m: {"month": m, "opened": 0, "published": 0, "on_time": 0} for m in months}
    for opened, due, published in rows:
        if _month(opened) in table:
            table[_month(opened)]["opened"] += 1
        if published is not None and _month(published) in table:
            table[_month(published)]["published"] += 1
            table[_month(published)]["on_time"] += published < due
    return list(table.values())


def export_rows(session: Session, query: ReportQuery, now: datetime) -> Iterator[list[Any]]:
    """Every report matching the filters as CSV rows, header first."""
    yield ["id", "subject_type", "subject_id", "locality_code", "status", "opened_at", "due_at",
           "published_at", "overdue", "revision", *CONTENT_FIELDS]  # fmt: skip
    statement = select(Report).order_by(Report.id)
    if query.status:
        statement = statement.where(Report.status == query.status)
    if query.locality is not None:
        statement = statement.where(in_subtree(Report.locality_code, query.locality))
    for report in session.scalars(statement).unique():
        if query.overdue is not None and is_overdue(report, now) != query.overdue:
            continue
        yield [
            report.id, report.subject_type, report.subject_id, report.locality_code,
            report.status, report.opened_at.isoformat(), report.due_at.isoformat(),
            report.published_at.isoformat() if report.published_at else "",
            int(is_overdue(report, now)), report.revision,
            *(_csv_value(getattr(report, name)) for name in CONTENT_FIELDS),
        ]  # fmt: skip


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(f"{line['item']}: {line['amount']}" for line in value)
    return value
