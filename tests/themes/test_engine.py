"""Theme engine and near-duplicate index, on small samples of the real messages."""

from __future__ import annotations

import ast
import csv
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from massline.text import tokenize
from massline.themes.duplicates import DuplicateIndex, body_hash
from massline.themes.engine import ThemeModel

ENGINE_DIR = Path(__file__).resolve().parents[2] / "massline" / "themes"


@pytest.fixture(scope="module")
def messages(data_dir: Path) -> list[dict[str, str]]:
    with open(data_dir / "messages_labelled.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[::15]  # ~600 messages across all labels


@pytest.fixture(scope="module")
def tokens(messages: list[dict[str, str]]) -> list[list[str]]:
    return [tokenize(f"{m['title']} {m['body']}") for m in messages]


def make_model(**overrides: object) -> ThemeModel:
    params: dict[str, object] = {"n_themes": 7, "random_state": 0}
    params.update(overrides)
    return ThemeModel(**params)


def test_engine_imports_neither_flask_nor_sqlalchemy() -> None:
    for name in ("engine.py", "duplicates.py"):
        tree = ast.parse((ENGINE_DIR / name).read_text("utf-8"))
        modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        modules |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m.split(".")[0] for m in modules} & {"flask", "sqlalchemy", "flask_sqlalchemy"}


def test_fit_is_deterministic_for_a_seed(tokens: list[list[str]]) -> None:
    a, b = make_model().fit(tokens), make_model().fit(tokens)
    assert np.array_equal(a.labels_, b.labels_)
    assert a.names_ == b.names_


def test_predict_agrees_with_fit_on_training_texts(tokens: list[list[str]]) -> None:
    model = make_model().fit(tokens)
    assert np.array_equal(model.predict(tokens), model.labels_)
    labels, confidence = model.predict_with_confidence(tokens)
    assert np.allclose(confidence, model.confidence_, atol=1e-5)
    assert ((confidence >= 0) & (confidence <= 1)).all()


def test_themes_are_named_sized_and_represented(tokens: list[list[str]]) -> None:
    model = make_model().fit(tokens)
    assert model.n_themes_ == 7 and len(model.names_) == 7
    assert model.sizes_.sum() == len(tokens)
    assert all(terms for terms in model.terms_)
    assert all(model.labels_[r] == t for t, r in enumerate(model.representatives_))


def test_raw_strings_and_tokens_give_the_same_themes(messages, tokens) -> None:
    texts = [f"{m['title']} {m['body']}" for m in messages]
    assert np.array_equal(make_model().fit(texts).labels_, make_model().fit(tokens).labels_)


def test_number_of_themes_chosen_within_bounds(tokens: list[list[str]]) -> None:
    model = ThemeModel(min_themes=3, max_themes=8, random_state=0).fit(tokens)
    assert 3 <= model.n_themes_ <= 8


def test_fitted_model_pickles(tokens: list[list[str]]) -> None:
    model = make_model().fit(tokens)
    restored = pickle.loads(pickle.dumps(model))
    assert np.array_equal(restored.predict(tokens[:50]), model.labels_[:50])


def test_empty_input_is_rejected() -> None:
    with pytest.raises(ValueError):
        ThemeModel().fit([])


@pytest.mark.parametrize(
    "docs",
    [
        ["小区电梯故障无人维修"],
        ["请问怎么办？谢谢领导！", "您好，请问", ""],
        ["Pothole on Main Street 😀", "bus 12 late again 🚌", "street lights broken"],
        ["小区物业乱收费 😡", "Wi-Fi 信号差 in 学校", "小区物业乱收费 😡"],
    ],
)
def test_tiny_odd_inputs_fit_and_predict(docs: list[str]) -> None:
    model = ThemeModel(random_state=0).fit(docs)
    assert len(model.labels_) == len(docs)
    assert np.array_equal(model.predict(docs), model.labels_)
    assert len(model.predict(["完全没见过的内容", ""])) == 2


def test_duplicates_find_reposts_and_near_copies(messages: list[dict[str, str]]) -> None:
    bodies = [m["body"] for m in messages if m["body"]][:200]
    bodies += [bodies[0], "　" + bodies[1].upper(), bodies[2][:-3]]
    index = DuplicateIndex().fit(bodies)
    pairs = {(i, j) for i, j, _ in index.pairs()}
    n = len(bodies)
    assert {(0, n - 3), (1, n - 2), (2, n - 1)} <= pairs
    assert index.query(bodies[5])[0] == (5, 1.0)
    assert body_hash("ＡＢＣ 小区") == body_hash("abc  小区")


def test_duplicates_handle_empty_and_stop_word_texts() -> None:
    index = DuplicateIndex().fit(["", "请问怎么办", "请问怎么办", "小区电梯坏了"])
    assert [(i, j) for i, j, _ in index.pairs()] == [(1, 2)]
    assert index.query("") == []


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=6))
def test_fit_never_crashes_on_arbitrary_text(docs: list[str]) -> None:
    model = ThemeModel(random_state=0).fit(docs)
    assert np.array_equal(model.predict(docs), model.labels_)
