"""Process calls of the JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import jsonify, request
from flask_babel import lazy_gettext as _l

from massline.accounts.current import current_user, signed_in
from massline.api import bp
from massline.extensions import db
from massline.localities.service import get_locality
from massline.models_common import utcnow
from massline.parsing import Fields, request_data
from massline.stages import service, statements, updates
from massline.stages.models import ACTIONS, STATEMENT_STATES, Process
from massline.stages.templates import TEMPLATES


def _moment(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def parse_process(data: Mapping[str, Any]) -> dict[str, Any]:
    """Title, description, locality and either a template or custom stages."""
    fields = Fields(data)
    title = fields.text("title", max_length=120, min_length=2)
    description = fields.text("description", max_length=6000, multiline=True)
    code = fields.text("locality_code", max_length=6, min_length=6)
    template = fields.choice("template", tuple(TEMPLATES), required=False)
    raw_start = data.get("starts_at")
    starts_at = _moment(raw_start) if raw_start is not None else utcnow()
    if starts_at is None:
        fields.errors["starts_at"] = _l("Use an ISO date and time.")
    stages: list[service.StageInput] = []
    raw_stages = data.get("stages")
    if template is None and raw_stages is None:
        fields.errors["template"] = _l("Choose a template or give the stages.")
    elif raw_stages is not None:
        if not isinstance(raw_stages, list) or not 0 < len(raw_stages) <= 12:
            fields.errors["stages"] = _l("Give between 1 and 12 stages.")
        else:
            for raw in raw_stages:
                stage = _stage(raw)
                if stage is None:
                    fields.errors["stages"] = _l("Each stage needs a kind, a start and an end.")
                    break
                stages.append(stage)
    fields.check()
    if not stages:
        stages = service.stages_from_template(template, starts_at)
    return {
        "title": title,
        "description": description,
        "locality": get_locality(db.session, code),
        "template": template or "custom",
        "stages": stages,
    }


def _stage(raw: Any) -> service.StageInput | None:
    if not isinstance(raw, dict):
        return None
    fields = Fields(raw)
    kind = fields.text("kind", max_length=20)
    title = fields.optional_text("title", max_length=80) or kind
    briefing = fields.optional_text("briefing", max_length=6000, multiline=True) or ""
    actions = raw.get("actions", [])
    start, end = _moment(raw.get("starts_at")), _moment(raw.get("ends_at"))
    valid_actions = isinstance(actions, list) and all(a in ACTIONS for a in actions)
    if fields.errors or start is None or end is None or not valid_actions:
        return None
    return service.StageInput(kind, title, start, end, tuple(actions), briefing)


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


def _reason(fields: Fields) -> str:
    return fields.optional_text("reason", max_length=1000, multiline=True) or ""


@bp.post("/processes/<int:process_id>/advance")
def advance(process_id: int) -> object:
    """Move to the next stage now (facilitators); 409 at the last stage."""
    user = signed_in()
    process = service.get_process(db.session, process_id)
    fields = Fields(request_data() if _has_body() else {})
    reason = _reason(fields)
    fields.check()
    service.advance(db.session, user, process, reason, utcnow())
    db.session.commit()
    return jsonify(process_dict(process))


@bp.post("/processes/<int:process_id>/extend")
def extend(process_id: int) -> object:
    """Give the current stage more days (facilitators)."""
    user = signed_in()
    process = service.get_process(db.session, process_id)
    fields = Fields(request_data())
    days = fields.integer("days", minimum=1, maximum=365)
    reason = _reason(fields)
    fields.check()
    service.extend(db.session, user, process, days, reason, utcnow())
    db.session.commit()
    return jsonify(process_dict(process))


def _has_body() -> bool:
    return bool(request.content_length)


@bp.post("/processes/<int:process_id>/statements")
def add_statement(process_id: int) -> object:
    """Seed (facilitators) or submit (participants, in the opinion stage) a statement."""
    process = service.get_process(db.session, process_id)
    fields = Fields(request_data())
    text = fields.text("text", max_length=140, min_length=2)
    fields.check()
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


@bp.post("/processes/<int:process_id>/updates")
def post_process_update(process_id: int) -> object:
    """A facilitator's update to all followers (in-app, and email where given)."""
    process = service.get_process(db.session, process_id)
    fields = Fields(request_data())
    title = fields.text("title", max_length=120, min_length=2)
    body = fields.text("body", max_length=6000, multiline=True)
    fields.check()
    made = updates.post_update(db.session, signed_in(), process, title, body, utcnow())
    db.session.commit()
    return jsonify({"id": made.id}), 201
