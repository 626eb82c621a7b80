"""Merging duplicates with consent: a facilitator proposes, the duplicate's author decides.

Nobody's support moves: the merged priority keeps its supporters and links to the one it was
merged into (and that one back to it); its supporters are told and can support the other.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import require_role
from massline.errors import Conflict, Forbidden, NotFound, ValidationError
from massline.models_common import utcnow
from massline.notifications.service import notify_in_app
from massline.priorities.models import SUPPORTABLE, Follow, MergeProposal, Priority, Support

MODERATOR_ROLE = "facilitator"


def propose_merge(
    session: Session, facilitator: User | None, source: Priority, target: Priority, reason: str
) -> MergeProposal:
    """Ask the author of `source` to merge it into `target`."""
    require_role(facilitator, MODERATOR_ROLE, source.locality)
    if source.id == target.id:
        raise ValidationError(fields={"target_id": _l("A priority cannot be merged into itself.")})
    if source.status not in SUPPORTABLE or target.status not in SUPPORTABLE:
        raise Conflict(_l("Only open priorities can be merged."))
    if not target.locality.contains(source.locality_code):
        raise ValidationError(
            fields={"target_id": _l("The target must cover the duplicate's locality.")}
        )
    proposal = MergeProposal(
        source_id=source.id, target_id=target.id, proposed_by_id=facilitator.id, reason=reason
    )
    try:
        with session.begin_nested():
            session.add(proposal)
    except IntegrityError as error:
        raise Conflict(_l("This merge has already been proposed.")) from error
    notify_in_app(
        session,
        [source.author_id],
        f"协调员建议把您的诉求“{source.title}”合并到“{target.title}”，请在诉求页面决定是否同意。",
    )
    return proposal


def decide(
    session: Session, author: User | None, proposal_id: int, *, accept: bool
) -> MergeProposal:
    """The duplicate's author accepts or declines; accepting links both ways."""
    proposal = session.get(MergeProposal, proposal_id) if proposal_id < 2**31 else None
    if proposal is None:
        raise NotFound()
    source, target = proposal.source, proposal.target
    if author is None or author.id not in (source.author_id, source.entered_by_id):
        raise Forbidden(_l("Only the author can decide on this merge."))
    if proposal.decided_at is not None:
        raise Conflict(_l("This merge has already been decided."))
    proposal.decided_at = utcnow()
    proposal.accepted = accept
    if accept:
        if source.status not in SUPPORTABLE or target.status not in SUPPORTABLE:
            raise Conflict(_l("Only open priorities can be merged."))
        source.status = "retired"
        source.retire_reason = "duplicate"
        source.retire_explanation = f"#{target.id} {target.title}"
        source.retired_at = proposal.decided_at
        source.merged_into_id = target.id
        people = (
            select(Support.user_id)
            .where(Support.priority_id == source.id)
            .union(select(Follow.user_id).where(Follow.priority_id == source.id))
        )
        notify_in_app(
            session,
            [uid for uid in session.scalars(people) if uid != source.author_id],
            f"您支持的诉求“{source.title}”已合并到“{target.title}”（#{target.id}）。"
            "您的支持仍保留在原诉求上；如愿意，请去支持合并后的诉求。",
        )
    session.flush()
    return proposal


def pending_for(session: Session, priority: Priority) -> list[MergeProposal]:
    """Undecided proposals to merge this priority away."""
    query = select(MergeProposal).where(
        MergeProposal.source_id == priority.id, MergeProposal.decided_at.is_(None)
    )
    return list(session.scalars(query))


def merged_from(session: Session, priority: Priority) -> list[Priority]:
    """Priorities merged into this one."""
    query = select(Priority).where(Priority.merged_into_id == priority.id).order_by(Priority.id)
    return list(session.scalars(query).unique())
