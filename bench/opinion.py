"""Time the opinion-group engine against plain scikit-learn PCA + KMeans on the dense matrix.

Run from the repository root:

    PYTHONPATH=. .venv/bin/python bench/opinion.py [--sizes 1000 10000 100000] [--repeats 3]

Both sides get the same sparse votes (200 statements, 10-40 votes per participant, 3 planted
groups). The baseline fills missing votes with the statement mean in a dense array, runs
PCA(2), then KMeans for k = 2..5 picked by silhouette on the same sample size: the same model
selection, without sparsity. The engine additionally computes its full report.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score

from massline.opinion import OpinionGroups
from massline.opinion.synthetic import planted_votes

N_STATEMENTS = 200
VOTES_PER_PARTICIPANT = (10, 40)
SAMPLE = 2000


def baseline(votes: sp.csr_array) -> np.ndarray:
    """Mean-fill densely, PCA(2), KMeans k=2..5 by sampled silhouette; return the labels."""
    dense = np.full(votes.shape, np.nan)
    coo = votes.tocoo()
    dense[coo.row, coo.col] = coo.data
    means = np.nan_to_num(np.nanmean(dense, axis=0)) if votes.nnz else np.zeros(votes.shape[1])
    filled = np.where(np.isnan(dense), means, dense)
    points = PCA(n_components=2, random_state=0).fit_transform(filled)
    best_score, best_labels = -np.inf, None
    for k in range(2, 6):
        labels = KMeans(n_clusters=k, n_init=3, random_state=0).fit_predict(points)
        score = silhouette_score(points, labels, sample_size=SAMPLE, random_state=0)
        if score > best_score:
            best_score, best_labels = score, labels
    return best_labels


def engine(votes: sp.csr_array) -> np.ndarray:
    """Fit the engine with its defaults; return the labels."""
    return OpinionGroups(random_state=0).fit(votes).labels_


def timed(run: Callable[[sp.csr_array], np.ndarray], votes, repeats: int):
    """Median wall time over `repeats` runs, and the labels of the last one."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        labels = run(votes)
        times.append(time.perf_counter() - start)
    return statistics.median(times), labels


def main() -> None:
    """Print one row per size: engine and baseline seconds, their ratio and both ARIs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    # Warm up both pipelines so that thread pools and lazy imports are not timed.
    warm = planted_votes(500, N_STATEMENTS, votes_per_participant=VOTES_PER_PARTICIPANT)
    engine(warm.votes), baseline(warm.votes)

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}; median of {args.repeats} runs"
    )
    header = (
        f"{'participants':>12} {'votes':>10} {'engine s':>9} {'baseline s':>11} "
        f"{'ratio':>6} {'engine ARI':>10} {'baseline ARI':>12}"
    )
    print(header)
    for n in args.sizes:
        data = planted_votes(
            n, N_STATEMENTS, votes_per_participant=VOTES_PER_PARTICIPANT, random_state=1
        )
        engine_time, engine_labels = timed(engine, data.votes, args.repeats)
        baseline_time, baseline_labels = timed(baseline, data.votes, args.repeats)
        print(
            f"{n:>12,} {data.votes.nnz:>10,} {engine_time:>9.2f} {baseline_time:>11.2f} "
            f"{engine_time / baseline_time:>6.2f} "
            f"{adjusted_rand_score(data.groups, engine_labels):>10.3f} "
            f"{adjusted_rand_score(data.groups, baseline_labels):>12.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
