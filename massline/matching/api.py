"""Planner calls of the JSON API: ideas, match runs, pilots."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, jsonify
from flask_babel import lazy_gettext as _l

from massline.accounts.current import signed_in
from massline.api import bp
from massline.errors import NotFound
from massline.extensions import db
from massline.matching import planning
from massline.matching.models import MatchRun, Pilot
from massline.matching.service import LEVELS, MatchRequest
from massline.models_common import utcnow
from massline.parsing import Fields, request_data


def parse_idea(data: Mapping[str, Any]) -> tuple[str, str, str]:
    """Title, description and level of a new idea."""
    fields = Fields(data)
    title = fields.text("title", max_length=120, min_length=2)
    body = fields.text("body", max_length=6000, multiline=True)
    level = fields.choice("level", LEVELS, required=False) or "county"
    fields.check()
    return title, body, level


def _codes(fields: Fields, name: str) -> tuple[str, ...]:
    raw = fields.data.get(name)
    if raw in (None, "", []):
        return ()
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.replace("，", ",").split(",") if part.strip()]
    if (
        not isinstance(raw, list)
        or len(raw) > 500
        or not all(isinstance(c, str) and c.isdigit() and len(c) == 6 for c in raw)
    ):
        fields.errors[name] = _l("Give 6-digit locality codes, separated by commas.")
        return ()
    return tuple(raw)


def _ids(fields: Fields, name: str) -> tuple[int, ...]:
    """Priority ids the planner marked as false matches."""
    raw = fields.data.get(name)
    if raw in (None, "", []):
        return ()
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.replace("，", ",").split(",") if part.strip()]
        raw = [int(part) if part.isdigit() else part for part in raw]
    if (
        not isinstance(raw, list)
        or len(raw) > 1000
        or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31 for i in raw)
    ):
        fields.errors[name] = _l("Give priority numbers, separated by commas.")
        return ()
    return tuple(raw)


def parse_match(data: Mapping[str, Any], idea_text: str, level: str) -> MatchRequest:
    """The planner's match parameters."""
    fields = Fields(data)
    k = fields.integer("k", required=False, minimum=1, maximum=500) or 10
    max_per_province = fields.integer("max_per_province", required=False, minimum=1, maximum=500)
    min_participants = fields.integer("min_participants", required=False, minimum=1) or 30
    exclude, include = _codes(fields, "exclude"), _codes(fields, "include")
    false_matches = _ids(fields, "false_matches")
    tradeoff = fields.flag("tradeoff")
    fields.check()
    return MatchRequest(
        text=idea_text, level=level, k=k, max_per_province=max_per_province,
        exclude=exclude, include=include, min_participants=min_participants,
        false_matches=false_matches, tradeoff=tradeoff,
    )  # fmt: skip


def get_run(idea_id: int, run_id: int) -> MatchRun:
    """A run of this idea, or NotFound."""
    run = db.session.get(MatchRun, run_id) if 0 < run_id < 2**31 else None
    if run is None or run.idea_id != idea_id:
        raise NotFound()
    return run


@bp.post("/ideas")
def create_idea() -> object:
    """A central planner enters an idea."""
    title, body, level = parse_idea(request_data())
    idea = planning.create_idea(db.session, signed_in(), title=title, body=body, level=level)
    db.session.commit()
    return jsonify({"id": idea.id, "title": idea.title, "level": idea.level}), 201


@bp.post("/ideas/<int:idea_id>/match")
def match_idea(idea_id: int) -> object:
    """Rank localities for the idea and choose a portfolio; the run is kept as it was."""
    user = signed_in()
    idea = planning.get_idea(db.session, idea_id)
    request = parse_match(request_data(), idea.title + "\n" + idea.body, idea.level)
    run = planning.run_match(db.session, user, idea, request)
    db.session.commit()
    return jsonify({"run_id": run.id, **run.result}), 201


@bp.post("/ideas/<int:idea_id>/runs/<int:run_id>/designate")
def designate(idea_id: int, run_id: int) -> object:
    """Make pilots of chosen sites; each gets a feasibility report."""
    user = signed_in()
    run = get_run(idea_id, run_id)
    fields = Fields(request_data())
    codes = _codes(fields, "codes")
    fields.check()
    months = int(current_app.config["MASSLINE_REPORT_DUE_MONTHS"])
    pilots = planning.designate(db.session, user, run, list(codes), utcnow(), months=months)
    db.session.commit()
    return jsonify({"pilots": [{"id": p.id, "code": p.locality_code} for p in pilots]}), 201


@bp.post("/pilots/<int:pilot_id>/refuse")
def refuse(pilot_id: int) -> object:
    """Record that a site refused, and get the next one of its stratum to offer."""
    user = signed_in()
    pilot = db.session.get(Pilot, pilot_id) if 0 < pilot_id < 2**31 else None
    if pilot is None:
        raise NotFound()
    fields = Fields(request_data())
    reason = fields.text("reason", max_length=1000, multiline=True)
    fields.check()
    offer = planning.refuse(db.session, user, pilot, reason, utcnow())
    db.session.commit()
    return jsonify({"id": pilot.id, "status": pilot.status, "next": offer})
