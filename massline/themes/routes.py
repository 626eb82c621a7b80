"""Theme pages: the themes of a scope, hot themes, and one theme with its members."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from massline.extensions import db
from massline.localities.service import ancestors
from massline.themes import service
from massline.themes.api import scope_args

bp = Blueprint("themes", __name__, url_prefix="/themes")


@bp.get("/")
def index() -> object:
    """The themes of a locality (?locality=, default the nation) and the hottest ones."""
    args = scope_args()
    locality, themes = service.themes_for(db.session, args["locality"])
    hot = service.hot_themes(db.session, locality.code, days=args["days"])[:5]
    return render_template(
        "themes/index.html",
        locality=locality,
        chain=ancestors(db.session, locality),
        themes=themes,
        hot=[h for h in hot if h["growth"] > 0],
        days=args["days"],
    )


@bp.get("/<int:theme_id>")
def show(theme_id: int) -> object:
    """One theme: label, keywords, counts, monthly trend, strongest places, members."""
    page = scope_args()["page"]
    theme = service.get_theme(db.session, theme_id)
    size = current_app.config["MASSLINE_PAGE_SIZE"]
    items, total = service.members(db.session, theme, page=page, page_size=size)
    return render_template(
        "themes/show.html",
        theme=theme,
        chart=service.bar_chart(service.trend(db.session, theme)),
        localities=service.strongest_localities(db.session, theme),
        items=items,
        total=total,
        page=page,
        pages=max(1, -(-total // size)),
    )
