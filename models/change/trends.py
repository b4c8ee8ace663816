"""Programme cultivation over the years, and programme vs other districts.

``programme_series`` sums each programme's district estimates per stored year;
``programme_vs_other`` compares the mean change of programme districts with that of
the other districts (difference in differences). Both are re-exported by
:mod:`models.change`.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from core.legend import CROPS_OF_INTEREST
from models.change.inputs import district_ids_of, estimates_of_year, find_estimate, z_value
from models.change.totals import sum_of_districts

__all__ = ["programme_series", "programme_vs_other", "sum_of_districts"]


def programme_series(
    store_estimates: pd.DataFrame, programmes: pd.DataFrame, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Cultivation in each programme's districts across all stored years.

    Per programme × crop × year, the sum of its districts' estimates with the SE of
    :func:`models.change.totals.sum_of_districts` (shared regional components add
    linearly, the rest in quadrature) and a normal interval (lower bound clipped at 0). A year in which some
    district has no estimate gets NaN area (a partial sum would look like a drop), with
    the missing districts in ``missing_districts``.

    Returns
    -------
    pandas.DataFrame
        ``programme_id, crop, year, area_ha, ci_low_ha, ci_high_ha, se_ha, n_districts,
        missing_districts, run_id``.
    """
    z = z_value(confidence)
    rows = []
    for y in sorted(store_estimates["year"].dropna().astype(int).unique()):
        table, run = estimates_of_year(store_estimates, y, z)
        for _, prog in programmes.iterrows():
            ids = district_ids_of(prog["district_ids"])
            for crop in CROPS_OF_INTEREST:
                hits = {d: find_estimate(table, d, crop) for d in ids}
                missing = [d for d, h in hits.items() if h is None]
                area = se = np.nan
                if ids and not missing:
                    area, se = sum_of_districts(
                        [float(h["area_ha"]) for h in hits.values()],
                        [float(h["se_ha"]) for h in hits.values()],
                        [h.get("shared_se_ha") for h in hits.values()],
                    )
                rows.append(
                    dict(
                        programme_id=prog["programme_id"],
                        crop=crop,
                        year=y,
                        area_ha=area,
                        ci_low_ha=max(0.0, area - z * se) if not np.isnan(area) else np.nan,
                        ci_high_ha=area + z * se,
                        se_ha=se,
                        n_districts=len(ids),
                        missing_districts=";".join(missing),
                        run_id=run,
                    )
                )
    columns = [
        "programme_id",
        "crop",
        "year",
        "area_ha",
        "ci_low_ha",
        "ci_high_ha",
        "se_ha",
        "n_districts",
        "missing_districts",
        "run_id",
    ]
    return pd.DataFrame(rows, columns=columns).sort_values(
        ["programme_id", "crop", "year"], ignore_index=True
    )


def programme_vs_other(
    estimates: pd.DataFrame,
    programmes: pd.DataFrame,
    *,
    baseline_year: int | None = None,
    year: int | None = None,
    districts: gpd.GeoDataFrame | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Difference in differences: mean change in programme vs other districts.

    Each district's change is its estimate in ``year`` minus that in ``baseline_year``.
    Programme districts are those any programme covers; the others are every other
    district with estimates in both years (restricted to ``districts`` when given).
    ``did_ha`` = mean change (programme) − mean change (other). Its interval is a Welch
    t interval from the spread of the district changes when each group has at least two
    districts (``interval_method`` ``"welch"``: it includes district-to-district
    variation), else a normal interval from the estimates' own SEs (``"sampling"``).

    Returns
    -------
    pandas.DataFrame
        ``crop, programme_mean_change_ha, other_mean_change_ha, did_ha, did_ci_low_ha,
        did_ci_high_ha, n_programme, n_other, interval_method, baseline_year, year``.
    """
    z = z_value(confidence)
    if year is None:
        year = int(estimates["year"].max())
    if baseline_year is None:
        baseline_year = int(pd.Series(programmes["baseline_year"]).dropna().astype(int).min())
    now, _ = estimates_of_year(estimates, year, z)
    then, _ = estimates_of_year(estimates, baseline_year, z)
    covered = {d for ids in programmes["district_ids"] for d in district_ids_of(ids)}
    pairs = now.merge(then, on=["district_id", "crop"], suffixes=("", "_base"))
    if districts is not None:
        pairs = pairs[pairs["district_id"].isin(set(districts["district_id"].astype(str)))]
    pairs["change"] = pairs["area_ha"] - pairs["area_ha_base"]
    pairs["var"] = pairs["se_ha"] ** 2 + pairs["se_ha_base"] ** 2
    rows = []
    for crop in CROPS_OF_INTEREST:
        sel = pairs[pairs["crop"] == crop]
        prog, other = sel[sel["district_id"].isin(covered)], sel[~sel["district_id"].isin(covered)]
        rows.append(
            _did_row(crop, prog, other, confidence, z)
            | dict(baseline_year=baseline_year, year=year)
        )
    return pd.DataFrame(rows)


def _did_row(
    crop: str, prog: pd.DataFrame, other: pd.DataFrame, confidence: float, z: float
) -> dict:
    n_p, n_o = len(prog), len(other)
    row: dict[str, Any] = dict(
        crop=crop,
        programme_mean_change_ha=prog["change"].mean() if n_p else np.nan,
        other_mean_change_ha=other["change"].mean() if n_o else np.nan,
    )
    row["did_ha"] = row["programme_mean_change_ha"] - row["other_mean_change_ha"]
    low = high = np.nan
    method = "none"
    if n_p >= 2 and n_o >= 2:
        vp, vo = prog["change"].var(ddof=1) / n_p, other["change"].var(ddof=1) / n_o
        se = math.sqrt(vp + vo)
        dof = (vp + vo) ** 2 / ((vp**2) / (n_p - 1) + (vo**2) / (n_o - 1)) if se > 0 else np.inf
        t = float(stats.t.ppf(0.5 + confidence / 2, dof))
        low, high, method = row["did_ha"] - t * se, row["did_ha"] + t * se, "welch"
    elif n_p and n_o:
        se = math.sqrt(prog["var"].sum() / n_p**2 + other["var"].sum() / n_o**2)
        low, high, method = row["did_ha"] - z * se, row["did_ha"] + z * se, "sampling"
    row.update(
        did_ci_low_ha=low, did_ci_high_ha=high, n_programme=n_p, n_other=n_o, interval_method=method
    )
    return row
