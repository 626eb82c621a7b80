"""Property tests on small random instances: whatever the constraints, the contract holds."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from massline.matching.engine import PortfolioSelector, rank_localities

from .helpers import make_localities, make_participation


@st.composite
def instances(draw: st.DrawFn) -> dict:
    n = draw(st.integers(12, 40))
    seed = draw(st.integers(0, 10_000))
    k = draw(st.integers(1, 8))
    codes_pool = st.integers(0, n - 1)
    return {
        "n": n,
        "seed": seed,
        "k": k,
        "cap": draw(st.one_of(st.none(), st.integers(1, 3))),
        "delta": draw(st.sampled_from([None, 0.25, 0.5, 1.0])),
        "exclude": draw(st.lists(codes_pool, max_size=6, unique=True)),
        "include": draw(st.lists(codes_pool, max_size=2, unique=True)),
        "ineligible": draw(st.lists(codes_pool, max_size=5, unique=True)),
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_portfolio_contract(case: dict) -> None:
    n = case["n"]
    eligible = np.ones(n, dtype=bool)
    eligible[case["ineligible"]] = False
    loc = make_localities(n=n, seed=case["seed"], eligible=eligible)
    supporters, participants = make_participation(n=n, seed=case["seed"])
    ranking = rank_localities(loc, supporters, participants)
    include = [loc.codes[i] for i in case["include"]]
    exclude = [loc.codes[i] for i in case["exclude"]]
    sel = PortfolioSelector(
        k=case["k"],
        delta=case["delta"],
        max_per_province=case["cap"],
        include=include,
        exclude=exclude,
        n_strata=2,
        time_limit=5.0,
    ).fit(loc, ranking.score, ranking.eligible)
    res = sel.result_
    if not res.feasible:
        assert res.message.startswith("no feasible portfolio: ") and res.selected.size == 0
        return
    chosen = set(res.codes)
    assert len(res.selected) == len(chosen) == case["k"]
    assert chosen <= set(loc.codes[ranking.eligible]) - set(exclude)
    assert set(include) <= chosen
    _, per_province = np.unique(loc.province_codes[res.selected], return_counts=True)
    assert per_province.max() <= sel.max_per_province_
    if res.delta_used is not None:
        z = sel.z_[res.selected].mean(axis=0)
        assert np.abs(z).max() <= res.delta_used + 1e-6
