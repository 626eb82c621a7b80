"""The facilitator's dashboard page and the process's ZIP export."""

from __future__ import annotations

import tempfile

from flask import Blueprint, Response, render_template, send_file

from massline.accounts.current import current_user
from massline.extensions import db
from massline.models_common import utcnow
from massline.stages import dashboard, export, service

bp = Blueprint("stages_dashboard", __name__, url_prefix="/processes")
# Exports up to this size stay in memory; bigger ones spill to a temporary file.
SPOOL_BYTES = 16 * 1024 * 1024


def _private(response: Response) -> Response:
    # Names and activity of real people: never kept by a shared cache or proxy.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<int:process_id>/dashboard")
def show(process_id: int) -> Response:
    """Participation per stage and per place, the stage clock and the moderation queue."""
    process = service.get_process(db.session, process_id)
    figures = dashboard.dashboard(db.session, current_user(), process, utcnow())
    page = render_template("stages/dashboard.html", process=process, figures=figures)
    return _private(Response(page))


@bp.get("/<int:process_id>/export.zip")
def download(process_id: int) -> Response:
    """Every table of the process as CSV files in one ZIP."""
    if db.engine.dialect.name == "postgresql":
        # One snapshot for every file: under READ COMMITTED each query would see the rows
        # committed since the one before, and the files would disagree. (SQLite's one
        # transaction is a snapshot already.) Only reads have happened yet in this request.
        db.session.rollback()
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    process = service.get_process(db.session, process_id)
    # Not a `with`: send_file streams the file and closes it when the response ends.
    target = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        export.write_export(db.session, current_user(), process, target)
    except BaseException:
        target.close()
        raise
    target.seek(0)
    response = send_file(
        target,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"process-{process.id}.zip",
    )
    return _private(response)
