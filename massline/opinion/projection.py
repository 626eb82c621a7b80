"""Two-component PCA of the mean-filled vote matrix without ever filling it.

Filling each missing vote with its statement's mean and then centring each column gives a
matrix that is zero wherever the vote is missing (the fill value *is* the column mean). So the
centred, filled matrix has the sparsity pattern of the votes, with entries vote - mean, and its
covariance is a small statements × statements product of that sparse matrix with itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from massline.opinion.votes import VoteMatrix

N_COMPONENTS = 2
# Eigenvalues below this fraction of the largest possible variance are numerical noise.
_NEGLIGIBLE = 1e-10


@dataclass(frozen=True, eq=False)
class Projection:
    """The fitted PCA and every participant's scaled 2-D position."""

    means: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    embedding: np.ndarray


def centred_votes(votes: VoteMatrix, means: np.ndarray) -> sp.csr_array:
    """The centred, mean-filled matrix: vote - statement mean where voted, zero elsewhere."""
    return votes.to_csr(votes.values - means[votes.indices])


def _principal_axes(centred: sp.csr_array, n_rows: int) -> tuple[np.ndarray, np.ndarray, float]:
    n_cols = centred.shape[1]
    if n_rows < 2 or n_cols == 0:
        return np.zeros((N_COMPONENTS, n_cols)), np.zeros(N_COMPONENTS), 0.0
    gram = (centred.T @ centred).toarray()
    covariance = gram / (n_rows - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1][:N_COMPONENTS]
    values = np.clip(eigenvalues[order], 0.0, None)
    axes = eigenvectors[:, order].T
    total = float(np.trace(covariance))
    # Flat directions (all passes, one statement...) get a zero axis rather than an arbitrary one.
    flat = values <= _NEGLIGIBLE * max(total, 1.0)
    values[flat], axes[flat] = 0.0, 0.0
    # Fix the sign so the same data always gives the same picture: largest loading positive.
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    axes *= np.where(signs == 0, 1.0, signs)[:, None]
    pad = N_COMPONENTS - len(values)
    if pad > 0:
        axes = np.vstack([axes, np.zeros((pad, n_cols))])
        values = np.concatenate([values, np.zeros(pad)])
    return axes, values, total


def project(votes: VoteMatrix) -> Projection:
    """Fit the 2-component PCA and project participants, scaled up for light voters."""
    n_votes = votes.votes_per_participant()
    vote_counts = votes.counts()
    sums = np.bincount(votes.indices, weights=votes.values, minlength=votes.n_statements)
    means = np.divide(sums, vote_counts, out=np.zeros(votes.n_statements), where=vote_counts > 0)
    centred = centred_votes(votes, means)
    components, variance, total = _principal_axes(centred, votes.n_participants)
    ratio = variance / total if total > 0 else np.zeros_like(variance)

    raw = np.asarray(centred @ components.T).reshape(votes.n_participants, N_COMPONENTS)
    # Pol.is scaling: a participant who voted on few statements sits near the centre only
    # because their unvoted entries are zeros; sqrt(statements / votes) undoes that shrinkage.
    # Statements nobody voted on are not counted, so adding one does not move everybody.
    n_active = int((vote_counts > 0).sum())
    voted = n_votes > 0
    embedding = np.full_like(raw, np.nan)  # no votes, no position
    embedding[voted] = raw[voted] * np.sqrt(n_active / n_votes[voted])[:, None]
    return Projection(means, components, variance, ratio, embedding)
