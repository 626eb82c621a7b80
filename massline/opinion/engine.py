"""The opinion-group estimator: Pol.is's method in scikit-learn form, sparse all the way."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from massline.opinion import statistics
from massline.opinion.clustering import UNASSIGNED, cluster
from massline.opinion.projection import project
from massline.opinion.results import Group, OpinionReport, ParticipantPoint
from massline.opinion.routing import informativeness, priority, weighted_order
from massline.opinion.votes import PASS, as_vote_matrix

__all__ = ["OpinionGroups"]


class OpinionGroups(ClusterMixin, BaseEstimator):
    """Find opinion groups in agree (+1) / disagree (-1) / pass (0) votes on statements.

    Missing votes are filled with the statement's mean for a two-component PCA; positions are
    scaled by sqrt(statements / votes) so light voters are not pulled to the centre. People with
    at least `min_votes` votes (or votes on every statement, if there are fewer) are grouped by
    k-means, k in 2..`max_groups` chosen by silhouette; people with fewer votes join the nearest
    group, people with none stay unassigned (-1). Groups are numbered by size, largest first.

    Parameters
    ----------
    min_votes : votes needed to be clustered (Pol.is uses 7).
    max_groups : largest number of groups tried.
    z_threshold : one-sided z cut-off for significance (1.2816 is 90%, as in Pol.is).
    consensus_threshold : geometric mean over groups of the smoothed rate needed for consensus.
    divisive_min_spread : smallest spread of group agree rates that counts as divisive.
    n_representative : representative statements kept per group and direction.
    n_consensus, n_divisive : consensus statements kept per direction; divisive ones kept.
    n_init : k-means restarts per k.
    silhouette_sample_size : participants sampled to score each k (silhouette is quadratic).
    random_state : seed for k-means and the silhouette sample.

    Attributes
    ----------
    participant_ids_, statement_ids_ : ids of rows and columns (default 0..n-1).
    n_votes_ : votes (passes included) per participant.
    statement_means_ : mean vote per statement, the fill value for missing votes.
    components_, explained_variance_, explained_variance_ratio_ : the PCA, shape (2, ...).
    embedding_ : (n_participants, 2) scaled positions; NaN for participants without votes.
    labels_ : group per participant, -1 if unassigned.
    clustered_ : mask of participants who voted enough to be clustered.
    cluster_centers_ : (n_groups_, 2) group centres in the embedding.
    n_groups_, silhouette_, silhouette_scores_ : the chosen k and what chose it.
    group_agree_rates_, group_disagree_rates_ : (n_groups_, n_statements) smoothed rates.
    statement_vote_counts_, statement_priority_ : per statement; :meth:`route` draws by priority.
    report_ : the :class:`OpinionReport` (``report_.to_dict()`` for the API).
    """

    def __init__(
        self,
        *,
        min_votes: int = 7,
        max_groups: int = 5,
        z_threshold: float = 1.2816,
        consensus_threshold: float = 0.6,
        divisive_min_spread: float = 0.3,
        n_representative: int = 5,
        n_consensus: int = 10,
        n_divisive: int = 10,
        n_init: int = 3,
        silhouette_sample_size: int = 2000,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.min_votes = min_votes
        self.max_groups = max_groups
        self.z_threshold = z_threshold
        self.consensus_threshold = consensus_threshold
        self.divisive_min_spread = divisive_min_spread
        self.n_representative = n_representative
        self.n_consensus = n_consensus
        self.n_divisive = n_divisive
        self.n_init = n_init
        self.silhouette_sample_size = silhouette_sample_size
        self.random_state = random_state

    def _check_params(self) -> None:
        positive = ("min_votes", "n_init", "silhouette_sample_size")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if int(self.max_groups) < 2:
            raise ValueError(f"max_groups must be at least 2, got {self.max_groups!r}")
        if not 0.0 < self.consensus_threshold <= 1.0:
            raise ValueError("consensus_threshold must be in (0, 1]")

    def fit(
        self,
        X: Any,
        y: None = None,
        *,
        participant_ids: Sequence[Hashable] | np.ndarray | None = None,
        statement_ids: Sequence[Hashable] | np.ndarray | None = None,
    ) -> OpinionGroups:
        """Fit on a participant × statement vote matrix (scipy.sparse, or dense with NaN)."""
        self._check_params()
        votes = as_vote_matrix(X, participant_ids, statement_ids)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self.participant_ids_, self.statement_ids_ = votes.participant_ids, votes.statement_ids
        self.n_votes_ = votes.votes_per_participant()

        projection = project(votes)
        self.statement_means_ = projection.means
        self.components_ = projection.components
        self.explained_variance_ = projection.explained_variance
        self.explained_variance_ratio_ = projection.explained_variance_ratio
        self.embedding_ = projection.embedding

        vote_counts = votes.counts()
        # Pol.is gate: min_votes, unless there are fewer statements to vote on than that.
        gate = min(int(self.min_votes), int((vote_counts > 0).sum()))
        grouping = cluster(
            self.embedding_,
            self.n_votes_,
            gate,
            max_groups=int(self.max_groups),
            n_init=int(self.n_init),
            sample_size=int(self.silhouette_sample_size),
            seed=seed,
        )
        self.labels_, self.clustered_ = grouping.labels, grouping.core
        self.cluster_centers_ = grouping.centers
        self.n_groups_ = len(grouping.centers)
        self.silhouette_, self.silhouette_scores_ = grouping.silhouette, grouping.silhouette_scores

        # Statistics use clustered members only: light voters' placement is the least certain.
        core_labels = np.where(self.clustered_, self.labels_, UNASSIGNED)
        counts = statistics.count_by_group(votes, core_labels, self.n_groups_)
        self.group_agree_rates_ = counts.rate("agree")
        self.group_disagree_rates_ = counts.rate("disagree")
        spread = statistics.agree_spread(counts)

        loading = np.linalg.norm(self.components_, axis=0)
        extremity = loading / loading.max() if loading.size and loading.max() > 0 else loading
        self.statement_vote_counts_ = vote_counts.astype(np.int64)
        informative = informativeness(vote_counts, votes.counts(PASS), extremity, spread)
        self.statement_priority_ = priority(informative, vote_counts)
        # A statement added after the fit: no votes yet, assumed as informative as most.
        typical = float(np.median(informative)) if informative.size else 1.0
        self._new_statement_priority = float(priority(typical, 0.0))
        self._statement_index = {s: j for j, s in enumerate(self.statement_ids_)}
        self._participant_index = {p: i for i, p in enumerate(self.participant_ids_)}
        self._voted_indptr, self._voted_indices = votes.indptr, votes.indices
        self.report_ = self._report(counts)
        return self

    def _report(self, counts: statistics.GroupCounts) -> OpinionReport:
        ids = self.statement_ids_
        representative = statistics.representative(
            counts, ids, z_threshold=self.z_threshold, limit=int(self.n_representative)
        )
        sizes = np.bincount(self.labels_[self.labels_ >= 0], minlength=self.n_groups_)
        core_sizes = np.bincount(
            self.labels_[self.clustered_ & (self.labels_ >= 0)], minlength=self.n_groups_
        )
        groups = tuple(
            Group(
                id=g,
                size=int(sizes[g]),
                core_size=int(core_sizes[g]),
                center=(float(self.cluster_centers_[g, 0]), float(self.cluster_centers_[g, 1])),
                representative=representative[g],
            )
            for g in range(self.n_groups_)
        )
        placed = np.flatnonzero(self.n_votes_ > 0)
        xs, ys = self.embedding_[placed, 0].tolist(), self.embedding_[placed, 1].tolist()
        labels = self.labels_[placed].tolist()
        people = self.participant_ids_
        points = tuple(
            ParticipantPoint(people[i], x, y, label)
            for i, x, y, label in zip(placed.tolist(), xs, ys, labels, strict=True)
        )
        return OpinionReport(
            groups=groups,
            consensus=statistics.consensus(
                counts, ids, threshold=self.consensus_threshold, limit=int(self.n_consensus)
            ),
            divisive=statistics.divisive(
                counts,
                ids,
                min_spread=self.divisive_min_spread,
                z_threshold=self.z_threshold,
                limit=int(self.n_divisive),
            ),
            points=points,
            n_participants=len(self.participant_ids_),
            n_statements=len(ids),
            n_clustered=int(self.clustered_.sum()),
            silhouette=None if np.isnan(self.silhouette_) else self.silhouette_,
        )

    def route(
        self,
        participant: Hashable | None = None,
        *,
        voted: Iterable[Hashable] = (),
        candidates: Iterable[Hashable] | None = None,
        limit: int | None = None,
        random_state: int | np.random.Generator | None = None,
    ) -> list[Hashable]:
        """Order the statements a participant has not voted on: new and informative first.

        Votes known from the fit and ids in `voted` are excluded. `candidates` (default: the
        fitted statements) may include statements added since the fit; they count as new.
        The order is a weighted random draw, so pass `random_state` to make it reproducible.
        """
        check_is_fitted(self, "statement_priority_")
        seen = set(voted)
        row = self._participant_index.get(participant) if participant is not None else None
        if row is not None:
            start, end = self._voted_indptr[row], self._voted_indptr[row + 1]
            seen.update(self.statement_ids_[j] for j in self._voted_indices[start:end])
        pool = self.statement_ids_ if candidates is None else tuple(dict.fromkeys(candidates))
        unvoted = [s for s in pool if s not in seen]
        priority = np.array(
            [
                self.statement_priority_[j]
                if (j := self._statement_index.get(s)) is not None
                else self._new_statement_priority
                for s in unvoted
            ],
            dtype=np.float64,
        )
        order = weighted_order(priority, np.random.default_rng(random_state))
        chosen = order if limit is None else order[: max(int(limit), 0)]
        return [unvoted[i] for i in chosen]
