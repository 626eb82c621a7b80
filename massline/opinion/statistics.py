"""Per-group vote statistics: representative, consensus and divisive statements (Pol.is repness)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from massline.opinion.results import (
    ConsensusStatement,
    DivisiveStatement,
    RepresentativeStatement,
)
from massline.opinion.votes import AGREE, DISAGREE, VoteMatrix


@dataclass(frozen=True, eq=False)
class GroupCounts:
    """Vote counts per group (rows) and statement (columns)."""

    agree: np.ndarray
    disagree: np.ndarray
    votes: np.ndarray  # passes included

    @property
    def n_groups(self) -> int:
        """Number of groups counted."""
        return self.votes.shape[0]

    def rate(self, direction: str) -> np.ndarray:
        """Smoothed (1 + count) / (2 + votes) rate per group and statement; 1/2 with no votes."""
        count = self.agree if direction == "agree" else self.disagree
        return (count + 1.0) / (self.votes + 2.0)


def count_by_group(votes: VoteMatrix, labels: np.ndarray, n_groups: int) -> GroupCounts:
    """Count agrees, disagrees and all votes per group; participants labelled -1 are skipped."""
    m = votes.n_statements
    group = labels[votes.rows]
    keep = group >= 0
    key = group[keep] * m + votes.indices[keep]
    values = votes.values[keep]
    size = n_groups * m

    def tally(mask: np.ndarray | slice) -> np.ndarray:
        return np.bincount(key[mask], minlength=size).reshape(n_groups, m).astype(np.float64)

    return GroupCounts(tally(values == AGREE), tally(values == DISAGREE), tally(slice(None)))


def two_proportion_z(
    success_a: np.ndarray, total_a: np.ndarray, success_b: np.ndarray, total_b: np.ndarray
) -> np.ndarray:
    """Two-proportion z statistic with add-one smoothing, so empty cells give finite values."""
    success_a, total_a, success_b, total_b = (
        x + 1.0 for x in (success_a, total_a, success_b, total_b)
    )
    pooled = (success_a + success_b) / (total_a + total_b)
    spread = np.sqrt(pooled * (1.0 - pooled) * (1.0 / total_a + 1.0 / total_b))
    difference = success_a / total_a - success_b / total_b
    return np.divide(difference, spread, out=np.zeros_like(difference), where=spread > 0)


def one_proportion_z(success: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Pol.is's smoothed one-sample test that a majority of voters chose this way."""
    return 2.0 * np.sqrt(total + 1.0) * ((success + 1.0) / (total + 1.0) - 0.5)


def representative(
    counts: GroupCounts, statement_ids: Sequence, *, z_threshold: float, limit: int
) -> list[tuple[RepresentativeStatement, ...]]:
    """Per group: statements it holds significantly more than the rest, agrees first, by ratio."""
    if counts.n_groups < 2:
        return [()] * counts.n_groups
    agree_rate, disagree_rate = counts.rate("agree"), counts.rate("disagree")
    totals = {
        "agree": counts.agree.sum(axis=0),
        "disagree": counts.disagree.sum(axis=0),
        "votes": counts.votes.sum(axis=0),
    }
    result = []
    for g in range(counts.n_groups):
        rest_votes = totals["votes"] - counts.votes[g]
        found: dict[str, list[RepresentativeStatement]] = {"agree": [], "disagree": []}
        for direction, own in (("agree", counts.agree[g]), ("disagree", counts.disagree[g])):
            rest = totals[direction] - own
            rest_rate = (rest + 1.0) / (rest_votes + 2.0)
            rate = agree_rate[g] if direction == "agree" else disagree_rate[g]
            z = two_proportion_z(own, counts.votes[g], rest, rest_votes)
            # Both tests, as in Pol.is: the group leans this way, and more than the rest does.
            # The one-sample test needs a majority, so no statement qualifies on both sides.
            leans = one_proportion_z(own, counts.votes[g]) > z_threshold
            for j in np.flatnonzero((z > z_threshold) & leans):
                found[direction].append(
                    RepresentativeStatement(
                        statement=statement_ids[j],
                        direction=direction,
                        agree_rate=float(agree_rate[g, j]),
                        disagree_rate=float(disagree_rate[g, j]),
                        rest_rate=float(rest_rate[j]),
                        ratio=float(rate[j] / rest_rate[j]),
                        z=float(z[j]),
                        votes=int(counts.votes[g, j]),
                    )
                )
        ranked = [
            *sorted(found["agree"], key=lambda r: -r.ratio)[:limit],
            *sorted(found["disagree"], key=lambda r: -r.ratio)[:limit],
        ]
        result.append(tuple(ranked))
    return result


def consensus(
    counts: GroupCounts, statement_ids: Sequence, *, threshold: float, limit: int
) -> tuple[ConsensusStatement, ...]:
    """Statements every group agrees with (then those every group disagrees with), best first.

    The score is Pol.is's group-informed consensus: the product of the groups' smoothed rates.
    The cut-off is on its geometric mean so that it means the same with 2 groups as with 5, and
    each group must lean that way (rate above 1/2) so that no group is outvoted by the others.
    """
    if counts.n_groups == 0:
        return ()
    found = []
    for direction in ("agree", "disagree"):
        rates = counts.rate(direction)
        score = rates.prod(axis=0)
        typical = score ** (1.0 / counts.n_groups)
        chosen = np.flatnonzero((typical >= threshold) & (rates.min(axis=0) > 0.5))
        chosen = chosen[np.argsort(-score[chosen], kind="stable")][:limit]
        found.extend(
            ConsensusStatement(
                statement=statement_ids[j],
                direction=direction,
                score=float(score[j]),
                rates=tuple(rates[:, j].tolist()),
            )
            for j in chosen
        )
    return tuple(found)


def agree_spread(counts: GroupCounts) -> np.ndarray:
    """Highest minus lowest smoothed agree rate across groups, per statement (0 with < 2 groups)."""
    if counts.n_groups < 2:
        return np.zeros(counts.votes.shape[1])
    rates = counts.rate("agree")
    return rates.max(axis=0) - rates.min(axis=0)


def divisive(
    counts: GroupCounts,
    statement_ids: Sequence,
    *,
    min_spread: float,
    z_threshold: float,
    limit: int,
) -> tuple[DivisiveStatement, ...]:
    """Statements whose agree rate differs most between groups, significantly, widest first."""
    if counts.n_groups < 2:
        return ()
    rates = counts.rate("agree")
    spread = agree_spread(counts)
    high, low = rates.argmax(axis=0), rates.argmin(axis=0)
    columns = np.arange(rates.shape[1])
    z = two_proportion_z(
        counts.agree[high, columns],
        counts.votes[high, columns],
        counts.agree[low, columns],
        counts.votes[low, columns],
    )
    chosen = np.flatnonzero((spread >= min_spread) & (z > z_threshold))
    chosen = chosen[np.argsort(-spread[chosen], kind="stable")][:limit]
    return tuple(
        DivisiveStatement(
            statement=statement_ids[j],
            spread=float(spread[j]),
            agree_rates=tuple(rates[:, j].tolist()),
        )
        for j in chosen
    )
