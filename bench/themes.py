"""Measure the theme engine on the real labelled citizen messages.

Run from the repository root:

    PYTHONPATH=. .venv/bin/python bench/themes.py [--seeds 5] [--million]

Prints ARI, NMI and V-measure against the human labels at 7 themes for the plain baseline
(jieba.lcut, TF-IDF, KMeans), massline on title + body and massline on titles alone; the speed
of jieba alone and of the whole massline pipeline (segmentation + fit) on the same texts; and,
with --million, a rebuild from stored tokens of 1,000,000 documents resampled from the real ones.
Labels are used for scoring only.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from pathlib import Path

import jieba
import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, v_measure_score

from massline.text import analyse
from massline.themes.engine import ThemeModel

ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The shared data folder (MASSLINE_DATA_DIR, default ../shared/data)."""
    return Path(os.environ.get("MASSLINE_DATA_DIR", ROOT.parent / "shared" / "data"))


def load_messages() -> list[dict[str, str]]:
    """Rows of messages_labelled.csv."""
    with open(data_dir() / "messages_labelled.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def scores(labels: list[str], found: np.ndarray) -> tuple[float, float, float]:
    """ARI, NMI and V-measure of found clusters against the human labels."""
    return (
        adjusted_rand_score(labels, found),
        normalized_mutual_info_score(labels, found),
        v_measure_score(labels, found),
    )


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def row(name: str, runs: list[tuple[float, float, float]]) -> None:
    """Print seed-0 scores and the mean ± sd over seeds."""
    ari, nmi, v = zip(*runs, strict=True)
    sd = statistics.pstdev(nmi) if len(nmi) > 1 else 0.0
    print(
        f"{name:28s} ARI {ari[0]:.3f}  NMI {nmi[0]:.3f}  V {v[0]:.3f}   "
        f"(over {len(runs)} seeds: ARI {np.mean(ari):.3f}  NMI {np.mean(nmi):.3f} ± {sd:.3f})"
    )


def main() -> None:
    """Run the benchmark and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--million", action="store_true", help="also time a 1M-row rebuild")
    args = parser.parse_args()
    seeds = range(args.seeds)

    rows = load_messages()
    labels = [r["label"] for r in rows]
    texts = [f"{r['title']} {r['body']}".strip() for r in rows]
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    print(f"{len(rows)} messages, {megabytes:.1f} MB, 7 human labels\n")

    jieba.setLogLevel(60)
    jieba.initialize()
    analyse("预热")  # load the massline dictionary outside the timings, like jieba's

    start = time.perf_counter()
    raw = [jieba.lcut(t) for t in texts]
    jieba_seconds = time.perf_counter() - start

    start = time.perf_counter()
    tokens = [analyse(t).tokens for t in texts]  # one pass: search tokens come for free
    model = ThemeModel(7, random_state=0).fit(tokens)
    pipeline_seconds = time.perf_counter() - start

    def baseline(seed: int) -> np.ndarray:
        X = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=2).fit_transform(raw)
        return KMeans(7, n_init=10, random_state=seed).fit_predict(X)

    titles = [analyse(r["title"]).tokens for r in rows]
    row("baseline (jieba+tfidf+km)", [scores(labels, baseline(s)) for s in seeds])
    row(
        "massline title + body",
        [scores(labels, model.labels_)]
        + [scores(labels, ThemeModel(7, random_state=s).fit(tokens).labels_) for s in seeds[1:]],
    )
    row(
        "massline titles alone",
        [scores(labels, ThemeModel(7, random_state=s).fit(titles).labels_) for s in seeds],
    )

    start = time.perf_counter()
    ThemeModel(7, random_state=0).fit(tokens)
    fit_seconds = time.perf_counter() - start
    n = len(texts)
    print(f"\njieba.lcut alone          {n / jieba_seconds:8.0f} rows/s  ({jieba_seconds:.1f} s)")
    print(
        f"massline whole pipeline   {n / pipeline_seconds:8.0f} rows/s  ({pipeline_seconds:.1f} s:"
        f" normalise + one segmentation + filters, then fit {fit_seconds:.1f} s)"
    )
    print(f"ratio pipeline / jieba     {jieba_seconds / pipeline_seconds:8.2f}x")
    print("\nthemes at k=7 (seed 0):")
    for name, size in zip(model.names_, model.sizes_, strict=True):
        print(f"  {size:5d}  {name}")

    if args.million:
        million(tokens)


def million(tokens: list[list[str]], n: int = 1_000_000) -> None:
    """Rebuild themes (number chosen from the data) from 1M stored token lists."""
    rng = np.random.default_rng(0)
    # Drop ~20% of each resampled list so the synthetic corpus is not 100 exact copies.
    corpus = []
    for i in rng.integers(len(tokens), size=n):
        base = tokens[i]
        keep = rng.random(len(base)) < 0.8
        corpus.append([t for t, k in zip(base, keep, strict=True) if k])
    print(f"\n1M rebuild: {n} documents, {sum(map(len, corpus)) / n:.0f} tokens each on average")
    start = time.perf_counter()
    model = ThemeModel(random_state=0).fit(corpus)
    seconds = time.perf_counter() - start
    print(f"rebuild from stored tokens: {seconds:.0f} s, {model.n_themes_} themes chosen")


if __name__ == "__main__":
    main()
