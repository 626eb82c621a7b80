"""Measure near-duplicate detection on the real labelled messages and on a 1M-row index.

Run from the repository root:

    PYTHONPATH=. .venv/bin/python bench/duplicates.py [--size 1000000] [--sample /tmp/x.txt]

Prints the recall on every identical-body pair, the number of pairs reported above the default
threshold, and query latency against a synthetic index built by resampling real token lists.
Writes a random sample of 100 reported (non-identical) pairs for checking by hand.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from itertools import combinations

import numpy as np

from bench.themes import load_messages
from massline.text import analyse, normalize
from massline.themes.duplicates import DuplicateIndex, body_hash


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--sample", default="/tmp/massline_duplicate_sample.txt")
    args = parser.parse_args()

    rows = load_messages()
    bodies = [r["body"] for r in rows]
    tokens = [analyse(b).tokens for b in bodies]
    hashes = [body_hash(b) if normalize(b) else None for b in bodies]
    index = DuplicateIndex().fit(tokens, hashes=hashes)

    groups: dict[str, list[int]] = defaultdict(list)
    for i, body in enumerate(bodies):
        if normalize(body):
            groups[normalize(body)].append(i)
    identical = {pair for g in groups.values() for pair in combinations(g, 2)}

    start = time.perf_counter()
    reported = index.pairs()
    seconds = time.perf_counter() - start
    found = {(i, j) for i, j, _ in reported}
    recall = len(identical & found) / len(identical)
    near = [p for p in reported if (p[0], p[1]) not in identical]
    print(f"identical-body pairs: {len(identical)}, found {recall:.1%}")
    print(
        f"pairs reported at cosine >= {index.threshold}: {len(reported)}"
        f" ({len(near)} not identical)"
    )
    print(f"all-pairs search on {len(rows)} bodies: {seconds:.2f} s")

    sample = random.Random(0).sample(near, min(100, len(near)))
    with open(args.sample, "w", encoding="utf-8") as out:
        for n, (i, j, sim) in enumerate(sample, 1):
            out.write(f"## {n}  rows {rows[i]['id']} / {rows[j]['id']}  cosine {sim:.3f}\n")
            out.write(f"A {rows[i]['title']} | {bodies[i][:300]}\n")
            out.write(f"B {rows[j]['title']} | {bodies[j][:300]}\n\n")
    print(f"sample of {len(sample)} near pairs written to {args.sample}")

    latency(tokens, args.size)


def latency(tokens: list[list[str]], size: int) -> None:
    """Query latency of drafts against an index of `size` resampled documents."""
    rng = np.random.default_rng(0)
    corpus = []
    for i in rng.integers(len(tokens), size=size):
        keep = rng.random(len(tokens[i])) < 0.8  # not exact copies: drop ~20% of the tokens
        corpus.append([t for t, k in zip(tokens[i], keep, strict=True) if k])
    start = time.perf_counter()
    big = DuplicateIndex().fit(corpus)
    print(f"\nindex of {size} documents built in {time.perf_counter() - start:.0f} s")
    drafts = [tokens[i] for i in rng.integers(len(tokens), size=300) if tokens[i]]
    timings, hits = [], []
    for draft in drafts:
        start = time.perf_counter()
        hits.append(len(big.query(draft)))
        timings.append((time.perf_counter() - start) * 1000)
    p50, p95 = np.percentile(timings, [50, 95])
    print(
        f"query latency over {len(drafts)} drafts: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(timings):.1f} ms; median hits {int(np.median(hits))}"
    )


if __name__ == "__main__":
    main()
