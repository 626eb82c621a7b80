"""Frozen result objects of an opinion-group fit, each serialising to plain JSON-ready dicts."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConsensusStatement",
    "DivisiveStatement",
    "Group",
    "OpinionReport",
    "ParticipantPoint",
    "RepresentativeStatement",
]


@dataclass(frozen=True)
class RepresentativeStatement:
    """A statement one group agrees (or disagrees) with markedly more than everyone else."""

    statement: Hashable
    direction: str  # "agree" or "disagree"
    agree_rate: float  # smoothed (1 + agrees) / (2 + votes) within the group
    disagree_rate: float
    rest_rate: float  # the same smoothed rate, in `direction`, over the other groups pooled
    ratio: float  # group rate / rest rate: how much more this group holds the view
    z: float  # two-proportion z statistic, group against rest
    votes: int  # votes cast on the statement within the group (passes included)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for the JSON API."""
        return {
            "statement": self.statement,
            "direction": self.direction,
            "agree_rate": self.agree_rate,
            "disagree_rate": self.disagree_rate,
            "rest_rate": self.rest_rate,
            "ratio": self.ratio,
            "z": self.z,
            "votes": self.votes,
        }


@dataclass(frozen=True)
class ConsensusStatement:
    """A statement every group agrees (or disagrees) with."""

    statement: Hashable
    direction: str  # "agree" or "disagree"
    score: float  # product over groups of the smoothed rate in `direction`
    rates: tuple[float, ...]  # that smoothed rate in each group, by group id

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for the JSON API."""
        return {
            "statement": self.statement,
            "direction": self.direction,
            "score": self.score,
            "rates": list(self.rates),
        }


@dataclass(frozen=True)
class DivisiveStatement:
    """A statement on which the groups' agreement differs most."""

    statement: Hashable
    spread: float  # highest minus lowest smoothed agree rate across groups
    agree_rates: tuple[float, ...]  # by group id

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for the JSON API."""
        return {
            "statement": self.statement,
            "spread": self.spread,
            "agree_rates": list(self.agree_rates),
        }


@dataclass(frozen=True)
class Group:
    """One opinion group and the statements that define it."""

    id: int
    size: int  # everyone placed in the group, light voters included
    core_size: int  # members with enough votes to be clustered; the statistics use only these
    center: tuple[float, float]
    representative: tuple[RepresentativeStatement, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for the JSON API."""
        return {
            "id": self.id,
            "size": self.size,
            "core_size": self.core_size,
            "center": list(self.center),
            "representative": [r.to_dict() for r in self.representative],
        }


@dataclass(frozen=True)
class ParticipantPoint:
    """A participant's place on the scatter plot; group -1 means not placed in a group."""

    participant: Hashable
    x: float
    y: float
    group: int


@dataclass(frozen=True)
class OpinionReport:
    """Everything the process page shows about the opinion groups."""

    groups: tuple[Group, ...]
    consensus: tuple[ConsensusStatement, ...]
    divisive: tuple[DivisiveStatement, ...]
    points: tuple[ParticipantPoint, ...]  # only participants who voted at least once
    n_participants: int
    n_statements: int
    n_clustered: int
    silhouette: float | None  # None when no choice between group counts was made

    def to_dict(self, *, include_points: bool = True) -> dict[str, Any]:
        """Plain-dict form for the JSON API: {"groups", "consensus", "divisive", "points", ...}."""
        result: dict[str, Any] = {
            "groups": [g.to_dict() for g in self.groups],
            "consensus": [c.to_dict() for c in self.consensus],
            "divisive": [d.to_dict() for d in self.divisive],
            "n_participants": self.n_participants,
            "n_statements": self.n_statements,
            "n_clustered": self.n_clustered,
            "silhouette": None
            if self.silhouette is None or math.isnan(self.silhouette)
            else self.silhouette,
        }
        if include_points:
            result["points"] = [
                {"participant": p.participant, "x": p.x, "y": p.y, "group": p.group}
                for p in self.points
            ]
        return result
