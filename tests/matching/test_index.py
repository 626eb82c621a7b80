"""The relevance index against the engine's exact TF-IDF, on plain token lists (no app)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massline.matching.engine import IdeaRelevance
from massline.matching.index import RelevanceIndex

WORDS = [
    "电梯",
    "加装",
    "老人",
    "小区",
    "公园",
    "路灯",
    "学校",
    "公交",
    "噪音",
    "停车",
    "Lift",
    "lift",
]


def corpus(seed: int, n: int = 400) -> list[str | None]:
    """Space-joined token strings with repeats, empty texts and a missing one."""
    rng = np.random.default_rng(seed)
    docs: list[str | None] = [
        " ".join(rng.choice(WORDS, rng.integers(0, 12), p=_zipf(len(WORDS)))) for _ in range(n)
    ]
    docs[3] = None
    return docs


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def exact(docs: list[str | None], ids: np.ndarray, idea: list[str], threshold: float = 0.15):
    """What `match` computed before: the engine fitted on every document, nonzero weights."""
    weights = IdeaRelevance(threshold=threshold).fit(
        [(d or "").split() for d in docs], ids=ids
    ).weights(idea)  # fmt: skip
    keep = np.flatnonzero(weights)
    return ids[keep], weights[keep]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    idea=st.lists(st.sampled_from([*WORDS, "无关"]), min_size=1, max_size=8),
    threshold=st.sampled_from([0.0001, 0.15, 0.4]),
)
def test_weights_equal_the_engine(seed: int, idea: list[str], threshold: float) -> None:
    docs = corpus(seed)
    ids = np.arange(len(docs)) * 3 + 7
    found_ids, found = RelevanceIndex(threshold).fit(docs, ids).weights(idea)
    want_ids, want = exact(docs, ids, idea, threshold)
    assert found_ids.tolist() == want_ids.tolist()
    np.testing.assert_allclose(found, want, rtol=1e-12)


def test_uncounted_and_added_documents_use_the_fitted_vocabulary_and_idf() -> None:
    docs = corpus(1)
    ids = np.arange(1, len(docs) + 1)
    counted = np.arange(len(docs)) % 4 != 0
    docs[8] = "电梯 从未见过的词"  # an uncounted text with a term the fit never saw
    idea = ["电梯", "加装", "从未见过的词"]
    engine = IdeaRelevance().fit([(d or "").split() for d in np.array(docs)[counted]])
    vectors = engine.vectorizer_.transform([(d or "").split() for d in docs])
    cosine = (vectors @ engine.vectorizer_.transform([idea]).T).toarray().ravel()
    want = np.flatnonzero(cosine >= 0.15)

    hidden = RelevanceIndex().fit(docs, ids, counted=counted)
    later = (
        RelevanceIndex()
        .fit([d for d, c in zip(docs, counted, strict=True) if c], ids[counted])
        .extend([d for d, c in zip(docs, counted, strict=True) if not c], ids[~counted])
    )
    for index in (hidden, later):
        found_ids, found = index.weights(idea)
        assert found_ids.tolist() == ids[want].tolist()
        np.testing.assert_allclose(found, cosine[want], rtol=1e-12)
    assert "从未见过的词" not in hidden.vocabulary_
    assert later.n_extended_ == int((~counted).sum())


def test_extend_skips_known_ids_and_new_ones_count_at_once() -> None:
    index = RelevanceIndex().fit(["电梯 加装", "公园 路灯"], [1, 2])
    index.extend(["公园 路灯 公园", "电梯 老人", "电梯 老人"], [2, 5, 5])
    assert index.n_extended_ == 1 and index.max_id_ == 5
    assert index.contains(np.array([1, 2, 5, 6])).tolist() == [True, True, True, False]
    assert index.weights(["电梯"])[0].tolist() == [1, 5]


def test_saved_index_answers_the_same() -> None:
    docs = corpus(2)
    ids = np.arange(1, len(docs) + 1)
    index = RelevanceIndex(threshold=0.2).fit(docs, ids, counted=ids % 5 != 0)
    loaded = RelevanceIndex.from_bytes(index.to_bytes())
    assert loaded.threshold == 0.2 and loaded.terms_ == index.terms_
    for idea in (["电梯", "老人"], ["lift"], ["公交", "公交", "学校"]):
        for a, b in zip(index.weights(idea), loaded.weights(idea), strict=True):
            assert np.array_equal(a, b)


def test_excluded_ids_and_unknown_ideas_find_nothing() -> None:
    index = RelevanceIndex().fit(["电梯 加装", "电梯 老人", "公园"], [1, 2, 3])
    assert index.weights(["电梯"], exclude=[2])[0].tolist() == [1]
    assert index.weights(["没有的词"])[0].size == 0
    empty = RelevanceIndex().fit([], [])
    assert empty.weights(["电梯"])[0].size == 0
    assert RelevanceIndex.from_bytes(empty.to_bytes()).n_documents_ == 0


def test_ids_must_ascend() -> None:
    with pytest.raises(ValueError, match="ascending"):
        RelevanceIndex().fit(["a", "b"], [2, 1])
