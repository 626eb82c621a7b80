"""A relevance index for national-scale matching: TF-IDF over stored tokens, kept per term.

`IdeaRelevance` fits TF-IDF on every call and multiplies the whole matrix by the idea; with a
million priorities that is seconds of fitting and a full pass per idea. `RelevanceIndex` fits
the same model once (sklearn's `TfidfVectorizer` with sublinear tf, smooth idf and L2 rows,
over space-joined token strings, streamed), keeps it as postings (for each term the rows that
contain it and their counts) so an idea touches only its own terms, and adds new priorities
with the fitted vocabulary and idf (`extend`) until the next fit. Weights equal
`IdeaRelevance(threshold).fit(counted documents).weights(idea)` up to floating-point summation
order; rows fitted with ``counted=False`` (hidden priorities, which may come back) get vectors
from the fitted model without changing it, like extended rows.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from itertools import chain, islice, repeat

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.base import BaseEstimator

__all__ = ["RelevanceIndex"]

_BATCH = 20_000
_MAX_COUNT = np.iinfo(np.uint16).max  # a term repeated more often in one text counts this much


def _batches(items: Iterable, size: int) -> Iterable[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _count(texts: Sequence[str | None], vocabulary: dict[str, int], grow: bool) -> sparse.csr_array:
    """Term counts of a batch as CSR (sorted indices); unknown terms grow or are dropped."""
    split = [(text or "").split() for text in texts]
    lengths = np.fromiter(map(len, split), np.int64, len(split))
    flat = list(chain.from_iterable(split))
    if grow:
        for term in sorted(set(flat).difference(vocabulary)):  # sorted: ids repeat run to run
            vocabulary[term] = len(vocabulary)
        # map over a C method: no Python bytecode per token (the build's hot loop).
        term = np.fromiter(map(vocabulary.__getitem__, flat), np.int64, len(flat))
    else:
        term = np.fromiter(map(vocabulary.get, flat, repeat(-1)), np.int64, len(flat))
    row = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    keep = term >= 0
    ones = np.ones(int(keep.sum()), dtype=np.int32)
    shape = (len(texts), max(len(vocabulary), 1))
    # COO → CSR sums repeated (row, term) pairs into counts without a global sort.
    matrix = sparse.coo_array((ones, (row[keep], term[keep])), shape=shape).tocsr()
    matrix.sum_duplicates()
    return matrix


def _tf(counts: NDArray) -> NDArray[np.float64]:
    """Sublinear term frequency, as sklearn computes it: log(count) + 1."""
    return np.log(counts.astype(np.float64)) + 1.0


class RelevanceIndex(BaseEstimator):
    """Cosine relevance of an idea to stored priorities over postings of a fitted TF-IDF.

    Fitted: ``ids_`` (ascending), ``terms_``, ``idf_``, ``n_documents_``, ``n_counted_``,
    ``n_extended_`` and the postings (``indptr_``, ``rows_``, ``counts_``, ``norms_``).
    """

    def __init__(self, threshold: float = 0.15) -> None:
        self.threshold = threshold

    def fit(
        self,
        documents: Iterable[str | None],
        ids: Iterable[int],
        counted: Iterable[bool] | None = None,
    ) -> RelevanceIndex:
        """Fit over space-joined token strings (streamed) with ascending unique integer ids.

        Only documents with ``counted`` true (default all) shape the vocabulary and idf.
        """
        vocabulary: dict[str, int] = {}
        self.ids_, row, term, count, is_counted = _stream_counts(
            documents, ids, counted, vocabulary
        )
        if self.ids_.size > 1 and np.any(np.diff(self.ids_) <= 0):
            raise ValueError("ids must be unique and ascending")
        # Vocabulary and idf come from the counted documents alone, in sklearn's (sorted) order.
        df = np.bincount(term[is_counted[row]], minlength=len(vocabulary))
        kept = sorted(t for t, i in vocabulary.items() if df[i] > 0)
        old_id = np.fromiter((vocabulary[t] for t in kept), np.int64, len(kept))
        new_id = np.full(len(vocabulary), -1, dtype=np.int32)
        new_id[old_id] = np.arange(len(kept), dtype=np.int32)
        term = new_id[term]
        known = term >= 0
        row, term, count = row[known], term[known], count[known]
        self.terms_ = kept
        self.n_counted_ = int(is_counted.sum())
        self.idf_ = np.log((self.n_counted_ + 1.0) / (df[old_id] + 1.0)) + 1.0
        weight = _tf(count) * self.idf_[term]
        self.norms_ = np.sqrt(np.bincount(row, weights=weight * weight, minlength=self.ids_.size))
        # CSR → CSC is a counting sort: rows come out ascending within each term's postings.
        by_term = sparse.csr_array(
            (
                count,
                term,
                np.concatenate(([0], np.cumsum(np.bincount(row, minlength=self.ids_.size)))),
            ),
            shape=(self.ids_.size, len(kept)),
        ).tocsc()
        self.indptr_ = by_term.indptr.astype(np.int64)
        self.rows_ = by_term.indices.astype(np.int32)
        self.counts_ = by_term.data.astype(np.uint16)
        self.n_documents_ = int(self.ids_.size)
        self._reset_extension()
        return self

    def _reset_extension(self) -> None:
        self.vocabulary_ = {t: i for i, t in enumerate(self.terms_)}
        # One tuple, replaced whole, so a concurrent `weights` never sees half an extension.
        self._extension = (np.zeros(0, dtype=np.int64), sparse.csr_array((0, len(self.terms_))))

    def _vectors(self, texts: Sequence[str | None]) -> sparse.csr_array:
        """L2-normalised TF-IDF rows over the fitted vocabulary (unknown terms dropped)."""
        matrix = _count(texts, self.vocabulary_, grow=False)
        matrix = sparse.csr_array(
            (_tf(matrix.data) * self.idf_[matrix.indices], matrix.indices, matrix.indptr),
            shape=(len(texts), len(self.terms_)),
        )
        norms = np.sqrt((matrix * matrix).sum(axis=1))
        matrix.data /= np.repeat(np.where(norms > 0, norms, 1.0), np.diff(matrix.indptr))
        return matrix

    def extend(self, documents: Sequence[str | None], ids: Sequence[int]) -> RelevanceIndex:
        """Add documents under the fitted vocabulary and idf; ids already present are skipped."""
        ids_array = np.asarray(ids, dtype=np.int64)
        new = ~self.contains(ids_array)
        new[np.setdiff1d(np.arange(ids_array.size), np.unique(ids_array, return_index=True)[1])] = (
            False
        )
        if not new.any():
            return self
        texts = [doc for doc, is_new in zip(documents, new.tolist(), strict=True) if is_new]
        extra_ids, extra = self._extension
        self._extension = (
            np.concatenate([extra_ids, ids_array[new]]),
            sparse.vstack([extra, self._vectors(texts)], format="csr"),
        )
        return self

    @property
    def n_extended_(self) -> int:
        """Documents added since the fit."""
        return int(self._extension[0].size)

    def contains(self, ids: NDArray[np.integer]) -> NDArray[np.bool_]:
        """Whether each id is fitted or extended."""
        ids = np.asarray(ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.ids_, ids), max(self.ids_.size - 1, 0))
        fitted = self.ids_[at] == ids if self.ids_.size else np.zeros(ids.size, dtype=bool)
        return fitted | np.isin(ids, self._extension[0])

    @property
    def max_id_(self) -> int:
        """The largest fitted or extended id (0 when empty)."""
        found = [int(a.max()) for a in (self.ids_, self._extension[0]) if a.size]
        return max(found, default=0)

    def query(self, idea: Sequence[str]) -> NDArray[np.float64]:
        """The idea's L2-normalised TF-IDF vector over the fitted vocabulary (dense)."""
        known = [self.vocabulary_[t] for t in idea if t in self.vocabulary_]
        vector = np.zeros(len(self.terms_))
        if known:
            terms, counts = np.unique(known, return_counts=True)
            weight = _tf(counts) * self.idf_[terms]
            vector[terms] = weight / np.sqrt(np.dot(weight, weight))
        return vector

    def weights(
        self, idea: Sequence[str], exclude: Iterable[int] = ()
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Ids (ascending) and cosine of every document at or above the threshold."""
        vector = self.query(idea)
        terms = np.flatnonzero(vector)
        score = np.zeros(self.ids_.size)
        for t in terms.tolist():
            lo, hi = self.indptr_[t], self.indptr_[t + 1]
            # Rows are unique within a term, so the fancy-indexed += adds each once.
            score[self.rows_[lo:hi]] += _tf(self.counts_[lo:hi]) * (self.idf_[t] * vector[t])
        touched = np.flatnonzero(score)
        score = score[touched] / self.norms_[touched]
        ids, sims = self.ids_[touched], score
        extra_ids, extra = self._extension
        if extra_ids.size and terms.size:
            ids, sims = np.concatenate([ids, extra_ids]), np.concatenate([sims, extra @ vector])
        keep = sims >= self.threshold
        excluded = np.fromiter(exclude, np.int64)
        if excluded.size:
            keep &= ~np.isin(ids, excluded)
        order = np.argsort(ids[keep], kind="stable")
        return ids[keep][order], sims[keep][order]

    # -- persistence: plain arrays, no pickle ----------------------------------------------------
    def to_bytes(self) -> bytes:
        """The fitted index (without extensions) as an uncompressed .npz."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            threshold=np.float64(self.threshold),
            n_counted=np.int64(self.n_counted_),
            ids=self.ids_,
            terms=np.frombuffer("\n".join(self.terms_).encode(), dtype=np.uint8),
            idf=self.idf_,
            norms=self.norms_,
            indptr=self.indptr_,
            rows=self.rows_,
            counts=self.counts_,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> RelevanceIndex:
        """An index saved by `to_bytes`."""
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            index = cls(threshold=float(saved["threshold"]))
            text = saved["terms"].tobytes().decode()
            index.terms_ = text.split("\n") if text else []
            index.n_counted_ = int(saved["n_counted"])
            for name in ("ids", "idf", "norms", "indptr", "rows", "counts"):
                setattr(index, name + "_", saved[name])
        index.n_documents_ = int(index.ids_.size)
        index._reset_extension()
        return index


def _stream_counts(
    documents: Iterable[str | None],
    ids: Iterable[int],
    counted: Iterable[bool] | None,
    vocabulary: dict[str, int],
) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """Ids, (row, term, count) triples and counted flags, read batch by batch; grows vocabulary."""
    flags = repeat(True) if counted is None else counted
    sizes, terms, counts, id_parts, counted_parts = [], [], [], [], []
    # One pass in step over the three iterables, so a database cursor can feed them all.
    for batch in _batches(zip(ids, documents, flags, strict=counted is not None), _BATCH):
        matrix = _count([text for _id, text, _flag in batch], vocabulary, grow=True)
        sizes.append(np.diff(matrix.indptr))
        terms.append(matrix.indices.astype(np.int32))
        counts.append(np.minimum(matrix.data, _MAX_COUNT).astype(np.uint16))
        id_parts.append(np.fromiter((row[0] for row in batch), np.int64, len(batch)))
        counted_parts.append(np.fromiter((row[2] for row in batch), bool, len(batch)))
    ids_array = _join(id_parts, np.int64)
    row = np.repeat(np.arange(ids_array.size, dtype=np.int32), _join(sizes, np.int64))
    return (ids_array, row, _join(terms, np.int32), _join(counts, np.uint16),
            _join(counted_parts, bool))  # fmt: skip


def _join(parts: list[NDArray], dtype: type) -> NDArray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)
