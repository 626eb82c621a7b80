"""Browse pages for the locality tree."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from massline.extensions import db
from massline.localities import service
from massline.localities.models import NATION_CODE
from massline.priorities.queries import ListQuery, list_priorities

bp = Blueprint("localities", __name__, url_prefix="/places")


@bp.get("/")
def index() -> object:
    """The provinces, or search results for ?q=."""
    q = request.args.get("q", "")[:40]
    if q.strip():
        return render_template(
            "localities/search.html", q=q, results=service.search(db.session, q, 50)
        )
    return show(NATION_CODE)


@bp.get("/<code>")
def show(code: str) -> object:
    """A locality: its chain of parents, its children and its newest priorities."""
    locality = service.get_locality(db.session, code)
    items, total = list_priorities(db.session, ListQuery(locality=code), page_size=10)
    return render_template(
        "localities/show.html",
        locality=locality,
        chain=service.ancestors(db.session, locality),
        children=service.children(db.session, code),
        priorities=items,
        total=total,
    )
