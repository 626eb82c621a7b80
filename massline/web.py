"""The home page."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import or_, select

from massline.accounts.current import current_user
from massline.extensions import db
from massline.localities.models import NATION_CODE
from massline.localities.service import ancestors, get_locality, in_subtree
from massline.priorities.queries import ListQuery, list_priorities
from massline.stages.models import Process

bp = Blueprint("web", __name__)


@bp.get("/")
def home() -> object:
    """The citizen's locality first (or the nation), with its hot and new priorities."""
    user = current_user()
    locality = user.home if user else get_locality(db.session, NATION_CODE)
    hot, total = list_priorities(
        db.session, ListQuery(locality=locality.code, sort="hot"), page_size=5
    )
    newest, _ = list_priorities(db.session, ListQuery(locality=locality.code), page_size=5)
    chain = ancestors(db.session, locality)
    around = [c.code for c in chain]
    processes = db.session.scalars(
        select(Process)
        .where(or_(in_subtree(Process.locality_code, locality), Process.locality_code.in_(around)))
        .order_by(Process.id.desc())
        .limit(5)
    ).unique()
    return render_template(
        "home.html",
        processes=list(processes),
        locality=locality,
        chain=chain,
        hot=hot,
        newest=newest,
        total=total,
    )


@bp.get("/healthz")
def health() -> tuple[str, int]:
    """Liveness for the process manager."""
    return "ok", 200
