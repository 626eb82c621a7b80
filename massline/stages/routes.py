"""The process page: timeline, the current stage's briefing and actions, statements, groups."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from sqlalchemy import select

from massline.accounts.current import current_user, signed_in
from massline.extensions import db
from massline.models_common import utcnow
from massline.parsing import Fields
from massline.stages import service, statements
from massline.stages.models import StatementVote

bp = Blueprint("stages", __name__, url_prefix="/processes")


@bp.get("/<int:process_id>")
def show(process_id: int) -> object:
    """Done / now / next across the top, then what can be done now."""
    process = service.get_process(db.session, process_id)
    viewer = current_user()
    visible = statements.visible_statements(db.session, process)
    mine = {}
    if viewer is not None:
        mine = dict(
            db.session.execute(
                select(StatementVote.statement_id, StatementVote.value).where(
                    StatementVote.user_id == viewer.id
                )
            ).all()
        )
    return render_template(
        "stages/show.html",
        process=process,
        now=utcnow(),
        statements=visible,
        texts={s.id: s.text for s in visible},
        mine=mine,
        groups=statements.opinion_groups(db.session, process),
        audit=service.audit_log(db.session, process),
    )


@bp.post("/<int:process_id>/statements")
def add_statement(process_id: int) -> object:
    """A statement from the page."""
    process = service.get_process(db.session, process_id)
    fields = Fields(request.form)
    text = fields.text("text", max_length=140, min_length=2)
    fields.check()
    statements.add_statement(db.session, signed_in(), process, text, utcnow())
    db.session.commit()
    return redirect(url_for("stages.show", process_id=process_id))


@bp.post("/<int:process_id>/statements/<int:statement_id>/vote")
def vote(process_id: int, statement_id: int) -> object:
    """Agree / disagree / pass buttons."""
    fields = Fields(request.form)
    value = fields.integer("value", minimum=-1, maximum=1)
    fields.check()
    found = statements.get_statement(db.session, statement_id)
    statements.vote(db.session, signed_in(), found, value, utcnow())
    db.session.commit()
    return redirect(url_for("stages.show", process_id=process_id) + f"#s{statement_id}")
