"""Plain builders for matching tests: synthetic localities and participation."""

from __future__ import annotations

from typing import Any

import numpy as np

from massline.matching.engine import LocalityData


def make_localities(n: int = 60, seed: int = 0, **overrides: Any) -> LocalityData:
    """N synthetic localities over 6 provinces × 2 prefectures and 3 regions, 4 covariates."""
    rng = np.random.default_rng(seed)
    province = np.arange(n) % 6
    prefecture = (np.arange(n) // 6) % 2
    fields: dict[str, Any] = {
        "codes": [
            f"{11 + p:02d}{1 + q:02d}{i:02d}"
            for i, (p, q) in enumerate(zip(province, prefecture, strict=True))
        ],
        "names": [f"loc{i}" for i in range(n)],
        "province_codes": [f"{11 + p:02d}" for p in province],
        "regions": np.array(["East", "West", "Central"])[province % 3],
        "population": rng.integers(50_000, 2_000_000, n).astype(float),
        "covariates": rng.normal(size=(n, 4)),
        "covariate_names": ("a", "b", "c", "d"),
    }
    fields.update(overrides)
    return LocalityData(**fields)


def make_participation(n: int = 60, seed: int = 0, share: float = 0.15):
    """Participants (≥ 100) and supporters drawn around a common share."""
    rng = np.random.default_rng(seed)
    participants = rng.integers(100, 3000, n).astype(float)
    theta = np.clip(rng.normal(share, 0.03, n), 0.01, 0.99)
    return rng.binomial(participants.astype(int), theta).astype(float), participants
