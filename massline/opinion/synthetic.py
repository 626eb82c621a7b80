"""Synthetic vote matrices with planted opinion groups, for tests, benchmarks and demos."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# How a participant votes on a statement, given their group's stance on it.
_AGREEING = (0.80, 0.10, 0.10)  # P(agree), P(disagree), P(pass)
_DISAGREEING = (0.10, 0.80, 0.10)


@dataclass(frozen=True, eq=False)
class PlantedVotes:
    """A sparse vote matrix and the truth it was drawn from."""

    votes: sp.csr_array
    groups: np.ndarray  # planted group per participant
    stances: np.ndarray  # (n_groups, n_statements): +1 the group agrees, -1 it disagrees
    consensus: np.ndarray  # statements every group agrees with


def planted_votes(
    n_participants: int,
    n_statements: int,
    *,
    n_groups: int = 3,
    n_consensus: int = 5,
    missing: float | None = 0.4,
    votes_per_participant: tuple[int, int] | None = None,
    random_state: int = 0,
) -> PlantedVotes:
    """Draw votes from `n_groups` planted groups; the first `n_consensus` statements unite them.

    Each participant votes on a random share (1 - `missing`) of statements, or, when
    `votes_per_participant=(low, high)` is given, on a uniformly drawn number in that range.
    Other statements get a random stance per group, so some are divisive and some are held by
    one group alone.
    """
    rng = np.random.default_rng(random_state)
    groups = rng.integers(n_groups, size=n_participants)
    stances = rng.choice([-1, 1], size=(n_groups, n_statements))
    stances[:, :n_consensus] = 1
    # Make sure the groups really differ on some statements: each group alone agrees with one.
    for g in range(min(n_groups, n_statements - n_consensus)):
        stances[:, n_consensus + g] = -1
        stances[g, n_consensus + g] = 1

    if votes_per_participant is None:
        voted = rng.random((n_participants, n_statements)) >= (missing or 0.0)
    else:
        low, high = votes_per_participant
        wanted = rng.integers(low, high + 1, size=n_participants)
        # The first `wanted` of a random permutation per row: a uniform subset of that size.
        order = rng.random((n_participants, n_statements)).argsort(axis=1)[:, :high]
        voted = np.zeros((n_participants, n_statements), dtype=bool)
        keep = np.arange(high)[None, :] < wanted[:, None]
        voted[np.nonzero(keep)[0], order[keep]] = True

    rows, cols = np.nonzero(voted)
    agreeing = stances[groups[rows], cols] == 1
    probabilities = np.where(agreeing[:, None], _AGREEING, _DISAGREEING)
    draw = rng.random(len(rows))[:, None] < probabilities.cumsum(axis=1)
    values = np.array([1.0, -1.0, 0.0])[draw.argmax(axis=1)]
    matrix = sp.csr_array((values, (rows, cols)), shape=(n_participants, n_statements))
    return PlantedVotes(matrix, groups, stances, np.arange(min(n_consensus, n_statements)))
