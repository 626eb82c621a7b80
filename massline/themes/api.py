"""Theme calls of the JSON API."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from massline.api import bp
from massline.extensions import db
from massline.parsing import Fields
from massline.themes import service


def scope_args() -> dict[str, Any]:
    """?locality= (default: the nation), ?page= and ?days= from the query string."""
    fields = Fields(request.args)
    args = {
        "locality": fields.optional_text("locality", max_length=6),
        "page": fields.integer("page", required=False, minimum=1, maximum=100_000) or 1,
        "days": fields.integer("days", required=False, minimum=1, maximum=365) or 30,
    }
    fields.check()
    return args


@bp.get("/themes")
def list_themes() -> object:
    """The themes of a locality's scope, largest first."""
    locality, themes = service.themes_for(db.session, scope_args()["locality"])
    return jsonify({"locality": locality.code, "items": [t.to_dict() for t in themes]})


@bp.get("/themes/hot")
def hot_themes() -> object:
    """Themes ranked by recent growth in supports and submissions (?days=, default 30)."""
    args = scope_args()
    items = service.hot_themes(db.session, args["locality"], days=args["days"])
    return jsonify({"items": items, "days": args["days"]})


@bp.get("/themes/<int:theme_id>")
def show_theme(theme_id: int) -> object:
    """One theme with its keywords, trend and strongest localities."""
    theme = service.get_theme(db.session, theme_id)
    return jsonify(service.theme_detail(db.session, theme))
