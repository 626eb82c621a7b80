"""Priority calls of the JSON API."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask_babel import get_locale
from sqlalchemy import select

from massline.accounts.current import current_user, signed_in
from massline.accounts.models import User
from massline.accounts.service import user_by_phone
from massline.api import bp
from massline.extensions import db
from massline.parsing import Fields, request_data
from massline.priorities import discussion, merging, queries, schemas, service
from massline.priorities.models import Category, Priority
from massline.themes.service import theme_id_for


def threshold_rule() -> service.ThresholdRule:
    """The threshold rule from the app's settings."""
    config = current_app.config
    return service.ThresholdRule(
        rate=float(config["MASSLINE_THRESHOLD_RATE"]),
        floor=int(config["MASSLINE_THRESHOLD_FLOOR"]),
        rates_by_level=tuple(sorted(config["MASSLINE_THRESHOLD_RATES"].items())),
    )


def priority_dict(priority: Priority) -> dict[str, Any]:
    """The public JSON shape of a priority."""
    locale = str(get_locale() or "zh_CN")
    return {
        "id": priority.id,
        "title": priority.title,
        "body": priority.body,
        "locality_code": priority.locality_code,
        "locality_name": priority.locality.name,
        "category": priority.category.slug if priority.category else None,
        "category_name": priority.category.name_for(locale) if priority.category else None,
        "status": priority.status,
        "supports": priority.total_supports,
        "online_supports": priority.supports_count,
        "offline_supports": priority.offline_supports,
        "threshold": priority.threshold,
        "comments": priority.comments_count,
        "process_id": priority.process_id,
        "theme_id": theme_id_for(db.session, priority.id),
        "author": priority.author.display_name,
        "assisted": priority.is_assisted,
        "created_at": priority.created_at.isoformat(),
        "published_at": priority.published_at.isoformat() if priority.published_at else None,
        "retire_reason": priority.retire_reason,
    }


def list_args() -> queries.ListQuery:
    """The list query from the query string."""
    args = schemas.parse_list_args(
        request.args, sorts=queries.SORTS, statuses=queries.LISTABLE_STATUSES
    )
    return queries.ListQuery(**args.__dict__)


@bp.get("/priorities")
def list_priorities() -> object:
    """A filtered, sorted page of priorities."""
    query = list_args()
    items, total = queries.list_priorities(
        db.session, query, page_size=current_app.config["MASSLINE_PAGE_SIZE"]
    )
    return jsonify({"items": [priority_dict(p) for p in items], "total": total, "page": query.page})


@bp.post("/priorities")
def create() -> object:
    """Submit a priority (or a draft); community workers may name the resident."""
    user = signed_in()
    raw = request_data()
    data = schemas.parse_priority(raw)
    author, entered_by = user, None
    if raw.get("resident_phone"):
        author, entered_by = resident_from(raw), user
    priority = service.create_priority(
        db.session, author, data, rule=threshold_rule(), entered_by=entered_by
    )
    db.session.commit()
    return jsonify(_summary(priority)), 201


def resident_from(raw: Any) -> User:
    """The resident named by `resident_phone` in a community worker's input."""
    fields = Fields(raw)
    phone = fields.text("resident_phone", max_length=20)
    fields.check()
    return user_by_phone(db.session, phone)


def _summary(priority: Priority) -> dict[str, Any]:
    return {
        "id": priority.id,
        "status": priority.status,
        "supports": priority.total_supports,
        "threshold": priority.threshold,
    }


@bp.get("/priorities/<int:priority_id>")
def show(priority_id: int) -> object:
    """One priority."""
    return jsonify(priority_dict(service.get_priority(db.session, priority_id, current_user())))


@bp.patch("/priorities/<int:priority_id>")
def edit(priority_id: int) -> object:
    """Change a priority nobody has supported yet."""
    user = signed_in()
    priority = service.get_priority(db.session, priority_id, user)
    service.edit_priority(db.session, priority, user, schemas.parse_priority(request_data()))
    db.session.commit()
    return jsonify(priority_dict(priority))


@bp.post("/priorities/<int:priority_id>/publish")
def publish(priority_id: int) -> object:
    """Publish a draft."""
    user = signed_in()
    priority = service.get_priority(db.session, priority_id, user)
    service.publish(db.session, priority, user, rule=threshold_rule())
    db.session.commit()
    return jsonify(_summary(priority))


@bp.post("/priorities/<int:priority_id>/retire")
def retire(priority_id: int) -> object:
    """Withdraw one's own priority with a reason."""
    user = signed_in()
    priority = service.get_priority(db.session, priority_id, user)
    service.retire(db.session, priority, user, schemas.parse_retire(request_data()))
    db.session.commit()
    return jsonify(_summary(priority))


@bp.post("/priorities/<int:priority_id>/supports")
def support(priority_id: int) -> object:
    """Support once: 201 the first time, 200 on replay; workers may name a resident."""
    user = signed_in()
    supporter, entered_by = user, None
    raw = request_data() if request.content_length else {}
    if raw.get("resident_phone"):
        supporter, entered_by = resident_from(raw), user
    result = service.support(db.session, priority_id, supporter, entered_by=entered_by)
    db.session.commit()
    body = {
        "id": priority_id,
        "supported": True,
        "created": result.created,
        "supports": result.supports,
        "threshold": result.threshold,
        "status": result.status,
    }
    return jsonify(body), 201 if result.created else 200


@bp.post("/priorities/<int:priority_id>/follow")
def follow(priority_id: int) -> object:
    """Follow a priority."""
    user = signed_in()
    created = service.follow(db.session, service.get_priority(db.session, priority_id, user), user)
    db.session.commit()
    return jsonify({"following": True}), 201 if created else 200


@bp.delete("/priorities/<int:priority_id>/follow")
def unfollow(priority_id: int) -> object:
    """Stop following a priority."""
    user = signed_in()
    service.unfollow(db.session, service.get_priority(db.session, priority_id, user), user)
    db.session.commit()
    return jsonify({"following": False})


def comment_dict(comment: Any) -> dict[str, Any]:
    """The public JSON shape of a comment."""
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "author": comment.author.display_name,
        "body": comment.body,
        "hidden": comment.hidden_at is not None,
        "created_at": comment.created_at.isoformat(),
    }


@bp.get("/priorities/<int:priority_id>/comments")
def comments(priority_id: int) -> object:
    """Comments with their replies."""
    viewer = current_user()
    priority = service.get_priority(db.session, priority_id, viewer)
    threads = discussion.comment_threads(db.session, priority, viewer)
    items = [comment_dict(c) | {"replies": [comment_dict(r) for r in rs]} for c, rs in threads]
    return jsonify({"items": items})


@bp.post("/priorities/<int:priority_id>/comments")
def comment(priority_id: int) -> object:
    """Comment on a priority, or reply to a comment."""
    user = signed_in()
    priority = service.get_priority(db.session, priority_id, user)
    created = discussion.add_comment(
        db.session, priority, user, schemas.parse_comment(request_data())
    )
    db.session.commit()
    return jsonify(comment_dict(created)), 201


@bp.post("/flags")
def flag() -> object:
    """Report a priority or comment to the moderators."""
    user = signed_in()
    fields = Fields(request_data())
    target_type = fields.choice("target_type", ("priority", "comment"))
    target_id = fields.integer("target_id", minimum=1)
    reason = fields.optional_text("reason", max_length=200) or ""
    fields.check()
    created = discussion.flag(db.session, user, target_type, target_id, reason)
    db.session.commit()
    return jsonify({"flagged": True}), 201 if created else 200


@bp.post(
    "/moderation/<any(priority, comment):target_type>/<int:target_id>/<any(hide, restore):action>"
)
def moderate(target_type: str, target_id: int, action: str) -> object:
    """Hide or restore an item (facilitators and admins of its locality)."""
    discussion.moderate(db.session, signed_in(), target_type, target_id, hide=action == "hide")
    db.session.commit()
    return jsonify({"hidden": action == "hide"})


@bp.get("/priorities/similar")
def similar() -> object:
    """Published priorities similar to a title being typed (a hint, never a block)."""
    title = request.args.get("title", "")[: schemas.TITLE_MAX]
    found = queries.similar_titles(db.session, title)
    return jsonify(
        {"items": [{"id": p.id, "title": p.title, "supports": p.total_supports} for p in found]}
    )


@bp.get("/categories")
def categories() -> object:
    """The policy domains."""
    locale = str(get_locale() or "zh_CN")
    rows = db.session.scalars(select(Category).order_by(Category.position))
    return jsonify({"items": [{"slug": c.slug, "name": c.name_for(locale)} for c in rows]})


@bp.post("/priorities/<int:priority_id>/merge")
def propose_merge(priority_id: int) -> object:
    """A facilitator proposes merging this priority into another; its author decides."""
    user = signed_in()
    fields = Fields(request_data())
    target_id = fields.integer("target_id", minimum=1)
    reason = fields.optional_text("reason", max_length=500) or ""
    fields.check()
    source = service.get_priority(db.session, priority_id, user)
    target = service.get_priority(db.session, target_id, user)
    proposal = merging.propose_merge(db.session, user, source, target, reason)
    db.session.commit()
    return jsonify({"id": proposal.id, "source_id": source.id, "target_id": target.id}), 201


@bp.post("/merges/<int:proposal_id>/<any(accept, decline):decision>")
def decide_merge(proposal_id: int, decision: str) -> object:
    """The duplicate's author accepts or declines a merge."""
    proposal = merging.decide(db.session, signed_in(), proposal_id, accept=decision == "accept")
    db.session.commit()
    return jsonify({"id": proposal.id, "accepted": proposal.accepted})
