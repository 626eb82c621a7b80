"""Benchmark the matching engine on the real county registry with simulated participation.

Run from the project root:  .venv/bin/python bench/matching.py [--seed 0] [--priorities 1000000]
Participation is SIMULATED (seeded): more users and more relevant support in more developed
counties, as on real platforms, so that the plain demand top-k is unbalanced.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import expit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a plain script from any directory

from massline.matching.engine import (  # noqa: E402
    IdeaRelevance,
    LocalityData,
    PortfolioSelector,
    compare_portfolios,
    load_county_registry,
    match_comparisons,
    random_b_distribution,
    rank_localities,
    standardized_mean_differences,
    tradeoff_curve,
    weighted_distinct_people,
)


def simulate(loc: LocalityData, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Online supporters, assisted supporters and participants per county (relevance-weighted)."""
    rng = np.random.default_rng(seed)
    names = list(loc.covariate_names)
    z = (loc.covariates - loc.covariates.mean(0)) / loc.covariates.std(0)
    dev = sum(z[:, names.index(c)] for c in ("car_ownership_share", "college_per_100k"))
    dev = dev + z[:, names.index("urbanisation_rate")] - z[:, names.index("agri_employment_share")]
    dev = dev / dev.std()
    pop = np.nan_to_num(loc.population)
    n = rng.poisson(pop * 0.002 * np.exp(0.5 * dev))
    tiny = rng.random(n.size) < 0.15  # thin-data counties: 1–5 users
    n[tiny] = rng.integers(1, 6, tiny.sum())
    theta = expit(-1.8 + 0.6 * dev + rng.normal(0, 0.3, n.size))
    urban = loc.covariates[:, names.index("urbanisation_rate")]
    n_off = rng.binomial(n, 0.15 * (1 - urban))  # assisted entry is commoner in rural counties
    weight = rng.uniform(0.5, 0.8, n.size)  # mean best relevance of a county's supporters
    online = rng.binomial(n - n_off, theta) * weight
    assisted = rng.binomial(n_off, theta) * weight
    return online, assisted, n.astype(float)


def time_ranking_at_scale(loc: LocalityData, n_priorities: int, seed: int) -> dict[str, float]:
    """Idea → relevance over n priorities → distinct weighted people → ranking, timed."""
    rng = np.random.default_rng(seed)
    vocab = np.array([f"词{i}" for i in range(5000)])
    lengths = rng.integers(6, 13, n_priorities)
    tokens = vocab[rng.zipf(1.3, lengths.sum()) % vocab.size]
    splits = np.cumsum(lengths)[:-1]
    docs = [t.tolist() for t in np.split(tokens, splits)]
    t0 = time.perf_counter()
    relevance = IdeaRelevance(threshold=0.15).fit(docs)
    fit_s = time.perf_counter() - t0
    n_support = 3 * n_priorities
    person = rng.integers(0, n_priorities, n_support)
    home = rng.integers(0, len(loc), n_priorities)  # one home county per person
    priority = rng.integers(0, n_priorities, n_support)
    offline = rng.random(n_priorities) < 0.1
    participants = np.bincount(home, minlength=len(loc)).astype(float)
    idea = ["词3", "词17", "词250", "词900"]
    t0 = time.perf_counter()
    w = relevance.weights(idea)
    online, assisted = weighted_distinct_people(
        person, priority, home[person], w, len(loc), offline[person]
    )
    rank_localities(loc, online, participants, assisted)
    return {"fit_s": fit_s, "rank_s": time.perf_counter() - t0, "relevant": int((w > 0).sum())}


def main() -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--priorities", type=int, default=1_000_000)
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    data_dir = Path(os.environ.get("MASSLINE_DATA_DIR", ROOT.parent / "shared" / "data"))
    loc = load_county_registry(data_dir)
    online, assisted, n = simulate(loc, args.seed)
    t0 = time.perf_counter()
    ranking = rank_localities(loc, online, n, assisted)
    rank_s = time.perf_counter() - t0
    ref = ranking.eligible
    print(f"counties: {len(loc)} standard, {int(ref.sum())} eligible (≥30 participants)")
    print(
        f"prior: alpha={ranking.model.alpha_:.2f} beta={ranking.model.beta_:.2f} "
        f"({ranking.model.method_}); rank all counties: {rank_s * 1000:.0f} ms"
    )
    header = f"{'k':>4} {'selection':<10} {'solve s':>8} {'lift':>6} {'max|SMD|':>9} "
    print(header + f"{'mean|SMD|':>10} {'B':>6} {'B pct':>6} {'prov':>5} {'reg':>4}  status")
    for k in (10, 40, 100):
        b_ref = random_b_distribution(loc.covariates, ref, k, args.draws, args.seed)
        selector = PortfolioSelector(k=k, delta=0.1, random_state=args.seed)
        selector.fit(loc, ranking.score, ref)
        table = compare_portfolios(selector, loc, ranking.score, ref, b_reference=b_ref)
        for name, m in table.items():
            if m is None:
                print(f"{k:>4} {name:<10} infeasible: {selector.result_.message}")
                continue
            solve = f"{selector.result_.solve_seconds:8.2f}" if name == "portfolio" else " " * 8
            status = f"δ={selector.result_.delta_used} {selector.result_.status}"
            print(
                f"{k:>4} {name:<10} {solve} {m.demand_lift:6.2f} {m.max_smd:9.3f} "
                f"{m.mean_smd:10.3f} {m.b_index:6.3f} {m.b_percentile:6.0f} {m.n_provinces:>5} "
                f"{m.n_regions:>4}  {status if name == 'portfolio' else ''}"
            )
        pairs = match_comparisons(loc, selector.selected_)
        ok = pairs.comparison >= 0
        smd = standardized_mean_differences(
            loc.covariates, pairs.comparison[ok], selector.selected_
        )
        print(
            f"{k:>4} comparison sites: {pairs.message}; max|SMD| vs pilots {np.abs(smd).max():.3f}"
        )
        if k == 40:
            curve = tradeoff_curve(selector, loc, ranking.score, eligible=ref, b_reference=b_ref)
            for p in curve:
                m = p.metrics
                text = (
                    p.result.message
                    if m is None
                    else (
                        f"lift {m.demand_lift:.2f} max|SMD| {m.max_smd:.3f} "
                        f"B pct {m.b_percentile:.0f} solve {p.result.solve_seconds:.2f}s"
                    )
                )
                print(f"  trade-off δ={p.delta}: {text}")
    if args.priorities:
        scale = time_ranking_at_scale(loc, args.priorities, args.seed)
        print(
            f"{args.priorities:,} priorities: TF-IDF fit {scale['fit_s']:.1f} s (once); "
            f"idea → ranking {scale['rank_s'] * 1000:.0f} ms ({scale['relevant']:,} relevant)"
        )


if __name__ == "__main__":
    main()
