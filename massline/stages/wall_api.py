"""Reflection-wall and stage-summary calls of the JSON API."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask_babel import format_datetime

from massline.accounts.current import current_user, signed_in
from massline.api import bp
from massline.extensions import db, limiter
from massline.models_common import utcnow
from massline.parsing import Fields, request_data
from massline.stages import briefings, schemas, service, wall
from massline.stages.models import Stage, WallPost


def _post_limit() -> str:
    return current_app.config["RATELIMIT_WALL"]


def _poster_key() -> str:
    """Rate-limit wall posts per person (per address before sign-in)."""
    user = current_user()
    return f"user:{user.id}" if user is not None else f"addr:{request.remote_addr}"


# One budget for the page form and the API together, so a second route is no way around it.
post_limit = limiter.shared_limit(
    _post_limit, scope="wall-post", key_func=_poster_key, methods=["POST"]
)


def post_dict(post: WallPost) -> dict[str, Any]:
    """The JSON shape of a wall post (no author: the wall is shown to a whole room)."""
    return {
        "id": post.id,
        "body": post.body,
        "status": post.status,
        "created_at": post.created_at.isoformat(),
        "time": format_datetime(post.created_at, "HH:mm"),
    }


def summary_dict(stage: Stage) -> dict[str, Any]:
    """The JSON shape of a stage's summary."""
    published, revised = stage.summary_published_at, stage.summary_revised_at
    return {
        "stage_id": stage.id,
        "summary": stage.summary,
        "published_at": published.isoformat() if published else None,
        "revised_at": revised.isoformat() if revised else None,
    }


@bp.get("/processes/<int:process_id>/wall")
def wall_feed(process_id: int) -> object:
    """The newest visible comments, or with ?after=<cursor> every change since that cursor.

    Screens poll this every few seconds instead of holding a server-sent-events stream: a
    stream occupies a whole sync gunicorn worker per open screen for the length of the
    meeting, while a poll is one short indexed query. The cursor is the wall's change
    counter, so the answer carries hidden posts (`removed`) as well as new ones.
    """
    process = service.get_process(db.session, process_id)
    fields = Fields(request.args)
    after = fields.integer("after", required=False, minimum=0)
    fields.check()
    if after is None:
        changes = wall.wall_snapshot(db.session, process)
    else:
        changes = wall.wall_changes(db.session, process, after)
    response = jsonify(
        {
            "items": [post_dict(p) for p in changes.items],
            "removed": changes.removed,
            "cursor": changes.cursor,
            "more": changes.more,
        }
    )
    response.cache_control.no_store = True
    return response


@bp.post("/processes/<int:process_id>/wall")
@post_limit
def post_to_wall(process_id: int) -> object:
    """A resident's comment for the meeting's wall, while the current stage takes comments."""
    process = service.get_process(db.session, process_id)
    body = schemas.parse_comment(request_data())
    post = wall.post_comment(db.session, current_user(), process, body, utcnow())
    db.session.commit()
    return jsonify(post_dict(post)), 201


@bp.post("/wall-posts/<int:post_id>/moderate")
def moderate_wall_post(post_id: int) -> object:
    """Hide or show a wall post (facilitators in scope)."""
    user = signed_in()
    post = wall.get_post(db.session, post_id)
    status = schemas.parse_moderation(request_data())
    wall.moderate_post(db.session, user, post, status)
    db.session.commit()
    return jsonify(post_dict(post))


@bp.post("/processes/<int:process_id>/stages/<int:stage_id>/summary")
def publish_stage_summary(process_id: int, stage_id: int) -> object:
    """Publish a stage's summary (201, followers told) or correct it (200, not announced)."""
    user = signed_in()
    process = service.get_process(db.session, process_id)
    stage = briefings.get_stage(db.session, stage_id, process_id=process.id)
    text = schemas.parse_summary(request_data())
    outcome = wall.publish_summary(db.session, user, process, stage, text, utcnow())
    db.session.commit()
    status = 201 if outcome == "published" else 200
    return jsonify(summary_dict(stage) | {"outcome": outcome}), status
