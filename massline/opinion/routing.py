"""Which unvoted statement to show next: new and informative ones first, with some chance."""

from __future__ import annotations

import numpy as np


def statement_priority(
    votes: np.ndarray, passes: np.ndarray, extremity: np.ndarray, spread: np.ndarray
) -> np.ndarray:
    """Pol.is-style routing weight per statement (always > 0).

    Informative statements are voted on rather than passed, load on the opinion axes
    (`extremity`, 0..1) and split the groups (`spread`, 0..1). New statements get up to a
    ninefold boost that halves every five votes, so each gets enough votes to be placed.
    """
    pass_rate = (passes + 1.0) / (votes + 2.0)
    informative = (1.0 - pass_rate) * (1.0 + extremity) * (1.0 + spread)
    newness = 1.0 + 8.0 * 2.0 ** (-votes / 5.0)
    return (informative * newness) ** 2


NEW_STATEMENT_PRIORITY = float(
    statement_priority(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1))[0]
)


def weighted_order(priority: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order in which heavier items tend to come first (sampling without replacement).

    Efraimidis-Spirakis keys log(u) / w: sorting them descending draws items one after another
    with probability proportional to their weight, in one vectorised pass.
    """
    keys = np.log(rng.random(len(priority))) / priority
    return np.argsort(-keys, kind="stable")
