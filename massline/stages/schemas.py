"""Parsed input for processes: one parser for the HTML form and the JSON body."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from massline.extensions import db
from massline.localities.service import get_locality
from massline.models_common import utcnow
from massline.parsing import Fields
from massline.stages import service
from massline.stages.models import ACTIONS
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
