"""The in-app inbox page."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, render_template

from massline.accounts.current import current_user, signed_in
from massline.api import bp as api
from massline.extensions import db
from massline.models_common import utcnow
from massline.notifications import service

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
def index() -> object:
    """My notifications, newest first; opening the page marks them read."""
    user = signed_in()
    messages = service.inbox(db.session, user.id)
    unread = {m.id for m in messages if m.read_at is None}
    service.mark_read(db.session, user.id, utcnow())
    db.session.commit()
    return render_template("notifications/index.html", messages=messages, unread=unread)


@api.get("/notifications")
def api_index() -> object:
    """My in-app notifications (the API does not mark them read)."""
    user = signed_in()
    items = [
        {
            "id": m.id,
            "subject": m.subject,
            "body": m.body,
            "created_at": m.created_at.isoformat(),
            "read": m.read_at is not None,
        }
        for m in service.inbox(db.session, user.id)
    ]
    return jsonify({"items": items, "unread": service.unread_count(db.session, user.id)})


def init_app(app: Flask) -> None:
    """Show the unread count in the header of every page."""

    @app.context_processor
    def _unread() -> dict:
        user = current_user()
        if user is None:
            return {"unread_notifications": 0}
        return {"unread_notifications": service.unread_count(db.session, user.id)}
