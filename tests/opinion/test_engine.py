"""The opinion-group engine: planted groups recovered, reports right, degenerate input survived."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from massline.opinion import OpinionGroups, build_vote_matrix
from massline.opinion.synthetic import planted_votes

OPINION_PACKAGE = Path(__file__).resolve().parents[2] / "massline" / "opinion"


def make_engine(**overrides) -> OpinionGroups:
    """An engine with a fixed seed and lists long enough to see every planted statement."""
    params = {"random_state": 0, "n_consensus": 60, "n_divisive": 60, "n_representative": 60}
    return OpinionGroups(**(params | overrides))


@pytest.fixture(scope="module")
def planted():
    """600 participants × 60 statements, 3 planted groups, 40% of votes missing."""
    return planted_votes(600, 60, n_groups=3, missing=0.4, random_state=7)


@pytest.fixture(scope="module")
def fitted(planted):
    return make_engine().fit(planted.votes)


def planted_group_of(model: OpinionGroups, planted, group: int) -> int:
    """The planted group most members of a found group come from."""
    members = (model.labels_ == group) & model.clustered_
    return int(np.bincount(planted.groups[members]).argmax())


def test_planted_groups_are_recovered(planted, fitted):
    assert fitted.n_groups_ == 3
    assert adjusted_rand_score(planted.groups, fitted.labels_) >= 0.9


def test_statements_every_group_agrees_with_are_consensus(planted, fitted):
    everyone_agrees = set(np.flatnonzero((planted.stances == 1).all(axis=0)).tolist())
    consensus = fitted.report_.consensus
    agreed = {c.statement for c in consensus if c.direction == "agree"}
    assert set(planted.consensus.tolist()) <= everyone_agrees
    assert agreed == everyone_agrees
    disagreed = {c.statement for c in consensus if c.direction == "disagree"}
    assert disagreed == set(np.flatnonzero((planted.stances == -1).all(axis=0)).tolist())
    assert [c.score for c in consensus if c.direction == "agree"] == sorted(
        (c.score for c in consensus if c.direction == "agree"), reverse=True
    )


def test_divisive_statements_split_the_groups(planted, fitted):
    divisive = fitted.report_.divisive
    split = set(np.flatnonzero(np.ptp(planted.stances, axis=0) > 0).tolist())
    assert divisive
    assert {d.statement for d in divisive} <= split
    # The statements only one group agrees with are planted right after the consensus ones.
    assert {5, 6, 7} <= {d.statement for d in divisive}
    assert all(d.spread >= 0.3 for d in divisive)


def test_representative_statements_match_each_group(planted, fitted):
    for group in fitted.report_.groups:
        stance = planted.stances[planted_group_of(fitted, planted, group.id)]
        others = np.delete(planted.stances, planted_group_of(fitted, planted, group.id), axis=0)
        agree = [r for r in group.representative if r.direction == "agree"]
        disagree = [r for r in group.representative if r.direction == "disagree"]
        assert agree and disagree
        assert all(stance[r.statement] == 1 for r in agree)
        assert all(stance[r.statement] == -1 for r in disagree)
        # The top statement is one the group holds alone, and ranking is by ratio.
        assert (others[:, agree[0].statement] == -1).all()
        assert [r.ratio for r in agree] == sorted((r.ratio for r in agree), reverse=True)
        assert all(r.ratio > 1 and r.z > 1.2816 for r in group.representative)


def test_same_seed_same_result(planted):
    first = make_engine(random_state=3).fit(planted.votes)
    second = make_engine(random_state=3).fit(planted.votes)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    np.testing.assert_array_equal(first.embedding_, second.embedding_)
    assert first.report_.to_dict() == second.report_.to_dict()


def test_dense_input_with_nan_matches_sparse(planted, fitted):
    dense = np.full(planted.votes.shape, np.nan)
    coo = planted.votes.tocoo()  # keeps the explicitly stored zeros: the passes
    dense[coo.row, coo.col] = coo.data
    from_dense = make_engine().fit(dense)
    np.testing.assert_array_equal(from_dense.labels_, fitted.labels_)


def test_report_serialises_to_the_api_shape(planted):
    people = [f"p{i}" for i in range(600)]
    statements = [f"s{j}" for j in range(60)]
    model = make_engine().fit(planted.votes, participant_ids=people, statement_ids=statements)
    report = model.report_.to_dict()
    assert json.loads(json.dumps(report)) == report
    assert {"groups", "consensus", "divisive", "points"} <= report.keys()
    assert set(report["groups"][0]) >= {"id", "size", "representative"}
    assert report["groups"][0]["representative"][0]["statement"] in statements
    assert {p["participant"] for p in report["points"]} <= set(people)
    assert sum(g["size"] for g in report["groups"]) == len(report["points"])


def test_light_voters_join_the_nearest_group_and_non_voters_stay_out(planted):
    votes = planted.votes.tolil()
    votes[0, :] = 0  # assigning zeros to a lil matrix drops the entries: no votes at all
    votes.rows[1], votes.data[1] = votes.rows[1][:2], votes.data[1][:2]
    model = make_engine().fit(votes.tocsr())
    assert model.labels_[0] == -1 and np.isnan(model.embedding_[0]).all()
    assert not model.clustered_[1] and model.labels_[1] >= 0


def test_routing_returns_only_unvoted_statements(planted, fitted):
    voted = set(planted.votes[[4], :].tocoo().col.tolist())  # passes included
    order = fitted.route(4, random_state=1)
    assert set(order) == set(range(60)) - voted
    assert len(order) == len(set(order))
    assert fitted.route(4, random_state=1) == order
    assert fitted.route(4, limit=3, random_state=1) == order[:3]
    extra = fitted.route(4, voted=order[:2], random_state=1)
    assert set(extra) == set(order) - set(order[:2])


def test_routing_puts_new_statements_first(fitted):
    candidates = [*range(60), "new"]
    positions = [
        fitted.route("someone", candidates=candidates, random_state=seed).index("new")
        for seed in range(200)
    ]
    # A new statement carries ~9x the weight of a well-voted one; uniform would average 30.
    assert np.mean(positions) < 10


@pytest.mark.parametrize(
    ("votes", "message"),
    [
        (np.array([[1.0, 2.0]]), "votes must be"),
        (np.zeros((2, 2, 2)), "2-D"),
        (np.array([[1 + 1j]]), "complex"),
        (np.array([["yes"]]), "numbers"),
    ],
)
def test_invalid_votes_are_a_clear_value_error(votes, message):
    with pytest.raises(ValueError, match=message):
        OpinionGroups().fit(votes)


def test_mismatched_or_duplicate_ids_are_rejected():
    with pytest.raises(ValueError, match="got 1 ids for 2"):
        OpinionGroups().fit(np.ones((2, 2)), participant_ids=["a"])
    with pytest.raises(ValueError, match="unique"):
        OpinionGroups().fit(np.ones((2, 2)), statement_ids=["a", "a"])


def test_follows_the_scikit_learn_estimator_contract(planted):
    engine = OpinionGroups(min_votes=3, random_state=0)
    assert clone(engine).get_params() == engine.get_params()
    assert not hasattr(engine, "labels_")
    assert engine.fit(planted.votes) is engine
    np.testing.assert_array_equal(clone(engine).fit_predict(planted.votes), engine.labels_)


def test_votes_from_database_rows_route_by_id():
    rows = [(f"p{i}", f"s{j}", 1 if (i + j) % 3 else -1) for i in range(40) for j in range(8)]
    matrix, people, statements = build_vote_matrix(rows, statement_ids=[f"s{j}" for j in range(9)])
    model = OpinionGroups(random_state=0).fit(
        matrix, participant_ids=people, statement_ids=statements
    )
    assert model.route("p0", random_state=0) == ["s8"]
    assert set(model.route("newcomer", random_state=0)) == set(statements)


def test_invalid_parameters_are_rejected():
    with pytest.raises(ValueError, match="max_groups"):
        OpinionGroups(max_groups=1).fit(np.ones((2, 2)))


def test_build_vote_matrix_keeps_passes_and_refuses_double_votes():
    matrix, people, statements = build_vote_matrix(
        [("ann", "s1", 1), ("bob", "s1", 0), ("bob", "s2", -1)], statement_ids=["s1", "s2", "s3"]
    )
    assert people == ("ann", "bob") and statements == ("s1", "s2", "s3")
    assert matrix.nnz == 3 and matrix.shape == (2, 3)
    with pytest.raises(ValueError, match="more than one vote"):
        build_vote_matrix([("ann", "s1", 1), ("ann", "s1", -1)])


def assert_clear_result(model: OpinionGroups, n: int, m: int) -> None:
    """Invariants every fit must satisfy, however odd its input."""
    assert model.labels_.shape == (n,) and model.embedding_.shape == (n, 2)
    assert 0 <= model.n_groups_ <= 5
    assert set(model.labels_.tolist()) <= set(range(-1, model.n_groups_))
    assert (model.labels_[model.n_votes_ == 0] == -1).all()
    report = model.report_.to_dict()
    text = json.dumps(report, allow_nan=False)  # no NaN or inf leaks into the API
    assert json.loads(text) == report
    assert len(report["groups"]) == model.n_groups_
    statements = set(range(m))
    for item in report["consensus"] + report["divisive"]:
        assert item["statement"] in statements
    assert all(math.isfinite(p["x"]) and math.isfinite(p["y"]) for p in report["points"])


vote_cells = st.sampled_from([1.0, -1.0, 0.0, np.nan])


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=12),
        elements=vote_cells,
    ),
    st.integers(1, 8),
)
def test_any_small_matrix_gives_a_clear_result(votes, min_votes):
    model = OpinionGroups(min_votes=min_votes, random_state=0).fit(votes)
    assert_clear_result(model, *votes.shape)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 30), st.integers(1, 10), st.sampled_from([1.0, -1.0, 0.0]))
def test_identical_voters_form_at_most_one_group(n, m, value):
    # Duplicate rows, including all passes: nothing to split, so one group or none.
    model = OpinionGroups(random_state=0).fit(np.full((n, m), value))
    assert_clear_result(model, n, m)
    assert model.n_groups_ == 1
    assert model.report_.divisive == ()


@pytest.mark.parametrize(
    ("votes", "groups"),
    [
        (np.array([[1.0, -1.0, 0.0]]), 1),  # one voter
        (np.zeros((20, 8)), 1),  # all passes
        (np.array([[1.0], [-1.0], [1.0], [np.nan]]), 2),  # one statement
        (np.full((10, 5), np.nan), 0),  # all missing
        (np.zeros((0, 5)), 0),  # zero participants
        (np.zeros((5, 0)), 0),  # zero statements
        (sp.csr_array((3, 4)), 0),  # an empty sparse matrix: nobody voted
    ],
)
def test_degenerate_matrices(votes, groups):
    model = OpinionGroups(random_state=0).fit(votes)
    assert_clear_result(model, *votes.shape)
    assert model.n_groups_ == groups


def test_everyone_below_min_votes_means_no_groups_yet():
    votes = np.full((30, 20), np.nan)
    votes[np.arange(30), np.arange(30) % 20] = 1.0
    model = OpinionGroups(min_votes=3, random_state=0).fit(votes)
    assert_clear_result(model, 30, 20)
    assert model.n_groups_ == 0 and (model.labels_ == -1).all()
    report = model.report_.to_dict()
    assert report["groups"] == [] and report["consensus"] == [] and report["divisive"] == []
    assert len(report["points"]) == 30


def test_engine_imports_neither_flask_nor_sqlalchemy():
    for path in OPINION_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(("flask", "sqlalchemy")), f"{path.name}: {name}"
                if name.startswith("massline"):
                    assert name.startswith("massline.opinion"), f"{path.name}: {name}"
