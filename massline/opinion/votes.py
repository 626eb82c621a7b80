"""Validated participant × statement vote matrices, kept sparse.

A vote is +1 (agree), -1 (disagree) or 0 (pass). A missing vote is simply absent: in a sparse
matrix every *stored* entry is a vote (an explicitly stored 0 is a pass), in a dense array a NaN
is a missing vote. Stored NaNs in a sparse matrix are treated as missing too.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["AGREE", "DISAGREE", "PASS", "VoteMatrix", "build_vote_matrix"]

AGREE, DISAGREE, PASS = 1, -1, 0


@dataclass(frozen=True, eq=False)
class VoteMatrix:
    """Votes in CSR form; `values` holds -1/0/+1 and every stored entry is a cast vote."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    shape: tuple[int, int]
    participant_ids: tuple[Hashable, ...]
    statement_ids: tuple[Hashable, ...]

    @property
    def n_participants(self) -> int:
        """Number of rows."""
        return self.shape[0]

    @property
    def n_statements(self) -> int:
        """Number of columns."""
        return self.shape[1]

    @property
    def rows(self) -> np.ndarray:
        """Row index of every stored vote (the CSR row pointer expanded)."""
        return np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))

    def votes_per_participant(self) -> np.ndarray:
        """How many statements each participant voted on (passes included)."""
        return np.diff(self.indptr)

    def counts(self, value: int | None = None) -> np.ndarray:
        """Per-statement count of votes (all, or only those equal to `value`)."""
        keep = slice(None) if value is None else self.values == value
        return np.bincount(self.indices[keep], minlength=self.shape[1]).astype(np.float64)

    def to_csr(self, data: np.ndarray | None = None) -> sp.csr_array:
        """The matrix as a scipy CSR array, optionally with other data on the same pattern."""
        data = self.values.astype(np.float64) if data is None else data
        return sp.csr_array((data, self.indices, self.indptr), shape=self.shape)


def _ids(given: Sequence[Hashable] | np.ndarray | None, n: int, what: str) -> tuple:
    if given is None:
        return tuple(range(n))
    # .tolist() turns numpy scalars into plain Python values so reports serialise cleanly.
    ids = tuple(given.tolist() if isinstance(given, np.ndarray) else given)
    if len(ids) != n:
        raise ValueError(f"{what} ids: got {len(ids)} ids for {n} {what}s in the vote matrix")
    if len(set(ids)) != n:
        raise ValueError(f"{what} ids must be unique")
    return ids


def _check_values(values: np.ndarray) -> np.ndarray:
    if values.size and not np.isin(values, (-1.0, 0.0, 1.0)).all():
        bad = values[~np.isin(values, (-1.0, 0.0, 1.0))][0]
        raise ValueError(
            f"votes must be +1 (agree), -1 (disagree), 0 (pass) or missing; found {bad!r}"
        )
    return values.astype(np.int8)


def _as_float(array: Any) -> np.ndarray:
    if np.iscomplexobj(array):
        raise ValueError("votes must be real numbers, not complex")
    try:
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"votes must be numbers: {error}") from None


def as_vote_matrix(
    votes: Any,
    participant_ids: Sequence[Hashable] | np.ndarray | None = None,
    statement_ids: Sequence[Hashable] | np.ndarray | None = None,
) -> VoteMatrix:
    """Validate `votes` (scipy.sparse, or dense with NaN for missing) into a VoteMatrix."""
    if isinstance(votes, VoteMatrix):
        return votes
    if sp.issparse(votes):
        if votes.ndim != 2:
            raise ValueError("votes must be a 2-D participant × statement matrix")
        csr = sp.csr_array(votes, copy=True)
        # Summing duplicates turns a double vote into 2, which the value check then rejects.
        csr.sum_duplicates()
        data = _as_float(csr.data)
        if np.isnan(data).any():
            keep = ~np.isnan(data)
            rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))[keep]
            indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=csr.shape[0]))))
            indices, data = csr.indices[keep], data[keep]
        else:
            indptr, indices = csr.indptr, csr.indices
        shape = csr.shape
    else:
        dense = _as_float(votes)
        if dense.ndim != 2:
            raise ValueError(
                f"votes must be a 2-D participant × statement matrix, got {dense.ndim} dimension(s)"
            )
        voted = ~np.isnan(dense)
        indptr = np.concatenate(([0], np.cumsum(voted.sum(axis=1))))
        indices = np.nonzero(voted)[1]
        data = dense[voted]
        shape = dense.shape
    return VoteMatrix(
        indptr=np.asarray(indptr, dtype=np.int64),
        indices=np.asarray(indices, dtype=np.int64),
        values=_check_values(data),
        shape=(int(shape[0]), int(shape[1])),
        participant_ids=_ids(participant_ids, int(shape[0]), "participant"),
        statement_ids=_ids(statement_ids, int(shape[1]), "statement"),
    )


def build_vote_matrix(
    votes: Iterable[tuple[Hashable, Hashable, int]],
    participant_ids: Sequence[Hashable] | None = None,
    statement_ids: Sequence[Hashable] | None = None,
) -> tuple[sp.csr_array, tuple, tuple]:
    """Build a sparse matrix from (participant, statement, vote) rows, e.g. a database query.

    Ids default to those seen, in first-seen order; passing `statement_ids` keeps statements
    nobody has voted on yet. A participant voting twice on one statement is a ValueError.
    """
    triples = list(votes)
    people = list(
        dict.fromkeys([t[0] for t in triples] if participant_ids is None else participant_ids)
    )
    statements = list(
        dict.fromkeys([t[1] for t in triples] if statement_ids is None else statement_ids)
    )
    row_of = {p: i for i, p in enumerate(people)}
    col_of = {s: j for j, s in enumerate(statements)}
    try:
        rows = np.fromiter((row_of[t[0]] for t in triples), np.int64, len(triples))
        cols = np.fromiter((col_of[t[1]] for t in triples), np.int64, len(triples))
    except KeyError as error:
        raise ValueError(f"vote for unknown participant or statement {error}") from None
    values = _check_values(_as_float([t[2] for t in triples]).reshape(-1))
    if len(np.unique(rows * max(len(statements), 1) + cols)) != len(triples):
        raise ValueError("a participant has more than one vote on the same statement")
    matrix = sp.csr_array(
        (values.astype(np.float64), (rows, cols)), shape=(len(people), len(statements))
    )
    return matrix, tuple(people), tuple(statements)
