"""Matching engine on hand-built cases: demand, relevance, ranking, portfolio, comparisons."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from massline.matching.engine import (
    BetaBinomialDemand,
    IdeaRelevance,
    PortfolioSelector,
    compare_portfolios,
    demand_lift,
    generalizability_index,
    match_comparisons,
    random_b_distribution,
    rank_localities,
    top_k,
    tradeoff_curve,
    weighted_distinct_people,
)

from .helpers import make_localities, make_participation

ENGINE_DIR = Path(__file__).resolve().parents[2] / "massline" / "matching"


def test_overwhelming_relevant_demand_ranks_first() -> None:
    loc = make_localities()
    supporters, participants = make_participation()
    supporters[17], participants[17] = 4_000, 5_000
    ranking = rank_localities(loc, supporters, participants)
    assert ranking.rows[0].code == loc.codes[17]
    assert ranking.rows[0].rank == 1


def test_three_enthusiasts_do_not_outrank_thirty_thousand() -> None:
    loc = make_localities()
    supporters, participants = make_participation()
    supporters[0], participants[0] = 3, 3  # 100 % of three people
    supporters[1], participants[1] = 12_000, 30_000  # 40 % of thirty thousand
    model = BetaBinomialDemand(min_participants=0)  # both eligible: shrinkage alone decides
    ranking = rank_localities(loc, supporters, participants, model=model)
    position = {row.code: i for i, row in enumerate(ranking.rows)}
    assert position[loc.codes[1]] < position[loc.codes[0]]
    assert ranking.score[1] > ranking.score[0]
    # With the default minimum the tiny place is shown but ineligible and unranked.
    default = rank_localities(loc, supporters, participants)
    row = next(r for r in default.rows if r.code == loc.codes[0])
    assert row.eligible is False and row.rank is None and row.participants == 3


def test_assisted_supporters_count_and_stay_visible() -> None:
    loc = make_localities()
    supporters, participants = make_participation()
    assisted = np.zeros_like(supporters)
    assisted[5] = 500
    participants[5] += 500
    with_assisted = rank_localities(loc, supporters, participants, assisted)
    row = next(r for r in with_assisted.rows if r.code == loc.codes[5])
    assert row.assisted_supporters == 500 and row.supporters == supporters[5]
    without = rank_localities(loc, supporters, participants)
    assert with_assisted.score[5] > without.score[5]


def test_demand_model_recovers_prior_and_orders_interval() -> None:
    rng = np.random.default_rng(1)
    n = rng.integers(50, 5_000, 2_000)
    y = rng.binomial(n, rng.beta(2.0, 8.0, n.size))
    model = BetaBinomialDemand().fit(y, n)
    assert model.method_ == "mle"
    assert model.prior_mean_ == pytest.approx(0.2, abs=0.01)
    assert model.prior_strength_ == pytest.approx(10.0, rel=0.2)
    est = model.estimate(y, n, population=n * 100)
    assert np.all(est.lower <= est.mean) and np.all(est.mean <= est.upper)
    assert np.all((est.shrinkage > 0) & (est.shrinkage < 1))
    assert np.allclose(est.per_10k, y / (n * 100) * 1e4)


def test_demand_model_survives_degenerate_data() -> None:
    zeros = BetaBinomialDemand().fit(np.zeros(40), np.full(40, 100.0))
    assert np.isfinite(zeros.alpha_) and zeros.prior_mean_ < 0.01
    few = BetaBinomialDemand().fit([1, 2], [3, 4])  # nobody reaches min_participants
    assert few.method_ == "pooled"


PRIORITIES = [
    ["农村", "学校", "教师", "待遇"],
    ["农村", "教师", "培训"],
    ["城市", "停车", "收费"],
    ["公交", "线路", "夜间"],
    ["农村", "学校", "校车"],
    ["医院", "挂号", "排队"],
]
IDEA = ["提高", "农村", "教师", "待遇"]


def test_relevance_scores_threshold_and_excludes() -> None:
    rel = IdeaRelevance(threshold=0.1).fit(PRIORITIES, ids=[10, 11, 12, 13, 14, 15])
    w = rel.weights(IDEA)
    assert w[0] == w.max() and w[0] > 0
    assert np.all(w[[2, 3, 5]] == 0)
    assert rel.weights(IDEA, exclude=[10])[0] == 0
    assert [i for i, _ in rel.top_matches(IDEA, n=2)] == [10, 11]


def test_relevance_on_raw_chinese_strings() -> None:
    texts = ["农村学校教师待遇太低", "城市停车收费太贵", "农村学校缺少校车"]
    for analyzer in ("char", "word"):  # "word" segments with massline.text.tokenize
        rel = IdeaRelevance(analyzer=analyzer, threshold=0.05).fit(texts)
        sim = rel.similarity("提高农村教师待遇")
        assert sim.argmax() == 0 and sim[1] < sim[0]


def test_irrelevant_priorities_do_not_move_ranking() -> None:
    loc = make_localities(n=30)
    rng = np.random.default_rng(3)
    rel = IdeaRelevance(threshold=0.1).fit(PRIORITIES)
    w = rel.weights(IDEA)
    home = rng.integers(0, 30, 3_000)  # one home locality per person
    participants = np.bincount(home, minlength=30).astype(float)
    person = rng.integers(0, 3_000, 6_000)
    priority = rng.choice([0, 1, 4], 6_000)
    base = weighted_distinct_people(person, priority, home[person], w, 30)
    noise_person = rng.integers(0, 3_000, 20_000)
    noise_priority = rng.choice([2, 3, 5], 20_000)  # irrelevant to the idea
    both = weighted_distinct_people(
        np.concatenate([person, noise_person]),
        np.concatenate([priority, noise_priority]),
        home[np.concatenate([person, noise_person])],
        w,
        30,
    )
    assert np.allclose(base[0], both[0])
    r1 = rank_localities(loc, base[0], participants)
    r2 = rank_localities(loc, both[0], participants)
    assert [r.code for r in r1.rows] == [r.code for r in r2.rows]


def test_distinct_people_not_votes() -> None:
    w = np.array([0.9, 0.5, 0.0])
    # Person 0 supports twice (best 0.9 counts once); person 1 assisted offline.
    online, offline = weighted_distinct_people(
        np.array([0, 0, 1, 2]),
        np.array([0, 1, 1, 2]),
        np.array([0, 0, 1, 1]),
        w,
        2,
        assisted=np.array([False, False, True, False]),
    )
    assert online.tolist() == [0.9, 0.0] and offline.tolist() == [0.0, 0.5]


def _selector_inputs(n: int = 60, seed: int = 0, outlier: bool = False):
    covariates = np.random.default_rng(seed).normal(size=(n, 4))
    if outlier:  # locality 0 (code 110100) sits far out on covariate "a"
        covariates[0, 0] = 12.0
    loc = make_localities(n=n, seed=seed, covariates=covariates)
    supporters, participants = make_participation(n=n, seed=seed)
    ranking = rank_localities(loc, supporters, participants)
    return loc, ranking


def test_excluded_never_appear_and_caps_hold() -> None:
    loc, ranking = _selector_inputs()
    best = top_k(ranking.score, ranking.eligible, 5)
    exclude = loc.codes[best].tolist()
    sel = PortfolioSelector(k=8, delta=0.5, max_per_province=2, exclude=exclude).fit(
        loc, ranking.score, ranking.eligible
    )
    assert sel.result_.feasible and len(sel.selected_) == 8
    assert not set(exclude) & set(sel.result_.codes)
    _, counts = np.unique(loc.province_codes[sel.selected_], return_counts=True)
    assert counts.max() <= 2
    assert set(loc.regions[sel.selected_]) == {"East", "West", "Central"}


def test_include_and_pilot_cap() -> None:
    pilots = np.zeros(60, dtype=int)
    pilots[:30] = 3
    loc = make_localities(pilot_counts=pilots)
    supporters, participants = make_participation()
    ranking = rank_localities(loc, supporters, participants)
    sel = PortfolioSelector(k=6, delta=None, max_pilots=3, include=[loc.codes[40]])
    sel.fit(loc, ranking.score, ranking.eligible)
    assert loc.codes[40] in sel.result_.codes
    assert np.all(sel.selected_ >= 30)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"k": 10, "max_per_province": 1, "delta": None}, "province cap"),
        ({"k": 4, "include": ["110100"], "exclude": ["110100"]}, "both included and excluded"),
        ({"k": 500}, "only 60 eligible"),
        ({"k": 2, "include": ["110100", "120101", "130102"]}, "must be included"),
        ({"k": 2, "include": ["110100"], "delta": 0.1, "relax": False}, "covariate balance"),
    ],
)
def test_infeasible_gives_clear_message(params: dict, words: str) -> None:
    loc, ranking = _selector_inputs(outlier=True)
    sel = PortfolioSelector(**params).fit(loc, ranking.score, ranking.eligible)
    assert sel.result_.status == "infeasible" and not sel.result_.feasible
    assert words in sel.result_.message and sel.selected_.size == 0


def test_no_eligible_place_is_a_clear_answer_not_a_calculation_on_nothing() -> None:
    loc, ranking = _selector_inputs(outlier=True)
    nobody = np.zeros(len(loc), dtype=bool)
    sel = PortfolioSelector(k=3).fit(loc, ranking.score, nobody)
    assert sel.result_.status == "infeasible" and "only 0 eligible" in sel.result_.message
    assert compare_portfolios(sel, loc, ranking.score, nobody) == {
        "portfolio": None, "top_k": None, "random": None,
    }  # fmt: skip
    assert all(p.metrics is None for p in tradeoff_curve(sel, loc, ranking.score, eligible=nobody))


def test_tight_delta_is_relaxed_step_by_step() -> None:
    loc, ranking = _selector_inputs(outlier=True)
    sel = PortfolioSelector(k=2, delta=0.05, include=["110100"])
    res = sel.fit(loc, ranking.score, ranking.eligible).result_
    assert res.status == "relaxed" and res.binding == ("balance",)
    assert [d for d, _ in res.attempts] == [0.05, 0.1, 0.15, 0.25, None]
    assert res.delta_used is None and "relaxed to none" in res.message
    assert "110100" in res.codes


def test_infeasible_diagnosis_names_the_family() -> None:
    loc, ranking = _selector_inputs(outlier=True)
    sel = PortfolioSelector(k=2, delta=0.1, relax=False, include=["110100"])
    res = sel.fit(loc, ranking.score, ranking.eligible).result_
    assert set(res.binding) == {"balance", "include"}
    assert "must-include list" in res.message


def test_same_inputs_and_seed_same_output() -> None:
    def run():
        loc, ranking = _selector_inputs(seed=4)
        sel = PortfolioSelector(k=9, delta=0.25, random_state=7)
        sel.fit(loc, ranking.score, ranking.eligible)
        table = compare_portfolios(sel, loc, ranking.score, ranking.eligible, n_random=20)
        return [r.code for r in ranking.rows], sel.result_.codes, sel.strata_, table

    a, b = run(), run()
    assert a[0] == b[0] and a[1] == b[1] and np.array_equal(a[2], b[2])
    assert all(a[3][key].b_index == b[3][key].b_index for key in ("portfolio", "random"))


def test_metrics_and_tradeoff_curve() -> None:
    loc, ranking = _selector_inputs()
    ref = ranking.eligible
    best = top_k(ranking.score, ref, 6)
    assert demand_lift(ranking.score, best, ref) == pytest.approx(1.0)
    assert generalizability_index(loc.covariates, ref, ref) == 1.0
    b_random = random_b_distribution(loc.covariates, ref, 6, n_draws=10)
    assert b_random.shape == (10,) and np.all((b_random > 0) & (b_random <= 1))
    sel = PortfolioSelector(k=6, delta=0.25, n_strata=2)
    curve = tradeoff_curve(sel, loc, ranking.score, eligible=ref, b_reference=b_random)
    assert [p.delta for p in curve] == [0.05, 0.1, 0.25, None]
    feasible = [p for p in curve if p.metrics is not None]
    assert feasible and all(p.metrics.max_smd <= p.delta + 1e-6 for p in feasible if p.delta)


def test_comparisons_avoid_prefecture_and_pilots() -> None:
    loc, ranking = _selector_inputs()
    sel = PortfolioSelector(k=6, delta=None).fit(loc, ranking.score, ranking.eligible)
    pairs = match_comparisons(loc, sel.selected_)
    assert np.all(pairs.comparison >= 0) and pairs.message == "all pilots matched"
    assert not set(pairs.comparison) & set(sel.selected_)
    assert len(set(pairs.comparison)) == pairs.comparison.size
    pref = loc.prefecture_codes
    assert np.all(pref[pairs.comparison] != pref[pairs.pilots])


def test_engine_imports_neither_flask_nor_sqlalchemy() -> None:
    engine_files = [
        "comparison",
        "data",
        "demand",
        "engine",
        "evaluation",
        "metrics",
        "portfolio",
        "ranking",
        "registry",
        "relevance",
        "strata",
    ]
    for stem in engine_files:
        tree = ast.parse((ENGINE_DIR / f"{stem}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                root = name.split(".")[0]
                assert root not in {"flask", "flask_sqlalchemy", "sqlalchemy", "pandas"}, stem
