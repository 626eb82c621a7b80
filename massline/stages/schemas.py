"""Parsed input for processes: one parser for the HTML form and the JSON body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import to_utc
from werkzeug.datastructures import MultiDict

from massline.extensions import db
from massline.localities.service import get_locality
from massline.models_common import utcnow
from massline.parsing import Fields
from massline.stages import service
from massline.stages.models import ACTIONS, WALL_STATES
from massline.stages.templates import TEMPLATES

# Blank stage rows on the no-JavaScript form; only filled rows are used.
CUSTOM_ROWS = 6
MAX_STAGES = 12
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _moment(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw)
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    # Far years overflow once a template adds its stage lengths; no consultation needs them.
    return value if FIRST_YEAR <= value.year <= LAST_YEAR else None


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
        if not isinstance(raw_stages, list) or not 0 < len(raw_stages) <= MAX_STAGES:
            fields.errors["stages"] = _l("Give between 1 and %(n)s stages.", n=MAX_STAGES)
        else:
            for number, raw in enumerate(raw_stages, start=1):
                stage = _stage(raw)
                if stage is None:
                    fields.errors["stages"] = _l(
                        "Stage %(n)s needs a kind, a start and an end.", n=number
                    )
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


def _local_moment(raw: str) -> str:
    """A form's date (or date and time) in the reader's timezone, as an ISO moment in UTC.

    Anything that is not a date is handed on as it is, for `parse_process` to refuse.
    """
    raw = raw.strip()
    try:
        value = datetime.fromisoformat(raw)
        return raw if value.tzinfo else to_utc(value).replace(tzinfo=UTC).isoformat()
    except (ValueError, OverflowError):
        return raw


def process_form_data(form: MultiDict) -> dict[str, Any]:
    """The new-consultation form in the JSON body's shape, so `parse_process` reads both.

    A typed code in `locality_other` wins over the offered list; a custom template uses
    the filled stage rows (`stage-N-kind`, `-title`, `-starts_at`, `-ends_at`, `-actions`).
    """
    data: dict[str, Any] = {
        "title": form.get("title"),
        "description": form.get("description"),
        "locality_code": (form.get("locality_other") or "").strip() or form.get("locality_code"),
    }
    if (form.get("starts_at") or "").strip():
        data["starts_at"] = _local_moment(form["starts_at"])
    template = form.get("template")
    if template != "custom":
        data["template"] = template
        return data
    rows = []
    for index in range(CUSTOM_ROWS):
        texts = {
            name: (form.get(f"stage-{index}-{name}") or "").strip()
            for name in ("kind", "title", "starts_at", "ends_at")
        }
        if not any(texts.values()):
            continue
        row: dict[str, Any] = {"kind": texts["kind"], "title": texts["title"]}
        for name in ("starts_at", "ends_at"):
            row[name] = _local_moment(texts[name]) if texts[name] else None
        row["actions"] = form.getlist(f"stage-{index}-actions")
        rows.append(row)
    data["stages"] = rows
    return data


@dataclass(frozen=True)
class BriefingInput:
    """A stage's new title and briefing (Markdown); None leaves a field as it is."""

    title: str | None
    briefing: str | None


def parse_briefing(data: Mapping[str, Any]) -> BriefingInput:
    """Title (required when given) and briefing (may be emptied) of a stage."""
    fields = Fields(data)
    title = fields.text("title", max_length=80) if "title" in data else None
    briefing = None
    if "briefing" in data:
        briefing = fields.optional_text("briefing", max_length=6000, multiline=True) or ""
    if title is None and briefing is None:
        fields.errors["title"] = _l("Give a title or a briefing.")
    fields.check()
    return BriefingInput(title, briefing)


def parse_statement(data: Mapping[str, Any]) -> str:
    """A statement's text (2 to 140 characters)."""
    fields = Fields(data)
    text = fields.text("text", max_length=140, min_length=2)
    fields.check()
    return text


def parse_advance(data: Mapping[str, Any]) -> tuple[str, int | None]:
    """The optional reason for the audit log, and the stage the facilitator saw when asking.

    With `from_position`, a repeated or crossing request (a double click, two facilitators at
    once) is refused instead of moving the process on twice.
    """
    fields = Fields(data)
    reason = fields.optional_text("reason", max_length=1000, multiline=True) or ""
    seen = fields.integer("from_position", required=False, minimum=0, maximum=MAX_STAGES - 1)
    fields.check()
    return reason, seen


def parse_extend(data: Mapping[str, Any]) -> tuple[int, str]:
    """Days to add to the current stage (1 to 365) and the reason."""
    fields = Fields(data)
    days = fields.integer("days", minimum=1, maximum=365)
    reason = fields.optional_text("reason", max_length=1000, multiline=True) or ""
    fields.check()
    return days, reason


def parse_update(data: Mapping[str, Any]) -> tuple[str, str]:
    """A facilitator's update to followers: title and body."""
    fields = Fields(data)
    title = fields.text("title", max_length=120, min_length=2)
    body = fields.text("body", max_length=6000, multiline=True)
    fields.check()
    return title, body


COMMENT_MAX = 500
SUMMARY_MAX = 6000


def parse_comment(data: Mapping[str, Any]) -> str:
    """The comment's text (1–500 characters, plain text), from the form or the JSON body."""
    fields = Fields(data)
    body = fields.text("body", max_length=COMMENT_MAX, multiline=True)
    fields.check()
    return body


def parse_moderation(data: Mapping[str, Any]) -> str:
    """The new status of a post: visible or hidden."""
    fields = Fields(data)
    status = fields.choice("status", WALL_STATES)
    fields.check()
    return status


def parse_summary(data: Mapping[str, Any]) -> str:
    """A stage summary's text (1–6,000 characters, paragraphs kept)."""
    fields = Fields(data)
    summary = fields.text("summary", max_length=SUMMARY_MAX, multiline=True)
    fields.check()
    return summary
