"""The array bundle every matching step reads: one row per locality."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["LocalityData", "standardise"]


def _as_str(values: object) -> NDArray[np.str_]:
    return np.asarray([str(v) for v in np.asarray(values, dtype=object)], dtype=str)


@dataclass(frozen=True, eq=False)
class LocalityData:
    """Per-locality registry arrays: identity, hierarchy, census covariates and eligibility.

    ``eligible`` is administrative eligibility (standard unit, usable covariates); participation
    thresholds are applied later by the demand model. ``prefecture_codes`` defaults to the first
    four digits of the six-digit code.
    """

    codes: NDArray[np.str_]
    names: NDArray[np.str_]
    province_codes: NDArray[np.str_]
    regions: NDArray[np.str_]
    population: NDArray[np.float64]
    covariates: NDArray[np.float64]
    covariate_names: tuple[str, ...]
    eligible: NDArray[np.bool_] | None = None
    pilot_counts: NDArray[np.int64] | None = None
    prefecture_codes: NDArray[np.str_] | None = None
    imputed: NDArray[np.bool_] | None = None
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        codes = _as_str(self.codes)
        n = codes.size
        if len(set(codes.tolist())) != n:
            raise ValueError("locality codes must be unique")
        cov = np.asarray(self.covariates, dtype=float).reshape(n, -1)
        if cov.shape[1] != len(self.covariate_names):
            raise ValueError("covariate_names must name every covariate column")
        if not np.isfinite(cov).all():
            raise ValueError("covariates must be finite; impute or drop missing values first")

        def vec(value: object, default: object, dtype: object) -> np.ndarray:
            arr = np.full(n, default, dtype=dtype) if value is None else np.asarray(value, dtype)
            if arr.shape != (n,):
                raise ValueError(f"expected {n} values per locality, got shape {arr.shape}")
            return arr

        put = object.__setattr__  # frozen dataclass: normalise once, here
        put(self, "codes", codes)
        put(self, "names", vec(_as_str(self.names), "", str))
        put(self, "province_codes", vec(_as_str(self.province_codes), "", str))
        put(self, "regions", vec(_as_str(self.regions), "", str))
        put(self, "population", vec(self.population, np.nan, float))
        put(self, "covariates", cov)
        put(self, "covariate_names", tuple(self.covariate_names))
        put(self, "eligible", vec(self.eligible, True, bool))
        put(self, "pilot_counts", vec(self.pilot_counts, 0, np.int64))
        prefectures = self.prefecture_codes
        if prefectures is None:
            prefectures = np.asarray([c[:4] for c in codes.tolist()], dtype=str)
        put(self, "prefecture_codes", vec(_as_str(prefectures), "", str))
        put(self, "imputed", vec(self.imputed, False, bool))
        put(self, "_index", {c: i for i, c in enumerate(codes.tolist())})

    def __len__(self) -> int:
        return int(self.codes.size)

    def indices(self, codes: object) -> NDArray[np.intp]:
        """Row indices of the given codes; unknown codes raise KeyError naming them."""
        wanted = [str(c) for c in (codes or ())]
        missing = [c for c in wanted if c not in self._index]
        if missing:
            raise KeyError(f"unknown locality codes: {', '.join(missing[:10])}")
        return np.asarray([self._index[c] for c in wanted], dtype=np.intp)


def standardise(
    x: NDArray[np.float64], reference: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Z-scores of every row against the reference rows' mean and SD (constant columns → 0)."""
    ref = x[reference]
    mean = ref.mean(axis=0)
    sd = ref.std(axis=0, ddof=1) if ref.shape[0] > 1 else np.zeros(x.shape[1])
    safe = np.where(sd > 0, sd, 1.0)
    z = (x - mean) / safe
    z[:, sd == 0] = 0.0
    return z, mean, sd
