"""Near-duplicate priorities: exact reposts by hash, near copies by TF-IDF cosine.

Queries go through an inverted index (a CSC matrix: one posting list per term) restricted to
the draft's few rarest terms, so a check against a million priorities touches a few thousand
rows instead of scanning them all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer

from massline.text import normalize
from massline.themes.engine import Document, _identity, as_tokens

__all__ = ["DuplicateIndex", "body_hash"]


def body_hash(text: str) -> str:
    """Hash of the normalised text: equal for reposts that differ only in width, case, spaces."""
    return hashlib.blake2b(normalize(text).encode("utf-8"), digest_size=16).hexdigest()


def _hashes(docs: Sequence[Document]) -> list[str | None]:
    """Exact-repost keys; empty texts get none, so blank bodies are not all 'reposts'."""
    keys: list[str | None] = []
    for doc in docs:
        if isinstance(doc, str):
            keys.append(body_hash(doc) if normalize(doc) else None)
        else:
            joined = "\x1f".join(doc)
            keys.append(
                hashlib.blake2b(joined.encode(), digest_size=16).hexdigest() if doc else None
            )
    return keys


class DuplicateIndex(BaseEstimator):
    """Find pairs of near-duplicate documents and query drafts against the indexed ones.

    Parameters
    ----------
    threshold : cosine similarity of sublinear TF-IDF vectors from which two texts are reported.
    n_probe_terms : the draft's highest-weighted (rarest) terms whose posting lists supply the
        candidates. Two texts above a high cosine share most of their rare terms, so a few
        probes lose almost nothing and keep queries independent of corpus size.
    max_candidates : cap on candidate rows per query, a guard for drafts made of common words.
    """

    def __init__(
        self, threshold: float = 0.8, *, n_probe_terms: int = 8, max_candidates: int = 20_000
    ) -> None:
        self.threshold = threshold
        self.n_probe_terms = n_probe_terms
        self.max_candidates = max_candidates

    def fit(
        self, docs: Sequence[Document], hashes: Sequence[str | None] | None = None
    ) -> DuplicateIndex:
        """Index the documents (token lists or raw strings); hashes override exact-repost keys."""
        tokens = as_tokens(docs)
        self.vectorizer_ = TfidfVectorizer(
            analyzer=_identity, sublinear_tf=True, min_df=1, dtype=np.float32
        )
        try:
            self.matrix_ = self.vectorizer_.fit_transform(tokens).tocsr()
        except ValueError:  # no document has a content token: exact reposts only
            self.vectorizer_ = None
            self.matrix_ = sparse.csr_matrix((len(tokens), 0), dtype=np.float32)
        self.postings_ = self.matrix_.tocsc()
        self.hashes_ = list(hashes) if hashes is not None else _hashes(docs)
        self.by_hash_: dict[str, list[int]] = {}
        for i, key in enumerate(self.hashes_):
            if key is not None:
                self.by_hash_.setdefault(key, []).append(i)
        return self

    def _vector(self, doc: Document) -> sparse.csr_matrix:
        if self.vectorizer_ is None:
            return sparse.csr_matrix((1, 0), dtype=np.float32)
        return self.vectorizer_.transform(as_tokens([doc]))

    def _candidates(self, vector: sparse.csr_matrix) -> np.ndarray:
        if vector.nnz == 0:
            return np.empty(0, dtype=np.int64)
        probes = vector.indices[np.argsort(-vector.data)[: self.n_probe_terms]]
        starts, ends = self.postings_.indptr[probes], self.postings_.indptr[probes + 1]
        rows = np.concatenate(
            [self.postings_.indices[s:e] for s, e in zip(starts, ends, strict=True)]
        )
        return np.unique(rows)[: self.max_candidates]

    def query(
        self, doc: Document, *, threshold: float | None = None, limit: int = 10
    ) -> list[tuple[int, float]]:
        """Indexed documents similar to a draft: (row, similarity), most similar first."""
        threshold = self.threshold if threshold is None else threshold
        found: dict[int, float] = dict.fromkeys(self.by_hash_.get(_hashes([doc])[0] or "", []), 1.0)
        vector = self._vector(doc)
        rows = self._candidates(vector)
        if len(rows):
            sims = (self.matrix_[rows] @ vector.T).toarray().ravel()
            hit = sims >= threshold
            for row, sim in zip(rows[hit], sims[hit], strict=True):
                found.setdefault(int(row), float(min(sim, 1.0)))
        return sorted(found.items(), key=lambda item: (-item[1], item[0]))[:limit]

    def pairs(self, threshold: float | None = None) -> list[tuple[int, int, float]]:
        """All pairs (i < j, similarity) above the threshold, exact reposts always included."""
        threshold = self.threshold if threshold is None else threshold
        found: dict[tuple[int, int], float] = {}
        for rows in self.by_hash_.values():
            for a, i in enumerate(rows):
                for j in rows[a + 1 :]:
                    found[(i, j)] = 1.0
        X = self.matrix_
        if X.shape[1]:
            # Candidate pairs share a probe term: keep each row's top terms, binary.
            probe = self._probe_matrix()
            for start in range(0, X.shape[0], 2048):
                shared = (probe[start : start + 2048] @ probe.T).tocoo()
                i, j = shared.row + start, shared.col
                keep = i < j
                i, j = i[keep], j[keep]
                if not len(i):
                    continue
                sims = np.asarray(X[i].multiply(X[j]).sum(axis=1)).ravel()
                hit = sims >= threshold
                for a, b, s in zip(i[hit], j[hit], sims[hit], strict=True):
                    found.setdefault((int(a), int(b)), float(min(s, 1.0)))
        return sorted(((i, j, s) for (i, j), s in found.items()), key=lambda p: (-p[2], p[0], p[1]))

    def _probe_matrix(self) -> sparse.csr_matrix:
        X = self.matrix_
        rows, cols = [], []
        for r in range(X.shape[0]):
            start, end = X.indptr[r], X.indptr[r + 1]
            top = np.argsort(-X.data[start:end])[: self.n_probe_terms]
            cols.append(X.indices[start:end][top])
            rows.append(np.full(len(top), r))
        data_rows = np.concatenate(rows) if rows else np.empty(0, int)
        data_cols = np.concatenate(cols) if cols else np.empty(0, int)
        return sparse.csr_matrix(
            (np.ones(len(data_rows), np.float32), (data_rows, data_cols)), shape=X.shape
        )
