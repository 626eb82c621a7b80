"""Facilitator pages: open a consultation, then run it from its manage page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone
from markupsafe import Markup
from sqlalchemy import func, or_, select
from werkzeug.datastructures import MultiDict

from massline.accounts.current import signed_in
from massline.accounts.models import User
from massline.accounts.service import has_role, require_role
from massline.errors import DomainError, Forbidden, NotFound
from massline.extensions import csrf, db
from massline.localities.models import Locality
from massline.localities.service import children, in_subtree
from massline.models_common import utcnow
from massline.parsing import Fields
from massline.stages import briefings, schemas, service, statements, updates
from massline.stages.api import storage
from massline.stages.models import ACTIONS, STATEMENT_STATES, Process, ProcessFollow
from massline.stages.service import FACILITATOR
from massline.stages.templates import TEMPLATES

bp = Blueprint("stages_manage", __name__, url_prefix="/processes")
ACTION_LABELS = {
    "submit": _l("Submit priorities"),
    "support": _l("Support"),
    "comment": _l("Comment"),
    "statement": _l("Add statements"),
    "vote": _l("Vote on statements"),
    "rate": _l("Rate"),
}


@bp.app_template_filter("briefing_html")
def briefing_html(text: str) -> Markup:
    """Render a stage briefing's Markdown safely in any template."""
    return briefings.render_briefing(text)


def _scopes(user: User) -> list[Locality]:
    return [held.scope for held in user.roles if held.role in (FACILITATOR, "admin")]


def _facilitator_anywhere() -> User:
    user = signed_in()
    if not has_role(user, FACILITATOR):
        raise Forbidden(_("Only facilitators can open consultations."))
    return user


def _new_page(form: MultiDict, error: DomainError | None) -> str:
    user = signed_in()
    places: dict[str, Locality] = {}
    for scope in _scopes(user):
        for place in (scope, *children(db.session, scope.code)):
            places.setdefault(place.code, place)
    mine = db.session.scalars(
        select(Process)
        .where(or_(*(in_subtree(Process.locality_code, s) for s in _scopes(user))))
        .order_by(Process.id.desc())
        .limit(20)
    ).unique()
    return render_template(
        "stages/new.html",
        form=form,
        error=error,
        places=list(places.values()),
        templates=TEMPLATES,
        kinds=sorted({t.kind for stages in TEMPLATES.values() for t in stages}),
        actions=ACTIONS,
        action_labels=ACTION_LABELS,
        rows=range(schemas.CUSTOM_ROWS),
        mine=list(mine),
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> object:
    """The new-consultation form: a template or custom stages, in the facilitator's scope."""
    user = _facilitator_anywhere()
    if request.method == "GET":
        today = to_user_timezone(utcnow()).date().isoformat()
        defaults = MultiDict({"template": "vtaiwan", "starts_at": today})
        return _new_page(defaults, None)
    try:
        parsed = schemas.parse_process(schemas.process_form_data(request.form))
        place = parsed["locality"]
        if not has_role(user, FACILITATOR, place):
            message = _("%(place)s is outside the places where you facilitate.", place=place.name)
            raise Forbidden(message, fields={"locality_code": message})
        process = service.create_process(db.session, user, **parsed)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return _new_page(request.form, error), error.status
    flash(_("The consultation is open. Write the briefing of each stage here."))
    return redirect(url_for(".manage", process_id=process.id))


def _managed(process_id: int) -> tuple[Process, User]:
    """The process and its facilitator: 404 unknown, 401 signed out, 403 outside the scope."""
    process = service.get_process(db.session, process_id)
    user = signed_in()
    require_role(user, FACILITATOR, process.locality)
    return process, user


def _manage_page(
    process_id: int, error: DomainError | None = None, target: str = "", form: Any = None
) -> str:
    process, _user = _managed(process_id)
    followers = db.session.scalar(
        select(func.count(ProcessFollow.id)).where(ProcessFollow.process_id == process.id)
    )
    return render_template(
        "stages/manage.html",
        process=process,
        pending=statements.statements_with_status(db.session, process, "pending"),
        audit=service.audit_log(db.session, process),
        followers=followers,
        error=error,
        target=target,
        form=form if form is not None else {},
        max_mb=briefings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
    )


@bp.get("/<int:process_id>/manage")
def manage(process_id: int) -> object:
    """Everything a facilitator does while a consultation runs, one small form each."""
    return _manage_page(process_id)


def _act(process_id: int, target: str, act: Callable[[Process, User], object], done: str) -> object:
    """Run one form's action: redirect back with `done`, or show the page with the error."""
    process, user = _managed(process_id)
    try:
        act(process, user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return _manage_page(process_id, error, target, request.form), error.status
    flash(done)
    return redirect(url_for(".manage", process_id=process_id) + f"#{target}")


@bp.post("/<int:process_id>/manage/stages/<int:stage_id>/briefing")
def edit_briefing(process_id: int, stage_id: int) -> object:
    """Save a stage's title and briefing."""

    def act(process: Process, user: User) -> object:
        stage = briefings.get_stage(db.session, stage_id, process_id=process.id)
        data = schemas.parse_briefing(request.form)
        return briefings.edit_briefing(db.session, user, stage, data)

    return _act(process_id, f"stage-{stage_id}", act, _("The briefing is saved."))


@bp.post("/<int:process_id>/manage/stages/<int:stage_id>/attachments")
@csrf.exempt  # checked below, once the larger upload limit is in place
def upload(process_id: int, stage_id: int) -> object:
    """Attach a PDF or an image to a stage's briefing."""
    _managed(process_id)
    # Larger than the site-wide limit, so it must be set before anything reads the body.
    request.max_content_length = briefings.UPLOAD_REQUEST_MAX_BYTES
    csrf.protect()

    def act(process: Process, user: User) -> object:
        stage = briefings.get_stage(db.session, stage_id, process_id=process.id)
        sent = request.files.get("file")
        return briefings.add_attachment(
            db.session,
            user,
            stage,
            filename=sent.filename if sent else None,
            data=sent.read() if sent else b"",
            storage=storage(),
        )

    return _act(process_id, f"stage-{stage_id}", act, _("The file is attached."))


@bp.post("/<int:process_id>/manage/attachments/<int:attachment_id>/delete")
def delete_attachment(process_id: int, attachment_id: int) -> object:
    """Remove an attachment (its file goes once the removal is saved)."""
    process, user = _managed(process_id)
    found = briefings.get_attachment(db.session, attachment_id, process_id=process.id)
    stage_id = found.stage_id
    key = briefings.remove_attachment(db.session, user, found)
    db.session.commit()
    storage().delete(key)
    flash(_("The attachment is removed."))
    return redirect(url_for(".manage", process_id=process_id) + f"#stage-{stage_id}")


@bp.get("/<int:process_id>/attachments/<int:attachment_id>")
def attachment(process_id: int, attachment_id: int) -> object:
    """Download an attachment under its original name (public, like the process page)."""
    found = briefings.get_attachment(db.session, attachment_id, process_id=process_id)
    try:
        path = storage().path(found.storage_key)
    except ValueError as error:
        raise NotFound() from error
    if not path.is_file():
        raise NotFound()
    response = send_file(
        path, mimetype=found.content_type, download_name=found.filename, max_age=86400
    )
    # The content was checked on upload; never let a browser guess another type.
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/<int:process_id>/manage/statements")
def seed_statement(process_id: int) -> object:
    """Seed a statement for the opinion stage (approved at once)."""

    def act(process: Process, user: User) -> object:
        text = schemas.parse_statement(request.form)
        return statements.add_statement(db.session, user, process, text, utcnow())

    return _act(process_id, "statements", act, _("The statement is added."))


@bp.post("/<int:process_id>/manage/statements/<int:statement_id>/moderate")
def moderate(process_id: int, statement_id: int) -> object:
    """Approve or reject a participant's statement."""

    def act(process: Process, user: User) -> object:
        fields = Fields(request.form)
        status = fields.choice("status", STATEMENT_STATES[1:])
        fields.check()
        found = statements.get_statement(db.session, statement_id)
        if found.process_id != process.id:
            raise NotFound()
        return statements.moderate(db.session, user, found, status)

    return _act(process_id, "moderation", act, _("The statement is moderated."))


@bp.post("/<int:process_id>/manage/moderation")
def strict_moderation(process_id: int) -> object:
    """Switch strict moderation on or off."""

    def act(process: Process, user: User) -> object:
        fields = Fields(request.form)
        strict = fields.flag("strict")
        fields.check()
        return briefings.set_strict_moderation(db.session, user, process, strict)

    return _act(process_id, "moderation", act, _("Moderation is set."))


@bp.post("/<int:process_id>/manage/advance")
def advance(process_id: int) -> object:
    """Move to the next stage now, with a reason for the audit log."""

    def act(process: Process, user: User) -> object:
        reason, seen = schemas.parse_advance(request.form)
        return service.advance(db.session, user, process, reason, utcnow(), from_position=seen)

    return _act(process_id, "advance", act, _("The consultation moved to its next stage."))


@bp.post("/<int:process_id>/manage/extend")
def extend(process_id: int) -> object:
    """Give the current stage more days, with a reason for the audit log."""

    def act(process: Process, user: User) -> object:
        days, reason = schemas.parse_extend(request.form)
        return service.extend(db.session, user, process, days, reason, utcnow())

    return _act(process_id, "extend", act, _("The current stage is extended."))


@bp.post("/<int:process_id>/manage/updates")
def post_update(process_id: int) -> object:
    """Send an update to everyone following the consultation."""

    def act(process: Process, user: User) -> object:
        title, body = schemas.parse_update(request.form)
        return updates.post_update(db.session, user, process, title, body, utcnow())

    return _act(process_id, "update", act, _("The update is sent to the followers."))
