"""The engine on the real county registry (2020 census covariates)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from massline.matching.engine import (
    PortfolioSelector,
    compare_portfolios,
    load_county_registry,
    rank_localities,
)


def test_real_registry_portfolio(data_dir: Path) -> None:
    loc = load_county_registry(data_dir)
    assert len(loc) == 2846 and loc.eligible.sum() == 2841
    assert loc.codes[0] == "110101" and loc.prefecture_codes[0] == "1101"
    assert loc.covariates.shape == (2846, 12) and np.isfinite(loc.covariates).all()
    assert np.unique(loc.province_codes).size == 31
    # Simulated participation that rises with car ownership, so top-k is unbalanced.
    rng = np.random.default_rng(0)
    car = loc.covariates[:, loc.covariate_names.index("car_ownership_share")]
    participants = rng.poisson(np.nan_to_num(loc.population) * 0.001).astype(float)
    supporters = rng.binomial(participants.astype(int), np.clip(0.05 + 0.5 * car, 0, 1))
    ranking = rank_localities(loc, supporters.astype(float), participants)
    sel = PortfolioSelector(k=40, delta=0.1).fit(loc, ranking.score, ranking.eligible)
    assert sel.result_.status == "optimal", sel.result_.message
    table = compare_portfolios(sel, loc, ranking.score, ranking.eligible, n_random=20)
    assert table["portfolio"].max_smd <= 0.1 + 1e-6
    assert table["top_k"].max_smd > 0.5
    assert table["portfolio"].demand_lift > 0.2
