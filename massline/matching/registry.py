"""Load the real county registry (counties.csv with 2020 census covariates) into LocalityData.

Missing values: standard units with no population (created after the census or not
enumerated, e.g. 临平区, 金门县) are kept but marked ineligible; a missing ratio elsewhere is
imputed with the median of the standard units and the row is flagged in ``imputed``.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from massline.matching.data import LocalityData

__all__ = ["COVARIATE_COLUMNS", "REGIONS", "build_locality_data", "load_county_registry"]

# The balance covariates named in the design: development, age, education, farming,
# income proxy, ethnicity and migration; log population is added in front.
COVARIATE_COLUMNS = (
    "urbanisation_rate",
    "share_65plus",
    "college_per_100k",
    "agri_employment_share",
    "car_ownership_share",
    "minority_share",
    "hukou_elsewhere_share",
)
REGIONS = ("East", "Central", "West", "Northeast")


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:  # "" and "NA" in the source
        return math.nan
    return value if math.isfinite(value) else math.nan


def load_county_registry(data_dir: str | Path) -> LocalityData:
    """Read ``<data_dir>/localities/counties.csv`` (standard county-level units only)."""
    path = Path(data_dir) / "localities" / "counties.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["is_standard_county_level_division"] == "1"]
    return build_locality_data(
        codes=[r["county_code"] for r in rows],
        names=[r["name"] for r in rows],
        province_codes=[r["province_code"] for r in rows],
        prefecture_codes=[r["prefecture_code"] for r in rows],
        regions=[r["region4"] for r in rows],
        population=[_number(r["pop_2020"]) for r in rows],
        ratios=[[_number(r[c]) for c in COVARIATE_COLUMNS] for r in rows],
    )


def build_locality_data(
    *,
    codes: list[str],
    names: list[str],
    province_codes: list[str],
    prefecture_codes: list[str],
    regions: list[str],
    population: list[float],
    ratios: list[list[float]],
    pilot_counts: list[int] | None = None,
) -> LocalityData:
    """Balance covariates (log population, the census ratios, region dummies) for any units.

    Missing ratios take the median of places with a population and are flagged; places
    without a population are kept but ineligible.
    """
    population_array = np.array(population, dtype=float)
    raw = np.array(ratios, dtype=float).reshape(len(codes), len(COVARIATE_COLUMNS))
    has_population = np.isfinite(population_array) & (population_array > 0)
    missing = np.isnan(raw)
    medians = np.nanmedian(raw[has_population], axis=0) if has_population.any() else 0.0
    raw = np.where(missing, medians, raw)
    fallback = np.nanmedian(population_array) if has_population.any() else 1.0
    log_pop = np.log(np.where(has_population, population_array, fallback))
    region_array = np.array(regions)
    dummies = (region_array[:, None] == np.array(REGIONS)[None, :]).astype(float)
    covariates = np.column_stack([log_pop, raw, dummies])
    covariate_names = ("log_population", *COVARIATE_COLUMNS, *(f"region_{r}" for r in REGIONS))
    return LocalityData(
        codes=np.array(codes),
        names=np.array(names),
        province_codes=np.array(province_codes),
        prefecture_codes=np.array(prefecture_codes),
        regions=region_array,
        population=np.where(has_population, population_array, np.nan),
        covariates=covariates,
        covariate_names=covariate_names,
        eligible=has_population,
        pilot_counts=None if pilot_counts is None else np.array(pilot_counts),
        imputed=missing.any(axis=1) | ~has_population,
    )
