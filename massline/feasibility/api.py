"""Feasibility-report calls of the JSON API."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app, jsonify, request
from flask_babel import lazy_gettext as _l

from massline.accounts.current import signed_in
from massline.api import bp
from massline.errors import NotFound
from massline.extensions import db
from massline.feasibility import aftercare, schemas, service
from massline.feasibility.models import STATES, Milestone, Report
from massline.localities.service import get_locality
from massline.models_common import utcnow
from massline.parsing import Fields, request_data
from massline.storage import LocalStorage


def report_dict(report: Report) -> dict[str, Any]:
    """The public JSON shape of a report."""
    now = utcnow()
    content = {name: getattr(report, name) for name in service.CONTENT_FIELDS}
    for name in ("cost_estimate", "cost_low", "cost_high"):
        if content[name] is not None:
            content[name] = str(content[name])
    return {
        "id": report.id,
        "subject": {"type": report.subject_type, "id": report.subject_id},
        "locality_code": report.locality_code,
        "status": report.status,
        "revision": report.revision,
        "opened_at": report.opened_at.isoformat(),
        "due_at": report.due_at.isoformat(),
        "published_at": report.published_at.isoformat() if report.published_at else None,
        "overdue": service.is_overdue(report, now),
        "completed_at": report.completed_at.isoformat() if report.completed_at else None,
        **content,
    }


def report_query() -> service.ReportQuery:
    """Validated ?status=&locality=&overdue=&page=."""
    fields = Fields(request.args)
    status = fields.choice("status", STATES, required=False)
    code = fields.optional_text("locality", max_length=6)
    overdue = fields.flag("overdue") if "overdue" in request.args else None
    page = fields.integer("page", required=False, minimum=1, maximum=10_000) or 1
    fields.check()
    locality = get_locality(db.session, code) if code else None
    return service.ReportQuery(status=status, locality=locality, overdue=overdue, page=page)


@bp.get("/reports")
def list_reports() -> object:
    """Reports, filtered by status, locality subtree and overdue."""
    query = report_query()
    items, total = service.list_reports(
        db.session, query, utcnow(), page_size=current_app.config["MASSLINE_PAGE_SIZE"]
    )
    return jsonify({"items": [report_dict(r) for r in items], "total": total, "page": query.page})


@bp.get("/reports/<int:report_id>")
def show_report(report_id: int) -> object:
    """One report."""
    return jsonify(report_dict(service.get_report(db.session, report_id)))


@bp.patch("/reports/<int:report_id>")
def edit_report(report_id: int) -> object:
    """Officials in scope write the report (partial updates)."""
    report = service.get_report(db.session, report_id)
    service.update_report(db.session, report, signed_in(), schemas.parse_report(request_data()))
    db.session.commit()
    return jsonify(report_dict(report))


@bp.post("/reports/<int:report_id>/publish")
def publish_report(report_id: int) -> object:
    """Publish the report, or a corrected revision of it."""
    user = signed_in()
    report = service.get_report(db.session, report_id)
    fields = Fields(request_data() if request.content_length else {})
    note = fields.optional_text("note", max_length=1000, multiline=True)
    fields.check()
    service.publish_report(db.session, report, user, note=note)
    db.session.commit()
    return jsonify(report_dict(report))


@bp.get("/localities/<code>/reports-dashboard")
def reports_dashboard(code: str) -> object:
    """On-time figures for a locality subtree."""
    return jsonify(service.dashboard(db.session, get_locality(db.session, code), utcnow()))


def storage() -> LocalStorage:
    """Uploaded photos live under the instance folder."""
    return LocalStorage(Path(current_app.instance_path) / "uploads")


def satisfaction_of(report: Report) -> aftercare.Satisfaction:
    """The public satisfaction figures under the configured acceptance rule."""
    config = current_app.config
    return aftercare.satisfaction(
        db.session,
        report,
        threshold=float(config["MASSLINE_ACCEPTANCE_RATE"]),
        min_ratings=int(config["MASSLINE_ACCEPTANCE_MIN_RATINGS"]),
    )


def parse_milestone(data: Any) -> tuple[str, date, int]:
    """Title, due date and progress of a milestone."""
    fields = Fields(data)
    title = fields.text("title", max_length=120)
    raw_day = fields.text("due_on", max_length=10)
    progress = fields.integer("progress", required=False, minimum=0, maximum=100) or 0
    day = None
    if raw_day:
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            fields.errors["due_on"] = _l("Use a date like 2026-12-31.")
    fields.check()
    return title, day, progress


@bp.post("/reports/<int:report_id>/milestones")
def add_milestone(report_id: int) -> object:
    """Officials add a dated step to adopted work."""
    report = service.get_report(db.session, report_id)
    title, day, progress = parse_milestone(request_data())
    made = aftercare.add_milestone(
        db.session, report, signed_in(), title=title, due_on=day, progress=progress
    )
    db.session.commit()
    return jsonify(milestone_dict(made)), 201


def milestone_dict(milestone: Milestone) -> dict[str, Any]:
    """The public JSON shape of a milestone."""
    return {
        "id": milestone.id,
        "title": milestone.title,
        "due_on": milestone.due_on.isoformat(),
        "progress": milestone.progress,
        "done": milestone.done_at is not None,
    }


@bp.patch("/milestones/<int:milestone_id>")
def update_milestone(milestone_id: int) -> object:
    """Officials move a milestone's progress."""
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound()
    fields = Fields(request_data())
    progress = fields.integer("progress", minimum=0, maximum=100)
    fields.check()
    aftercare.update_progress(db.session, milestone, signed_in(), progress)
    db.session.commit()
    return jsonify(milestone_dict(milestone))


@bp.post("/reports/<int:report_id>/monitor")
def monitor(report_id: int) -> object:
    """A resident presses "I want to monitor"."""
    created = aftercare.monitor(db.session, service.get_report(db.session, report_id), signed_in())
    db.session.commit()
    return jsonify({"monitoring": True}), 201 if created else 200


@bp.post("/reports/<int:report_id>/monitoring")
def post_monitoring(report_id: int) -> object:
    """A resident's monitoring note, with an optional photo (multipart field `photo`)."""
    report = service.get_report(db.session, report_id)
    body = schemas.parse_note(request_data())
    upload = request.files.get("photo")
    photo = upload.read() if upload and upload.filename else None
    post = aftercare.post_monitoring(
        db.session,
        report,
        signed_in(),
        body=body,
        photo=photo,
        storage=storage(),
        max_bytes=int(current_app.config["MASSLINE_UPLOAD_MAX_BYTES"]),
    )
    db.session.commit()
    return jsonify({"id": post.id, "photo": post.photo_key is not None}), 201


@bp.post("/reports/<int:report_id>/complete")
def complete(report_id: int) -> object:
    """The implementing side reports the work complete."""
    report = service.get_report(db.session, report_id)
    summary = schemas.parse_completion(request_data())
    aftercare.complete(db.session, report, signed_in(), summary, utcnow())
    db.session.commit()
    return jsonify(report_dict(report))


@bp.post("/reports/<int:report_id>/ratings")
def rate(report_id: int) -> object:
    """A resident rates the finished work 1–5 stars, once."""
    report = service.get_report(db.session, report_id)
    stars, comment = schemas.parse_rating(request_data())
    aftercare.rate(db.session, report, signed_in(), stars, comment)
    db.session.commit()
    return jsonify(satisfaction_of(report).to_dict()), 201


@bp.get("/reports/<int:report_id>/satisfaction")
def report_satisfaction(report_id: int) -> object:
    """Ratings count, satisfaction rate and whether residents accepted the work."""
    report = service.get_report(db.session, report_id)
    return jsonify(satisfaction_of(report).to_dict())
