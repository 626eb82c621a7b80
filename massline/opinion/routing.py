"""Which unvoted statement to show next: new and informative ones first, with some chance."""

from __future__ import annotations

import numpy as np

# Votes' worth of weight given to the typical statement when judging a little-voted one.
_PRIOR_VOTES = 5.0


def informativeness(
    votes: np.ndarray, passes: np.ndarray, extremity: np.ndarray, spread: np.ndarray
) -> np.ndarray:
    """How much a vote on each statement tells us about where people stand (always > 0).

    Informative statements are voted on rather than passed, load on the opinion axes
    (`extremity`, 0..1) and split the groups (`spread`, 0..1). With few votes we cannot tell
    yet, so little-voted statements are pulled towards the typical statement.
    """
    pass_rate = (passes + 1.0) / (votes + 2.0)
    raw = (1.0 - pass_rate) * (1.0 + extremity) * (1.0 + spread)
    typical = float(np.median(raw[votes > 0])) if (votes > 0).any() else 1.0
    return (votes * raw + _PRIOR_VOTES * typical) / (votes + _PRIOR_VOTES)


def priority(informative: np.ndarray | float, votes: np.ndarray | float) -> np.ndarray:
    """Pol.is-style routing weight: informativeness boosted up to ninefold for new statements.

    The boost halves every five votes, so each new statement quickly gets enough votes to be
    placed, then competes on how informative it is. Squared, as in Pol.is, to sharpen the choice.
    """
    newness = 1.0 + 8.0 * 2.0 ** (-np.asarray(votes, dtype=np.float64) / 5.0)
    return (np.asarray(informative) * newness) ** 2


def weighted_order(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order in which heavier items tend to come first (sampling without replacement).

    Efraimidis-Spirakis keys log(u) / w: sorting them descending draws items one after another
    with probability proportional to their weight, in one vectorised pass.
    """
    # 1 - random() lies in (0, 1], so the logarithm is always finite.
    keys = np.log(1.0 - rng.random(len(weights))) / weights
    return np.argsort(-keys, kind="stable")
