"""Report pages: the list, each report (with the officials' form), the dashboard."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from massline.accounts.current import current_user, signed_in
from massline.accounts.service import has_role
from massline.errors import DomainError, NotFound
from massline.extensions import db
from massline.feasibility import aftercare, schemas, service
from massline.feasibility.api import parse_milestone, report_query, satisfaction_of, storage
from massline.feasibility.models import (
    DECISIONS,
    FEASIBILITY,
    LEGALITY,
    Milestone,
    Monitor,
    MonitoringPost,
    ReportRevision,
)
from massline.localities.models import NATION_CODE
from massline.localities.service import get_locality
from massline.models_common import utcnow
from massline.priorities.models import Priority

bp = Blueprint("feasibility", __name__, url_prefix="/reports")


@bp.get("/")
def index() -> object:
    """Reports with filters; overdue ones first."""
    query = report_query()
    now = utcnow()
    items, total = service.list_reports(
        db.session, query, now, page_size=current_app.config["MASSLINE_PAGE_SIZE"]
    )
    scope = query.locality or get_locality(db.session, NATION_CODE)
    titles = {
        p.id: p.title
        for p in db.session.query(Priority).filter(
            Priority.id.in_([r.subject_id for r in items if r.subject_type == "priority"])
        )
    }
    return render_template(
        "feasibility/index.html",
        items=items,
        total=total,
        query=query,
        now=now,
        titles=titles,
        figures=service.dashboard(db.session, scope, now),
        scope=scope,
        is_overdue=service.is_overdue,
    )


@bp.route("/<int:report_id>", methods=["GET", "POST"])
def show(report_id: int) -> object:
    """A report; officials in scope edit and publish it here."""
    report = service.get_report(db.session, report_id)
    error = None
    if request.method == "POST":
        user = signed_in()
        try:
            data = dict(request.form)
            data.pop("csrf_token", None)
            action = data.pop("action", "save")
            note = data.pop("note", None)
            service.update_report(db.session, report, user, schemas.parse_report(data))
            if action == "publish":
                service.publish_report(db.session, report, user, note=note or None)
            db.session.commit()
        except DomainError as failure:
            db.session.rollback()
            error = failure
            report = service.get_report(db.session, report_id)
        else:
            flash(_("The report is published.") if action == "publish" else _("Saved."))
            return redirect(url_for("feasibility.show", report_id=report_id))
    priority = (
        db.session.get(Priority, report.subject_id) if report.subject_type == "priority" else None
    )
    pilot_idea = service.pilot_idea_title(db.session, report)
    revisions = (
        db.session.query(ReportRevision)
        .filter_by(report_id=report.id)
        .order_by(ReportRevision.revision.desc())
    )
    viewer = current_user()
    milestones = (
        db.session.query(Milestone).filter_by(report_id=report.id).order_by(Milestone.due_on)
    )
    posts = (
        db.session.query(MonitoringPost)
        .filter_by(report_id=report.id, hidden_at=None)
        .order_by(MonitoringPost.id.desc())
        .limit(50)
    )
    monitoring = viewer is not None and (
        db.session.query(Monitor).filter_by(report_id=report.id, user_id=viewer.id).first()
        is not None
    )
    page = render_template(
        "feasibility/show.html",
        pilot_idea=pilot_idea,
        milestones=list(milestones),
        posts=list(posts),
        monitoring=monitoring,
        resident=viewer is not None
        and viewer.is_verified
        and report.locality.contains(viewer.home_code),
        satisfaction=satisfaction_of(report),
        under_way=report.status == "published" and report.decision in aftercare.UNDER_WAY,
        report=report,
        priority=priority,
        revisions=list(revisions),
        overdue=service.is_overdue(report, utcnow()),
        can_edit=has_role(current_user(), service.OFFICIAL, report.locality),
        error=error,
        legality=LEGALITY,
        feasibility=FEASIBILITY,
        decisions=DECISIONS,
    )
    return page, (error.status if error else 200)


def _after(report_id: int, message: str) -> object:
    flash(message)
    return redirect(url_for("feasibility.show", report_id=report_id))


@bp.post("/<int:report_id>/monitor")
def monitor(report_id: int) -> object:
    """The "I want to monitor" button."""
    aftercare.monitor(db.session, service.get_report(db.session, report_id), signed_in())
    db.session.commit()
    return _after(report_id, _("You are monitoring this work."))


@bp.post("/<int:report_id>/monitoring")
def post_monitoring(report_id: int) -> object:
    """A monitoring note with an optional photo."""
    report = service.get_report(db.session, report_id)
    body = schemas.parse_note(request.form)
    upload = request.files.get("photo")
    aftercare.post_monitoring(
        db.session,
        report,
        signed_in(),
        body=body,
        photo=upload.read() if upload and upload.filename else None,
        storage=storage(),
        max_bytes=int(current_app.config["MASSLINE_UPLOAD_MAX_BYTES"]),
    )
    db.session.commit()
    return _after(report_id, _("Thank you for your note."))


@bp.post("/<int:report_id>/ratings")
def rate(report_id: int) -> object:
    """The star rating form."""
    report = service.get_report(db.session, report_id)
    stars, comment = schemas.parse_rating(request.form)
    aftercare.rate(db.session, report, signed_in(), stars, comment)
    db.session.commit()
    return _after(report_id, _("Thank you for your rating."))


@bp.post("/<int:report_id>/milestones")
def add_milestone(report_id: int) -> object:
    """Officials add a milestone from the page."""
    report = service.get_report(db.session, report_id)
    title, day, progress = parse_milestone(request.form)
    aftercare.add_milestone(
        db.session, report, signed_in(), title=title, due_on=day, progress=progress
    )
    db.session.commit()
    return _after(report_id, _("Saved."))


@bp.post("/<int:report_id>/complete")
def complete(report_id: int) -> object:
    """Officials post the completion report from the page."""
    report = service.get_report(db.session, report_id)
    summary = schemas.parse_completion(request.form)
    aftercare.complete(db.session, report, signed_in(), summary, utcnow())
    db.session.commit()
    return _after(report_id, _("Saved."))


@bp.get("/photos/<key>")
def photo(key: str) -> object:
    """A monitoring photo."""
    try:
        path = storage().path(key)
    except ValueError as error:
        raise NotFound() from error
    if not path.is_file():
        raise NotFound()
    return send_file(path, max_age=86400)


@bp.get("/export.csv")
def export() -> Response:
    """The filtered reports as CSV (UTF-8 with BOM, so spreadsheet programs read Chinese)."""
    query = report_query()

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff"
        for row in service.export_rows(db.session, query, utcnow()):
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=reports.csv"
    return response
