"""The JSON API under /api/v1: bearer tokens or the browser session with CSRF."""

from __future__ import annotations

from flask import Blueprint, Flask, g, jsonify, request

from massline.api.openapi import document
from massline.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _csrf_for_cookie_sessions() -> None:
    """Cookie-authenticated calls must send the CSRF header; token and anonymous calls
    carry no ambient authority to abuse."""
    cookie_user = g.get("user") is not None and not g.get("via_token")
    if request.method not in ("GET", "HEAD", "OPTIONS") and cookie_user:
        csrf.protect()


@bp.get("/openapi.json")
def openapi() -> object:
    """The OpenAPI document of this API."""
    return jsonify(document())


def init_app(app: Flask) -> None:
    """Attach every domain's API routes, then the blueprint."""
    from massline.accounts import api as _accounts  # noqa: F401
    from massline.feasibility import api as _feasibility  # noqa: F401
    from massline.localities import api as _localities  # noqa: F401
    from massline.matching import api as _matching  # noqa: F401
    from massline.priorities import api as _priorities  # noqa: F401
    from massline.stages import api as _stages  # noqa: F401
    from massline.stages import wall_api as _stages_wall  # noqa: F401
    from massline.themes import api as _themes  # noqa: F401

    app.register_blueprint(bp)
