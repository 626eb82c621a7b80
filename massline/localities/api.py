"""Locality calls of the JSON API."""

from __future__ import annotations

from flask import jsonify, request

from massline.api import bp
from massline.extensions import db
from massline.localities import service


@bp.get("/localities/<code>")
def locality(code: str) -> object:
    """One locality."""
    return jsonify(service.get_locality(db.session, code).to_dict())


@bp.get("/localities/<code>/children")
def children(code: str) -> object:
    """The direct children of a locality."""
    return jsonify({"items": [loc.to_dict() for loc in service.children(db.session, code)]})


@bp.get("/localities")
def search() -> object:
    """Localities whose name contains ?q= (or whose code starts with it)."""
    q = request.args.get("q", "")[:40]
    return jsonify({"items": [loc.to_dict() for loc in service.search(db.session, q)]})
