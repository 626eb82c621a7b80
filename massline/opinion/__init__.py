"""Opinion groups from agree/disagree/pass votes on statements (the Pol.is method).

Pure computation: imports neither Flask nor SQLAlchemy. Fit :class:`OpinionGroups` on a
participant × statement vote matrix and read ``report_.to_dict()`` for the API, or call
:meth:`OpinionGroups.route` to choose the statements a participant sees next.
"""

from massline.opinion.engine import OpinionGroups
from massline.opinion.results import (
    ConsensusStatement,
    DivisiveStatement,
    Group,
    OpinionReport,
    ParticipantPoint,
    RepresentativeStatement,
)
from massline.opinion.votes import AGREE, DISAGREE, PASS, build_vote_matrix

__all__ = [
    "AGREE",
    "DISAGREE",
    "PASS",
    "ConsensusStatement",
    "DivisiveStatement",
    "Group",
    "OpinionGroups",
    "OpinionReport",
    "ParticipantPoint",
    "RepresentativeStatement",
    "build_vote_matrix",
]
