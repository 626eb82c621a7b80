"""Process calls of the JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app, jsonify, request, url_for

from massline.accounts.current import current_user, signed_in
from massline.api import bp
from massline.extensions import db
from massline.models_common import utcnow
from massline.parsing import Fields, request_data
from massline.stages import briefings, service, statements, updates
from massline.stages.models import STATEMENT_STATES, Process, Stage, StageAttachment
from massline.stages.schemas import (
    parse_advance,
    parse_briefing,
    parse_extend,
    parse_process,
    parse_statement,
    parse_update,
)
from massline.storage import LocalStorage


def process_dict(process: Process) -> dict[str, Any]:
    """The JSON shape of a process."""
    return {
        "id": process.id,
        "title": process.title,
        "locality_code": process.locality_code,
        "template": process.template,
        "current_stage": _stage_dict(process.current_stage),
        "stages": [_stage_dict(s) for s in process.stages],
    }


def _stage_dict(stage: Any) -> dict[str, Any]:
    return {
        "id": stage.id,
        "position": stage.position,
        "kind": stage.kind,
        "title": stage.title,
        "actions": stage.actions,
        "starts_at": stage.starts_at.isoformat(),
        "ends_at": stage.ends_at.isoformat(),
    }


@bp.post("/processes")
def create_process() -> object:
    """A facilitator opens a process from a template or custom stages."""
    user = signed_in()
    process = service.create_process(db.session, user, **parse_process(request_data()))
    db.session.commit()
    return jsonify(process_dict(process)), 201


@bp.get("/processes/<int:process_id>")
def show_process(process_id: int) -> object:
    """A process with its stages and audit log."""
    process = service.get_process(db.session, process_id)
    log = [
        {"kind": c.kind, "from": c.from_position, "to": c.to_position, "reason": c.reason,
         "at": c.at.isoformat(), "user_id": c.user_id}
        for c in service.audit_log(db.session, process)
    ]  # fmt: skip
    return jsonify(process_dict(process) | {"audit": log})


@bp.post("/processes/<int:process_id>/advance")
def advance(process_id: int) -> object:
    """Move to the next stage now (facilitators); 409 at the last stage."""
    user = signed_in()
    process = service.get_process(db.session, process_id)
    reason, seen = parse_advance(request_data() if _has_body() else {})
    service.advance(db.session, user, process, reason, utcnow(), from_position=seen)
    db.session.commit()
    return jsonify(process_dict(process))


@bp.post("/processes/<int:process_id>/extend")
def extend(process_id: int) -> object:
    """Give the current stage more days (facilitators)."""
    user = signed_in()
    process = service.get_process(db.session, process_id)
    days, reason = parse_extend(request_data())
    service.extend(db.session, user, process, days, reason, utcnow())
    db.session.commit()
    return jsonify(process_dict(process))


def _has_body() -> bool:
    return bool(request.content_length)


@bp.post("/processes/<int:process_id>/statements")
def add_statement(process_id: int) -> object:
    """Seed (facilitators) or submit (participants, in the opinion stage) a statement."""
    process = service.get_process(db.session, process_id)
    text = parse_statement(request_data())
    made = statements.add_statement(db.session, current_user(), process, text, utcnow())
    db.session.commit()
    return jsonify({"id": made.id, "text": made.text, "status": made.status}), 201


@bp.post("/statements/<int:statement_id>/moderate")
def moderate_statement(statement_id: int) -> object:
    """Approve or reject a statement (facilitators)."""
    fields = Fields(request_data())
    status = fields.choice("status", STATEMENT_STATES[1:])
    fields.check()
    found = statements.get_statement(db.session, statement_id)
    statements.moderate(db.session, signed_in(), found, status)
    db.session.commit()
    return jsonify({"id": found.id, "status": found.status})


@bp.post("/statements/<int:statement_id>/votes")
def vote(statement_id: int) -> object:
    """Agree (1), disagree (-1) or pass (0); voting again changes the vote."""
    fields = Fields(request_data())
    value = fields.integer("value", minimum=-1, maximum=1)
    fields.check()
    found = statements.get_statement(db.session, statement_id)
    created = statements.vote(db.session, current_user(), found, value, utcnow())
    db.session.commit()
    return jsonify({"statement_id": found.id, "value": value}), 201 if created else 200


@bp.get("/processes/<int:process_id>/opinion-groups")
def opinion_groups(process_id: int) -> object:
    """Opinion groups with representative, consensus and divisive statements."""
    process = service.get_process(db.session, process_id)
    return jsonify(statements.opinion_groups(db.session, process))


@bp.post("/processes/<int:process_id>/follow")
def follow_process(process_id: int) -> object:
    """Follow a process's updates."""
    process = service.get_process(db.session, process_id)
    created = updates.follow(db.session, signed_in(), process, utcnow())
    db.session.commit()
    return jsonify({"following": True}), 201 if created else 200


@bp.delete("/processes/<int:process_id>/follow")
def unfollow_process(process_id: int) -> object:
    """Stop following a process."""
    process = service.get_process(db.session, process_id)
    updates.unfollow(db.session, signed_in(), process)
    db.session.commit()
    return jsonify({"following": False})


@bp.post("/processes/<int:process_id>/updates")
def post_process_update(process_id: int) -> object:
    """A facilitator's update to all followers (in-app, and email where given)."""
    process = service.get_process(db.session, process_id)
    title, body = parse_update(request_data())
    made = updates.post_update(db.session, signed_in(), process, title, body, utcnow())
    db.session.commit()
    return jsonify({"id": made.id}), 201


def storage() -> LocalStorage:
    """Where briefing attachments are kept: their own folder beside the other uploads."""
    return LocalStorage(Path(current_app.instance_path) / "uploads" / "briefings")


def attachment_dict(attachment: StageAttachment, process_id: int) -> dict[str, Any]:
    """The JSON shape of a briefing attachment, with its public download address."""
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": url_for(
            "stages_manage.attachment", process_id=process_id, attachment_id=attachment.id
        ),
    }


def _briefing_dict(stage: Stage) -> dict[str, Any]:
    return {
        "id": stage.id,
        "title": stage.title,
        "briefing": stage.briefing,
        "briefing_html": str(briefings.render_briefing(stage.briefing)),
        "attachments": [attachment_dict(a, stage.process_id) for a in stage.attachments],
    }


@bp.patch("/stages/<int:stage_id>")
def edit_stage_briefing(stage_id: int) -> object:
    """Change a stage's title and/or Markdown briefing (facilitators)."""
    stage = briefings.get_stage(db.session, stage_id)
    briefings.edit_briefing(db.session, signed_in(), stage, parse_briefing(request_data()))
    db.session.commit()
    return jsonify(_briefing_dict(stage))


@bp.post("/stages/<int:stage_id>/attachments")
def upload_stage_attachment(stage_id: int) -> object:
    """Attach a PDF or a JPEG/PNG/WebP image (multipart field `file`, at most 10 MB)."""
    stage = briefings.get_stage(db.session, stage_id)
    user = signed_in()
    # Above the site-wide limit; set before the body is read.
    request.max_content_length = briefings.UPLOAD_REQUEST_MAX_BYTES
    sent = request.files.get("file")
    made = briefings.add_attachment(
        db.session,
        user,
        stage,
        filename=sent.filename if sent else None,
        data=sent.read() if sent else b"",
        storage=storage(),
    )
    db.session.commit()
    return jsonify(attachment_dict(made, stage.process_id)), 201


@bp.delete("/attachments/<int:attachment_id>")
def delete_stage_attachment(attachment_id: int) -> object:
    """Remove a briefing attachment (facilitators); its file goes once that is saved."""
    found = briefings.get_attachment(db.session, attachment_id)
    key = briefings.remove_attachment(db.session, signed_in(), found)
    db.session.commit()
    storage().delete(key)
    return jsonify({"id": attachment_id, "deleted": True})
