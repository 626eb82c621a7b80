"""The process page: timeline, the current stage's briefing and actions, statements, groups."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext, to_user_timezone
from sqlalchemy import func, select

from massline.accounts.current import current_user, signed_in
from massline.errors import Conflict
from massline.extensions import db
from massline.models_common import utcnow
from massline.parsing import Fields
from massline.priorities.models import PUBLIC_STATUSES, Priority
from massline.stages import service, statements, updates
from massline.stages.models import Process, Stage
from massline.stages.plot import Plot, colour, scatter

bp = Blueprint("stages", __name__, url_prefix="/processes")

# Actions that are about the process's priorities: the page lists them when one is open.
PRIORITY_ACTIONS = ("submit", "support", "comment")
PRIORITIES_SHOWN = 20


@dataclass(frozen=True)
class Step:
    """One stage on the timeline, with its dates as days in Beijing."""

    stage: Stage
    state: str  # done | now | next
    first_day: date
    last_day: date
    countdown: str  # "ends in 3 days", "starts tomorrow", or ""


def _day(moment: datetime) -> date:
    # Days are Beijing days (the app's time zone): 01:00 UTC on the 5th is already the 5th
    # there, 17:00 UTC on the 5th is the 6th.
    return to_user_timezone(moment).date()


def _countdown(stage: Stage, state: str, now: datetime) -> str:
    today = _day(now)
    if state != "done" and now < stage.starts_at:
        days = (_day(stage.starts_at) - today).days
        if days <= 0:
            return _("starts today")
        if days == 1:
            return _("starts tomorrow")
        return ngettext("starts in %(num)s day", "starts in %(num)s days", days)
    if state != "now":
        return ""
    if now >= stage.ends_at:
        return _("ended")
    days = (_last_day(stage) - today).days
    if days <= 0:
        return _("ends today")
    if days == 1:
        return _("ends tomorrow")
    return ngettext("ends in %(num)s day", "ends in %(num)s days", days)


def _last_day(stage: Stage) -> date:
    # A stage ending at midnight has its last day before it: 1 to 10 March 00:00 is 1–9 March.
    return _day(stage.ends_at - timedelta(microseconds=1))


@bp.app_template_global("timeline")
def timeline(process: Process, now: datetime | None = None) -> list[Step]:
    """The stages as done / now / next with Beijing dates and a countdown (for any page)."""
    now = now or utcnow()
    steps = []
    for stage in process.stages:
        position = stage.position
        state = (
            "now"
            if position == process.current_position
            else ("done" if position < process.current_position else "next")
        )
        steps.append(
            Step(
                stage=stage,
                state=state,
                first_day=_day(stage.starts_at),
                last_day=_last_day(stage),
                countdown=_countdown(stage, state, now),
            )
        )
    return steps


def _allows(process: Process, action: str, now: datetime) -> bool:
    try:
        service.require_action(process, action, now)
    except Conflict:
        return False
    return True


def _process_priorities(process: Process) -> tuple[list[Priority], int]:
    # The public priorities made through this process, most supported first.
    where = (
        Priority.process_id == process.id,
        Priority.status.in_(PUBLIC_STATUSES),
        Priority.hidden_at.is_(None),
    )
    total = (Priority.supports_count + Priority.offline_supports).desc()
    found = db.session.scalars(
        select(Priority).where(*where).order_by(total, Priority.id).limit(PRIORITIES_SHOWN)
    ).unique()
    count = db.session.scalar(select(func.count(Priority.id)).where(*where)) or 0
    return list(found), count


def _plot(groups: dict, viewer_id: int | None) -> Plot | None:
    if not groups["groups"]:
        return None
    points = [(p["participant"], p["x"], p["y"], p["group"]) for p in groups["points"]]
    centres = [tuple(g["center"]) for g in groups["groups"]]
    return scatter(points, centres, viewer=viewer_id)


@bp.get("/<int:process_id>")
def show(process_id: int) -> object:
    """Done / now / next across the top, then what can be done now, then the rest."""
    process = service.get_process(db.session, process_id)
    viewer = current_user()
    now = utcnow()
    allowed = {
        a for a in ("submit", "support", "comment", "statement", "vote") if _allows(process, a, now)
    }
    mine = statements.user_votes(db.session, process, viewer)
    fit = statements.opinion_fit(db.session, process)
    upcoming = []
    if "vote" in allowed:
        # Seeded by who is voting and how far they are: a reload shows the same statement,
        # a vote moves on to the next one, and tests can reproduce the draw.
        seed = zlib.crc32(f"{process.id}:{viewer.id if viewer else 0}:{len(mine)}".encode())
        upcoming = statements.next_statements(db.session, process, viewer, 1, seed=seed, fit=fit)
    visible = statements.visible_statements(db.session, process)
    groups = statements.describe_groups(fit, {s.id: s.text for s in visible})
    priorities, priority_count = _process_priorities(process)
    viewer_group = next(
        (p["group"] for p in groups["points"] if viewer and p["participant"] == viewer.id), None
    )
    audit = service.audit_log(db.session, process)
    return render_template(
        "stages/show.html",
        process=process,
        now=now,
        allowed=allowed,
        refusal=statements.refusal(viewer, process),
        upcoming=upcoming,
        mine=mine,
        statement_count=len(visible),
        groups=groups,
        plot=_plot(groups, viewer.id if viewer else None),
        viewer_group=viewer_group,
        group_colour=colour,
        priorities=priorities,
        priority_count=priority_count,
        audit=audit,
        audit_names=service.audit_names(db.session, audit),
        following=updates.is_following(db.session, viewer, process),
        news=updates.recent_updates(db.session, process),
    )


@bp.post("/<int:process_id>/follow")
def follow(process_id: int) -> object:
    """Follow the consultation (updates in the inbox, and by email where given), or stop."""
    process = service.get_process(db.session, process_id)
    fields = Fields(request.form)
    stop = fields.flag("stop")
    fields.check()
    if stop:
        updates.unfollow(db.session, signed_in(), process)
        flash(_("You no longer follow this consultation."))
    else:
        updates.follow(db.session, signed_in(), process, utcnow())
        flash(_("You follow this consultation: its updates reach your inbox."))
    db.session.commit()
    return redirect(url_for("stages.show", process_id=process_id))


@bp.post("/<int:process_id>/statements")
def add_statement(process_id: int) -> object:
    """A statement from the page."""
    process = service.get_process(db.session, process_id)
    fields = Fields(request.form)
    text = fields.text("text", max_length=140, min_length=2)
    fields.check()
    made = statements.add_statement(db.session, signed_in(), process, text, utcnow())
    db.session.commit()
    if made.status == "pending":
        flash(_("Thank you. Your statement will appear once a facilitator has approved it."))
    else:
        flash(_("Your statement is added."))
    return redirect(url_for("stages.show", process_id=process_id) + "#vote")


@bp.post("/<int:process_id>/statements/<int:statement_id>/vote")
def vote(process_id: int, statement_id: int) -> object:
    """Agree / disagree / pass: from the next statement, or changing one in the list of votes."""
    fields = Fields(request.form)
    value = fields.integer("value", minimum=-1, maximum=1)
    origin = fields.choice("from", ("next", "list"), required=False) or "next"
    fields.check()
    found = statements.get_statement(db.session, statement_id, process_id)
    statements.vote(db.session, signed_in(), found, value, utcnow())
    db.session.commit()
    flash(_("Your vote is saved."))
    anchor = f"#s{statement_id}" if origin == "list" else "#vote"
    return redirect(url_for("stages.show", process_id=process_id) + anchor)
