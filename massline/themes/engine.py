"""Theme engine: TF-IDF → LSA → spherical k-means, named by class-based TF-IDF.

Pure computation in the scikit-learn estimator form; it imports neither Flask nor SQLAlchemy.
Input is either pre-tokenised documents (lists of tokens, as stored per priority) or raw
strings, which are tokenised with :func:`massline.text.tokenize`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize
from sklearn.utils import check_random_state

from massline.text import tokenize

__all__ = ["Document", "ThemeModel", "as_tokens"]

Document = str | Sequence[str]

_CHUNK = 65_536  # rows per block when scoring, to bound memory on million-row corpora


def _identity(tokens: Sequence[str]) -> Sequence[str]:
    """Analyzer for pre-tokenised input (module level so fitted models pickle)."""
    return tokens


def as_tokens(docs: Sequence[Document]) -> list[Sequence[str]]:
    """Token lists for a mix of raw strings and pre-tokenised documents."""
    return [tokenize(d) if isinstance(d, str) else d for d in docs]


def _n_distinct(points: np.ndarray) -> int:
    """How many different points k-means sees (rounding noise of the projection ignored)."""
    return len(np.unique(np.round(points, 5), axis=0))


def _distinct_terms(vocab: np.ndarray, scores: np.ndarray, n: int) -> list[str]:
    """Top-scoring terms, minus sub-words of other top terms (公积 beside 公积金)."""
    top = [str(vocab[j]) for j in np.argsort(-scores)[: 3 * n] if scores[j] > 0]
    return [t for t in top if not any(t != o and t in o for o in top)][:n]


class ThemeModel(ClusterMixin, BaseEstimator):
    """Cluster documents into named themes; assign new documents without refitting.

    Parameters
    ----------
    n_themes : fixed number of themes, or None to choose it within [min_themes, max_themes]
        by the cosine silhouette on a sample.
    dims_per_theme : LSA dimensions per theme. Few dimensions keep the broad topics and drop
        the long tail of specific words that makes k-means split on form. None: 3 for texts
        with a body, 1 for one-line texts, whose sparse co-occurrences only support the
        strongest directions (both measured on the labelled messages, see docs/themes.md).
    min_df, max_df : vocabulary bounds of the TF-IDF vectoriser (relaxed for tiny corpora).
    n_terms : distinctive terms kept per theme.
    max_fit_samples : k-means is fitted on at most this many documents; all are then assigned
        to the nearest centroid, so a million-row rebuild costs one pass, not k-means on all.
    n_init : k-means restarts.
    random_state : seed; the same seed and input give the same themes.
    """

    def __init__(
        self,
        n_themes: int | None = None,
        *,
        min_themes: int = 5,
        max_themes: int = 30,
        dims_per_theme: int | None = None,
        min_df: int | float = 2,
        max_df: int | float = 0.5,
        n_terms: int = 10,
        max_fit_samples: int = 50_000,
        n_init: int = 4,
        random_state: int | None = None,
    ) -> None:
        self.n_themes = n_themes
        self.min_themes = min_themes
        self.max_themes = max_themes
        self.dims_per_theme = dims_per_theme
        self.min_df = min_df
        self.max_df = max_df
        self.n_terms = n_terms
        self.max_fit_samples = max_fit_samples
        self.n_init = n_init
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, docs: Sequence[Document], y: None = None) -> ThemeModel:
        """Learn the vocabulary, the LSA space, the themes and their names."""
        tokens = as_tokens(docs)
        if not tokens:
            raise ValueError("ThemeModel.fit needs at least one document")
        rng = check_random_state(self.random_state)
        counts = self._fit_vectorizer(tokens)
        if counts is None:  # no document has a content token: one theme, no keywords
            self._fit_degenerate(len(tokens))
            return self
        X = self.tfidf_.fit_transform(counts)
        median_len = float(np.median(np.diff(counts.indptr)))
        self.dims_per_theme_ = self.dims_per_theme or (1 if median_len < 12 else 3)
        k_max = self.n_themes or self.max_themes
        n_components = min(self.dims_per_theme_ * k_max, X.shape[1] - 1, X.shape[0] - 1)
        if n_components >= 2:
            self.svd_ = TruncatedSVD(n_components, random_state=rng.randint(2**31)).fit(X)
        else:  # too small to reduce; cluster the TF-IDF vectors themselves
            self.svd_ = None
        # transform() rather than fit_transform() so predict() repeats exactly the same sums.
        Z = self._lsa(X)
        sample = self._sample(Z.shape[0], rng)
        k = self._choose_k(Z, sample, rng)
        self.n_dims_ = self._dims_for(k, Z.shape[1])
        Zk = self._slice(Z)
        # Fewer dimensions can merge points that differed in the full space.
        k = min(k, _n_distinct(Zk[sample]))
        km = KMeans(k, n_init=self.n_init, random_state=rng.randint(2**31)).fit(Zk[sample])
        self.centroids_ = normalize(km.cluster_centers_).astype(np.float32)
        self.labels_, self.confidence_, best = self._assign(Zk)
        self.n_themes_ = k
        self._name_themes(counts, best)
        return self

    def _fit_vectorizer(self, tokens: list[Sequence[str]]) -> sparse.csr_matrix | None:
        n = len(tokens)
        tiny = n < 20  # min_df/max_df fractions are meaningless on a handful of documents
        self.vectorizer_ = CountVectorizer(
            analyzer=_identity,
            min_df=1 if tiny else self.min_df,
            max_df=1.0 if tiny else self.max_df,
            dtype=np.float32,
        )
        self.tfidf_ = TfidfTransformer(sublinear_tf=True)
        try:
            return self.vectorizer_.fit_transform(tokens)
        except ValueError:  # empty vocabulary (all stop words) or bounds prune every term
            if tiny:
                return None
            self.vectorizer_.set_params(min_df=1, max_df=1.0)
            try:
                return self.vectorizer_.fit_transform(tokens)
            except ValueError:
                return None

    def _fit_degenerate(self, n: int) -> None:
        self.vectorizer_ = None
        self.dims_per_theme_ = 0
        self.svd_ = None
        self.n_dims_ = 0
        self.n_themes_ = 1
        self.centroids_ = np.zeros((1, 0), dtype=np.float32)
        self.labels_ = np.zeros(n, dtype=np.int32)
        self.confidence_ = np.zeros(n, dtype=np.float32)
        self.sizes_ = np.array([n])
        self.terms_ = [[]]
        self.names_ = [""]
        self.representatives_ = np.array([0])

    def _sample(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        if n <= self.max_fit_samples:
            return np.arange(n)
        return np.sort(rng.choice(n, self.max_fit_samples, replace=False))

    def _dims_for(self, k: int, available: int) -> int:
        return max(2, min(available, self.dims_per_theme_ * k))

    def _choose_k(self, Z: np.ndarray, sample: np.ndarray, rng: np.random.RandomState) -> int:
        """Fixed n_themes, or the k with the best cosine silhouette on a sample."""
        # k-means cannot make more clusters than distinct points (and warns if asked to).
        distinct = _n_distinct(Z[sample[:5000]])
        if self.n_themes is not None:
            return max(1, min(self.n_themes, distinct))
        low, high = min(self.min_themes, distinct), min(self.max_themes, distinct - 1)
        if high < max(low, 2):
            return max(1, min(low, distinct))
        probe = sample if len(sample) <= 3000 else rng.choice(sample, 3000, replace=False)
        full = normalize(Z[probe])
        best_k, best_score = low, -np.inf
        for k in range(max(low, 2), high + 1):
            Zk = normalize(Z[probe, : self._dims_for(k, Z.shape[1])])
            if _n_distinct(Zk) < k:
                continue
            labels = KMeans(k, n_init=2, random_state=rng.randint(2**31)).fit_predict(Zk)
            if len(np.unique(labels)) < 2:
                continue
            score = silhouette_score(full, labels, metric="cosine", random_state=0)
            if score > best_score:
                best_k, best_score = k, score
        return best_k

    def _name_themes(self, counts: sparse.csr_matrix, best: np.ndarray) -> None:
        """Class-based TF-IDF (as in BERTopic): terms frequent in a theme, rare in the others."""
        k = self.n_themes_
        onehot = sparse.csr_matrix(
            (np.ones(len(self.labels_), np.float32), (self.labels_, np.arange(len(self.labels_)))),
            shape=(k, len(self.labels_)),
        )
        per_theme = np.asarray((onehot @ counts).todense())
        tf = per_theme / np.maximum(per_theme.sum(axis=1, keepdims=True), 1)
        avg_words = per_theme.sum() / k
        idf = np.log1p(avg_words / np.maximum(per_theme.sum(axis=0), 1))
        scores = tf * idf
        vocab = self.vectorizer_.get_feature_names_out()
        self.terms_ = [_distinct_terms(vocab, row, self.n_terms) for row in scores]
        self.names_ = [" / ".join(terms[:3]) for terms in self.terms_]
        self.sizes_ = np.bincount(self.labels_, minlength=k)
        self.representatives_ = best

    # -- assignment --------------------------------------------------------------------------
    def _lsa(self, X: sparse.csr_matrix) -> np.ndarray:
        Z = self.svd_.transform(X) if self.svd_ is not None else X.toarray()
        return Z.astype(np.float32)

    def _slice(self, Z: np.ndarray) -> np.ndarray:
        return normalize(Z[:, : self.n_dims_])

    def _reduce(self, tokens: list[Sequence[str]]) -> np.ndarray:
        return self._slice(self._lsa(self.tfidf_.transform(self.vectorizer_.transform(tokens))))

    def _assign(self, Zk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest centroid, relative margin over the runner-up, most central doc per theme."""
        k = len(self.centroids_)
        labels = np.empty(len(Zk), dtype=np.int32)
        confidence = np.empty(len(Zk), dtype=np.float32)
        best_sim = np.full(k, -np.inf)
        best = np.zeros(k, dtype=np.int64)
        for start in range(0, len(Zk), _CHUNK):
            sims = Zk[start : start + _CHUNK] @ self.centroids_.T
            top = sims.argmax(axis=1)
            first = sims[np.arange(len(top)), top]
            second = np.partition(sims, -2, axis=1)[:, -2] if k > 1 else np.zeros_like(first)
            labels[start : start + len(top)] = top
            # 1 when a document resembles only its own theme, 0 when it sits between two.
            margin = np.where(
                first > 0, (first - np.maximum(second, 0)) / np.maximum(first, 1e-9), 0
            )
            confidence[start : start + len(top)] = np.clip(margin, 0, 1)
            for theme in range(k):
                rows = np.flatnonzero(top == theme)
                if len(rows) and first[rows].max() > best_sim[theme]:
                    best_sim[theme] = first[rows].max()
                    best[theme] = start + rows[first[rows].argmax()]
        return labels, confidence, best

    def predict_with_confidence(self, docs: Sequence[Document]) -> tuple[np.ndarray, np.ndarray]:
        """Theme index and confidence (0..1) of each document, using the fitted themes."""
        tokens = as_tokens(docs)
        if self.vectorizer_ is None or not tokens:
            return np.zeros(len(tokens), dtype=np.int32), np.zeros(len(tokens), dtype=np.float32)
        labels, confidence, _ = self._assign(self._reduce(tokens))
        return labels, confidence

    def predict(self, docs: Sequence[Document]) -> np.ndarray:
        """Theme index of each document, using the fitted themes (no refit)."""
        return self.predict_with_confidence(docs)[0]
