"""Priority pages: list, page, submit, edit, support, comment, follow, flag, moderate."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from massline.accounts.current import current_user, signed_in
from massline.accounts.service import has_role
from massline.errors import Conflict, DomainError, Forbidden
from massline.extensions import db
from massline.feasibility.service import report_for
from massline.localities.service import ancestors
from massline.parsing import Fields
from massline.priorities import discussion, merging, queries, schemas, service
from massline.priorities.api import list_args, resident_from, threshold_rule
from massline.priorities.models import RETIRE_REASONS, Category, Priority
from massline.qr import qr_response
from massline.stages.models import Process
from massline.stages.service import get_process

bp = Blueprint("priorities", __name__)


def _categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position)))


@bp.get("/priorities")
def index() -> object:
    """The list with filters, search and sorting."""
    query = list_args()
    size = current_app.config["MASSLINE_PAGE_SIZE"]
    items, total = queries.list_priorities(db.session, query, page_size=size)
    return render_template(
        "priorities/index.html",
        items=items,
        total=total,
        query=query,
        pages=max(1, -(-total // size)),
        categories=_categories(),
        sorts=queries.SORTS,
    )


@bp.get("/priorities/<int:priority_id>")
def show(priority_id: int) -> object:
    """One priority with its progress bar, QR code, actions and comments."""
    viewer = current_user()
    priority = service.get_priority(db.session, priority_id, viewer)
    return render_template(
        "priorities/show.html",
        priority=priority,
        threads=discussion.comment_threads(db.session, priority, viewer),
        supported=service.has_supported(db.session, priority, viewer),
        following=service.is_following(db.session, priority, viewer),
        can_moderate=has_role(viewer, "facilitator", priority.locality),
        can_assist=has_role(viewer, "community_worker", priority.locality),
        retire_reasons=RETIRE_REASONS,
        report=report_for(db.session, "priority", priority.id),
        merge_proposals=merging.pending_for(db.session, priority),
        merged_from=merging.merged_from(db.session, priority),
        merged_into=db.session.get(Priority, priority.merged_into_id)
        if priority.merged_into_id
        else None,
    )


@bp.get("/priorities/<int:priority_id>/qr.svg")
def qr(priority_id: int) -> Response:
    """A QR code of the priority's address, to share in chat groups and on paper."""
    service.get_priority(db.session, priority_id, current_user())
    return qr_response(url_for("priorities.show", priority_id=priority_id, _external=True))


@bp.route("/priorities/new", methods=["GET", "POST"])
def new() -> object:
    """The submit form (the similar-title hint comes from the API while typing)."""
    user = signed_in()
    form = request.form
    if request.method == "POST":
        try:
            data = schemas.parse_priority(form)
            author, entered_by = user, None
            if form.get("resident_phone"):  # a community worker writing for a resident
                author, entered_by = resident_from(form), user
            priority = service.create_priority(
                db.session, author, data, rule=threshold_rule(), entered_by=entered_by
            )
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            return _form_page(form, error, None), error.status
        flash(_("Saved as a draft.") if data.draft else _("Your priority is published."))
        return redirect(url_for("priorities.show", priority_id=priority.id))
    # Coming from a consultation's page: the priority is made through that process.
    fields = Fields(request.args)
    process_id = fields.integer("process_id", required=False, minimum=1)
    fields.check()
    blank = {"locality_code": user.home_code}
    if process_id is not None:
        blank["process_id"] = str(get_process(db.session, process_id).id)
    return _form_page(blank, None, None)


def _form_page(form: object, error: DomainError | None, priority: object) -> str:
    user = signed_in()
    places = [*ancestors(db.session, user.home), user.home]
    raw_process = str(form.get("process_id") or "")
    process = (
        db.session.get(Process, int(raw_process))
        if raw_process.isdigit() and 0 < int(raw_process) < 2**31
        else None
    )
    return render_template(
        "priorities/form.html",
        form=form,
        error=error,
        priority=priority,
        places=places,
        process=process,
        categories=_categories(),
        is_worker=has_role(user, "community_worker"),
        similar=queries.similar_titles(db.session, form.get("title", ""))
        if form.get("title")
        else [],
    )


@bp.route("/priorities/<int:priority_id>/edit", methods=["GET", "POST"])
def edit(priority_id: int) -> object:
    """Edit while nobody has supported it."""
    user = signed_in()
    priority = service.get_priority(db.session, priority_id, user)
    if request.method == "POST":
        try:
            data = schemas.parse_priority(request.form)
            service.edit_priority(db.session, priority, user, data)
            if not data.draft and priority.status == "draft":
                service.publish(db.session, priority, user, rule=threshold_rule())
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            return _form_page(request.form, error, priority), error.status
        return redirect(url_for("priorities.show", priority_id=priority.id))
    # Refuse up front what the save would refuse, rather than showing a form that cannot work.
    if user.id not in (priority.author_id, priority.entered_by_id):
        raise Forbidden(_("Only the author can edit this priority."))
    if priority.status not in ("draft", "published") or priority.total_supports > 0:
        raise Conflict(_("A priority cannot be edited once people have supported it."))
    form = {
        "title": priority.title,
        "body": priority.body,
        "locality_code": priority.locality_code,
        "category": priority.category.slug if priority.category else "",
    }
    return _form_page(form, None, priority)


def _back(priority_id: int) -> object:
    return redirect(url_for("priorities.show", priority_id=priority_id))


@bp.post("/priorities/<int:priority_id>/support")
def support(priority_id: int) -> object:
    """Support from the page's button."""
    result = service.support(db.session, priority_id, signed_in())
    db.session.commit()
    flash(_("Thank you for your support.") if result.created else _("You already support this."))
    return _back(priority_id)


@bp.post("/priorities/<int:priority_id>/follow")
def follow(priority_id: int) -> object:
    """Follow or unfollow from the page."""
    user = signed_in()
    priority = service.get_priority(db.session, priority_id, user)
    if request.form.get("stop"):
        service.unfollow(db.session, priority, user)
    else:
        service.follow(db.session, priority, user)
    db.session.commit()
    return _back(priority_id)


@bp.post("/priorities/<int:priority_id>/comments")
def comment(priority_id: int) -> object:
    """Comment from the page."""
    user = signed_in()
    priority = service.get_priority(db.session, priority_id, user)
    discussion.add_comment(db.session, priority, user, schemas.parse_comment(request.form))
    db.session.commit()
    return _back(priority_id)


@bp.post("/priorities/<int:priority_id>/retire")
def retire(priority_id: int) -> object:
    """Retire from the page."""
    user = signed_in()
    priority = service.get_priority(db.session, priority_id, user)
    service.retire(db.session, priority, user, schemas.parse_retire(request.form))
    db.session.commit()
    flash(_("The priority was retired."))
    return _back(priority_id)


@bp.post("/flag/<any(priority, comment):target_type>/<int:target_id>")
def flag(target_type: str, target_id: int) -> object:
    """Report an item from the page."""
    user = signed_in()
    # The same rules as the API: a reason is optional, but never over-long or control text.
    fields = Fields(request.form)
    reason = fields.optional_text("reason", max_length=200) or ""
    fields.check()
    discussion.flag(db.session, user, target_type, target_id, reason)
    db.session.commit()
    flash(_("Thank you. A moderator will look at it."))
    return redirect(request.referrer or url_for("priorities.index"))


@bp.get("/moderation")
def moderation() -> object:
    """The moderation queue of the signed-in facilitator."""
    user = signed_in()
    if not has_role(user, "facilitator"):
        raise Forbidden()
    return render_template(
        "priorities/moderation.html", items=discussion.moderation_queue(db.session, user)
    )


@bp.post("/moderation/<any(priority, comment):target_type>/<int:target_id>")
def moderate(target_type: str, target_id: int) -> object:
    """Hide or restore from the queue or the page."""
    user = signed_in()
    # Anything but an explicit hide or restore is refused, not taken as a restore.
    fields = Fields(request.form)
    action = fields.choice("action", ("hide", "restore"))
    fields.check()
    discussion.moderate(db.session, user, target_type, target_id, hide=action == "hide")
    db.session.commit()
    return redirect(request.referrer or url_for("priorities.moderation"))


@bp.post("/priorities/<int:priority_id>/merge")
def propose_merge(priority_id: int) -> object:
    """A facilitator proposes a merge from the page."""
    user = signed_in()
    fields = Fields(request.form)
    target_id = fields.integer("target_id", minimum=1)
    reason = fields.optional_text("reason", max_length=500) or ""
    fields.check()
    source = service.get_priority(db.session, priority_id, user)
    target = service.get_priority(db.session, target_id, user)
    merging.propose_merge(db.session, user, source, target, reason)
    db.session.commit()
    flash(_("The author has been asked to agree to the merge."))
    return _back(priority_id)


@bp.post("/merges/<int:proposal_id>")
def decide_merge(proposal_id: int) -> object:
    """The author answers a merge proposal from the page."""
    fields = Fields(request.form)
    decision = fields.choice("decision", ("accept", "decline"))
    fields.check()
    proposal = merging.decide(db.session, signed_in(), proposal_id, accept=decision == "accept")
    db.session.commit()
    return _back(proposal.source_id)


@bp.post("/priorities/<int:priority_id>/assisted-support")
def assisted_support(priority_id: int) -> object:
    """A community worker records a named resident's support collected offline."""
    worker = signed_in()
    resident = resident_from(request.form)
    result = service.support(db.session, priority_id, resident, entered_by=worker)
    db.session.commit()
    flash(
        _("The resident's support is recorded.")
        if result.created
        else _("This resident already supports it.")
    )
    return _back(priority_id)
