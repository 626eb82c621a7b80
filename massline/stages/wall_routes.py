"""Reflection-meeting pages: the room's screen, the phone page to comment, summaries."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from massline.accounts.current import current_user, signed_in
from massline.errors import DomainError, NotFound
from massline.extensions import db
from massline.models_common import utcnow
from massline.parsing import Fields
from massline.qr import qr_response
from massline.stages import briefings, schemas, service, wall
from massline.stages.models import Process
from massline.stages.wall_api import post_limit

bp = Blueprint("stages_wall", __name__, url_prefix="/processes")
# Without JavaScript the screen reloads itself this often (seconds); with it, it polls
# every MASSLINE_WALL_POLL_SECONDS.
NO_SCRIPT_REFRESH = 20


@bp.app_context_processor
def _wall_helpers() -> dict:
    """Let the process page's summaries partial ask about the wall and the viewer's role."""
    return {
        "wall_is_open": lambda process: wall.closed_reason(process, utcnow()) is None,
        "can_facilitate": lambda process: wall.can_moderate(current_user(), process),
    }


@bp.get("/<int:process_id>/wall")
def screen(process_id: int) -> str:
    """The room's screen: the newest comments in large type, updated as they arrive."""
    process = service.get_process(db.session, process_id)
    snapshot = wall.wall_snapshot(db.session, process)
    return render_template(
        "stages/wall.html",
        process=process,
        posts=snapshot.items[::-1],
        cursor=snapshot.cursor,
        size=wall.SCREEN_SIZE,
        poll_seconds=current_app.config["MASSLINE_WALL_POLL_SECONDS"],
        refresh_seconds=NO_SCRIPT_REFRESH,
        moderator=wall.can_moderate(current_user(), process),
        closed=wall.closed_reason(process, utcnow()),
    )


def _comment_page(process: Process, text: str, error: DomainError | None) -> str:
    moderator = wall.can_moderate(current_user(), process)
    return render_template(
        "stages/wall_comment.html",
        process=process,
        text=text,
        error=error,
        moderator=moderator,
        posts=wall.recent_posts(db.session, process, include_hidden=moderator),
        closed=wall.closed_reason(process, utcnow()),
        max_length=schemas.COMMENT_MAX,
    )


@bp.route("/<int:process_id>/wall/comment", methods=["GET", "POST"])
@post_limit
def comment(process_id: int) -> object:
    """The phone page: write a comment for the wall, and see the latest ones."""
    process = service.get_process(db.session, process_id)
    if request.method == "GET":
        return _comment_page(process, "", None)
    try:
        body = schemas.parse_comment(request.form)
        wall.post_comment(db.session, current_user(), process, body, utcnow())
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        # The typed text comes back with the reason, so nothing the person wrote is lost.
        return _comment_page(process, str(request.form.get("body", "")), error), error.status
    flash(_("Your comment is on the wall."))
    return redirect(url_for("stages_wall.comment", process_id=process_id))


@bp.post("/<int:process_id>/wall/<int:post_id>/moderate")
def moderate(process_id: int, post_id: int) -> object:
    """Hide or show a post from the screen or the phone page (facilitators)."""
    user = signed_in()
    post = wall.get_post(db.session, post_id)
    if post.process_id != process_id:
        raise NotFound()
    fields = Fields(request.form)
    back = fields.choice("back", ("screen", "comment"), required=False) or "screen"
    fields.check()
    wall.moderate_post(db.session, user, post, schemas.parse_moderation(request.form))
    db.session.commit()
    return redirect(url_for(f"stages_wall.{back}", process_id=process_id))


@bp.get("/<int:process_id>/wall/qr.svg")
def qr(process_id: int) -> Response:
    """A QR code of the phone page, for the room's screen and the chat groups."""
    service.get_process(db.session, process_id)
    return qr_response(url_for("stages_wall.comment", process_id=process_id, _external=True))


def _summary_page(process: Process, stage: object, text: str, error: DomainError | None) -> str:
    return render_template(
        "stages/summary.html",
        process=process,
        stage=stage,
        text=text,
        error=error,
        max_length=schemas.SUMMARY_MAX,
    )


@bp.route("/<int:process_id>/stages/<int:stage_id>/summary", methods=["GET", "POST"])
def summary(process_id: int, stage_id: int) -> object:
    """Write and publish a stage's summary, or correct it (facilitators)."""
    user = signed_in()
    process = service.get_process(db.session, process_id)
    stage = briefings.get_stage(db.session, stage_id, process_id=process.id)
    wall.require_summary_writer(user, process, stage)
    if request.method == "GET":
        return _summary_page(process, stage, stage.summary, None)
    try:
        text = schemas.parse_summary(request.form)
        outcome = wall.publish_summary(db.session, user, process, stage, text, utcnow())
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        typed = str(request.form.get("summary", ""))
        return _summary_page(process, stage, typed, error), error.status
    messages = {
        "published": _("The summary is published and followers were told."),
        "revised": _("The corrected summary is published, marked as revised."),
        "unchanged": _("The summary was already published with this text."),
    }
    flash(messages[outcome])
    return redirect(url_for("stages.show", process_id=process_id) + f"#summary-{stage.id}")
