"""Relevance of a central idea to each priority, and relevance-weighted distinct supporters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["IdeaRelevance", "weighted_distinct_people"]

Document = str | Sequence[str]


def _identity(tokens: Sequence[str]) -> Sequence[str]:
    return tokens


def _shared_tokenizer() -> Callable[[str], list[str]]:
    # Imported lazily so the engine still imports (and tests run) without jieba loaded.
    from massline.text import tokenize

    return tokenize


class IdeaRelevance(BaseEstimator):
    """Cosine relevance of an idea to priorities over TF-IDF vectors, with threshold and excludes.

    ``analyzer="word"`` uses pre-tokenised documents (lists of tokens) as given, and segments
    strings with the shared ``massline.text.tokenize``; ``analyzer="char"`` uses character
    n-grams of the raw strings (no segmenter). Fitted: ``ids_``, ``vectorizer_``, ``matrix_``.
    """

    def __init__(
        self,
        threshold: float = 0.15,
        analyzer: str = "word",
        ngram_range: tuple[int, int] = (2, 3),
        sublinear_tf: bool = True,
        top_m: int | None = None,
    ) -> None:
        self.threshold = threshold
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf
        self.top_m = top_m

    def _prepare(self, docs: Iterable[Document]) -> list[Document]:
        docs = list(docs)
        if self.analyzer == "char":
            return [d if isinstance(d, str) else "".join(d) for d in docs]
        if self.analyzer != "word":
            raise ValueError("analyzer must be 'word' or 'char'")
        if any(isinstance(d, str) for d in docs):
            tokenize = _shared_tokenizer()
            return [tokenize(d) if isinstance(d, str) else list(d) for d in docs]
        return docs

    def fit(
        self, documents: Iterable[Document], ids: Sequence[object] | None = None
    ) -> IdeaRelevance:
        """Fit TF-IDF over priority texts (strings or token lists); ``ids`` default to 0..n-1."""
        docs = self._prepare(documents)
        if self.analyzer == "char":
            vec = TfidfVectorizer(
                analyzer="char_wb", ngram_range=self.ngram_range, sublinear_tf=self.sublinear_tf
            )
        else:
            vec = TfidfVectorizer(
                analyzer=_identity, sublinear_tf=self.sublinear_tf, token_pattern=None
            )
        self.matrix_ = vec.fit_transform(docs).tocsr()
        self.vectorizer_ = vec
        self.ids_ = np.asarray(list(range(len(docs))) if ids is None else list(ids), dtype=object)
        if self.ids_.size != self.matrix_.shape[0]:
            raise ValueError("ids must match documents one to one")
        return self

    def similarity(self, idea: Document) -> NDArray[np.float64]:
        """Cosine similarity of the idea to every fitted priority (rows are L2-normalised)."""
        query = self.vectorizer_.transform(self._prepare([idea]))
        return np.asarray((self.matrix_ @ query.T).toarray()).ravel()

    def weights(self, idea: Document, exclude: Iterable[object] = ()) -> NDArray[np.float64]:
        """Relevance per priority: cosine if ≥ threshold (and top M), else 0; excluded ids → 0."""
        sim = self.similarity(idea)
        weight = np.where(sim >= self.threshold, sim, 0.0)
        if self.top_m is not None and np.count_nonzero(weight) > self.top_m:
            # Stable order so equal scores keep the same priorities from run to run.
            keep = np.argsort(-weight, kind="stable")[: self.top_m]
            mask = np.zeros(weight.size, dtype=bool)
            mask[keep] = True
            weight = np.where(mask, weight, 0.0)
        excluded = set(exclude)
        if excluded:
            weight[np.fromiter((i in excluded for i in self.ids_), bool, self.ids_.size)] = 0.0
        return weight

    def top_matches(
        self, idea: Document, n: int = 5, exclude: Iterable[object] = ()
    ) -> list[tuple[object, float]]:
        """The n most relevant priority ids with their weights (for evidence rows)."""
        weight = self.weights(idea, exclude)
        order = np.argsort(-weight, kind="stable")[:n]
        return [(self.ids_[i], float(weight[i])) for i in order if weight[i] > 0]


def weighted_distinct_people(
    person: NDArray[np.integer],
    priority: NDArray[np.integer],
    locality: NDArray[np.integer],
    relevance: NDArray[np.float64],
    n_localities: int,
    assisted: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-locality Σ over distinct people of their best relevance (online, assisted).

    One row per support or authored priority: ``person`` id, ``priority`` row index into
    ``relevance``, the person's home ``locality`` index and whether it was recorded offline.
    Counting people (not votes) keeps multi-voting from inflating a place.
    """
    person = np.asarray(person)
    w = np.asarray(relevance, dtype=float)[np.asarray(priority)]
    keep = w > 0
    assisted = np.zeros(person.size, bool) if assisted is None else np.asarray(assisted, bool)
    person, w, loc, off = person[keep], w[keep], np.asarray(locality)[keep], assisted[keep]
    online = np.zeros(n_localities)
    offline = np.zeros(n_localities)
    if person.size == 0:
        return online, offline
    # Sort by person then weight descending: the first row of each person is their best match.
    order = np.lexsort((-w, person))
    first = np.ones(order.size, dtype=bool)
    first[1:] = person[order][1:] != person[order][:-1]
    best = order[first]
    is_off = off[best]
    online += np.bincount(loc[best][~is_off], weights=w[best][~is_off], minlength=n_localities)
    offline += np.bincount(loc[best][is_off], weights=w[best][is_off], minlength=n_localities)
    return online, offline
