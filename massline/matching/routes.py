"""Planner pages: ideas, the ranking with evidence, the portfolio, designation."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from massline.accounts.current import signed_in
from massline.accounts.service import require_role
from massline.extensions import db
from massline.matching import charts, planning, tilemap
from massline.matching.api import _codes, get_run, parse_idea, parse_match
from massline.matching.models import Idea, MatchRun, Pilot
from massline.models_common import utcnow
from massline.parsing import Fields

bp = Blueprint("matching", __name__, url_prefix="/ideas")


@bp.route("/", methods=["GET", "POST"])
def index() -> object:
    """The planner's ideas, and the form for a new one."""
    user = signed_in()
    require_role(user, planning.PLANNER)
    if request.method == "POST":
        title, body, level = parse_idea(request.form)
        idea = planning.create_idea(db.session, user, title=title, body=body, level=level)
        db.session.commit()
        return redirect(url_for("matching.show", idea_id=idea.id))
    ideas = db.session.scalars(select(Idea).order_by(Idea.id.desc())).unique().all()
    return render_template("matching/index.html", ideas=ideas)


@bp.get("/<int:idea_id>")
def show(idea_id: int) -> object:
    """An idea with its runs; the newest run's ranking, portfolio and metrics."""
    require_role(signed_in(), planning.PLANNER)
    idea = planning.get_idea(db.session, idea_id)
    runs = (
        db.session.scalars(
            select(MatchRun).where(MatchRun.idea_id == idea.id).order_by(MatchRun.id.desc())
        )
        .unique()
        .all()
    )
    chosen = runs[0] if runs else None
    if request.args.get("run", "").isdigit():
        chosen = next((r for r in runs if r.id == int(request.args["run"])), chosen)
    pilots = (
        db.session.scalars(select(Pilot).where(Pilot.idea_id == idea.id).order_by(Pilot.id))
        .unique()
        .all()
    )
    return render_template(
        "matching/show.html",
        idea=idea,
        runs=runs,
        run=chosen,
        pilots=pilots,
        tradeoff=charts.tradeoff_chart(chosen.result) if chosen else None,
        provinces=(
            tilemap.province_map(chosen.result["ranking"], chosen.result["portfolio"])
            if chosen
            else None
        ),
        note=portfolio_note(chosen.result["portfolio_status"]) if chosen else "",
        row_names=ROW_NAMES,
    )


# The engine knows no languages: the page words its outcome from the structured fields.
FAMILY_NAMES = {
    "balance": _l("covariate balance (|SMD| ≤ δ)"),
    "strata": _l("stratum quotas"),
    "province": _l("province cap"),
    "region": _l("at least one per region"),
    "include": _l("must-include list"),
}
ROW_NAMES = {"portfolio": _l("Portfolio"), "top_k": _l("Plain top-k"), "random": _l("Random draw")}


def portfolio_note(status: dict) -> str:
    """What became of the portfolio, in the reader's language."""
    kind = status.get("status")
    if kind == "optimal":
        return _("The best portfolio under every constraint.")
    if kind == "time_limit":
        return _("The time limit was reached: the best portfolio found so far.")
    if kind == "relaxed":
        used = status.get("delta_used")
        return _(
            "Covariate balance at δ = %(asked)s cannot be met together with the other "
            "constraints; δ was relaxed to %(used)s.",
            asked=f"{status.get('delta_requested', 0):g}",
            used=_("none") if used is None else f"{used:g}",
        )
    binding = status.get("binding") or []
    if binding:
        names = "; ".join(str(FAMILY_NAMES.get(name, name)) for name in binding)
        return _(
            "No portfolio meets every constraint. Binding: %(names)s "
            "(relaxing it alone makes one possible).",
            names=names,
        )
    return _("No portfolio: %(reason)s", reason=status.get("message", ""))


@bp.post("/<int:idea_id>/match")
def run(idea_id: int) -> object:
    """Run the engine from the page."""
    user = signed_in()
    idea = planning.get_idea(db.session, idea_id)
    made = planning.run_match(
        db.session, user, idea, parse_match(request.form, idea.title + "\n" + idea.body, idea.level)
    )
    db.session.commit()
    return redirect(url_for("matching.show", idea_id=idea_id, run=made.id))


@bp.post("/<int:idea_id>/runs/<int:run_id>/designate")
def designate(idea_id: int, run_id: int) -> object:
    """Designate the ticked sites."""
    user = signed_in()
    fields = Fields({"codes": request.form.getlist("codes")})
    codes = _codes(fields, "codes")
    fields.check()
    months = int(current_app.config["MASSLINE_REPORT_DUE_MONTHS"])
    planning.designate(
        db.session, user, get_run(idea_id, run_id), list(codes), utcnow(), months=months
    )
    db.session.commit()
    flash(_("Pilot sites designated; their officials have a feasibility report to write."))
    return redirect(url_for("matching.show", idea_id=idea_id, run=run_id))
