"""Difference in differences as an evaluator reads it: programme vs other districts.

AD programmes go where cultivation is highest, and a district picked for a high
*estimated* baseline tends to show a fall the next year with no effect at all: its
baseline estimate was high partly by sampling error (regression to the mean). So beside
the plain difference of mean changes (``did_ha``, Welch interval) each crop row carries

- ``did_adjusted_ha``: the programme coefficient of the regression
  ``change_d = a + τ·programme_d + β·baseline_d`` over all districts (analysis of
  covariance; Laird 1983, *American Statistician* 37: 329), which compares programme
  districts with others *of the same baseline*; its interval is a t interval (``n − 3``
  degrees of freedom) with the heteroscedasticity-consistent HC3 standard error, since
  the high-baseline programme districts vary more. This is what ``verdict`` reads.
- relative change: ``programme_change_pct``/``other_change_pct`` (100 × Σ change /
  Σ baseline per group) and ``did_pct``, their difference, with a ratio-estimator
  interval (districts as the sample: ``Var(R) = Σ (c_d − R b_d)² / (n (n − 1) b̄²)``);
  and ``did_adjusted_pct`` = 100 × τ / mean programme baseline.
- a pre-trend check when the estimates hold ≥ 2 pre-programme years (the baseline year
  and an earlier one): the same adjusted estimate from the earliest year to the baseline
  year, where no programme acted yet, should contain 0 (``pretrend``).
- ``p_value`` (of the adjusted estimate) and ``p_holm``, Holm's correction over the crop
  rows of the run.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from core.legend import CROPS_OF_INTEREST
from models.change.inputs import district_ids_of, estimates_of_year, z_value
from models.change.intervals import holm

__all__ = ["programme_vs_other", "DID_VERDICTS"]

DID_VERDICTS = (
    "programme districts fell more",
    "programme districts rose more",
    "no detectable difference",
    "not estimable",
)
"""Values of ``verdict`` in ``programme_vs_other.csv``."""


def _pairs(estimates, start: int, end: int, covered, districts, z) -> pd.DataFrame:
    now, _ = estimates_of_year(estimates, end, z)
    then, _ = estimates_of_year(estimates, start, z)
    pairs = now.merge(then, on=["district_id", "crop"], suffixes=("", "_base"))
    pairs = pairs[pairs["area_ha"].notna() & pairs["area_ha_base"].notna()]
    if districts is not None:
        pairs = pairs[pairs["district_id"].isin(set(districts["district_id"].astype(str)))]
    pairs = pairs.assign(
        change=pairs["area_ha"] - pairs["area_ha_base"],
        var=pairs["se_ha"] ** 2 + pairs["se_ha_base"] ** 2,
        treated=pairs["district_id"].isin(covered).astype(float),
    )
    return pairs


def _adjusted(pairs: pd.DataFrame, confidence: float) -> tuple[float, float, float, float]:
    """τ, its interval and p-value from OLS of change on [1, programme, baseline] (HC3 SE)."""
    n = len(pairs)
    if n < 4 or pairs["treated"].nunique() < 2:
        return (np.nan,) * 4
    design = np.column_stack([np.ones(n), pairs["treated"], pairs["area_ha_base"]])
    y = pairs["change"].to_numpy(float)
    coef, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    if rank < 3:
        return (np.nan,) * 4
    dof = n - 3
    resid = y - design @ coef
    # HC3 (MacKinnon & White 1985; Long & Ervin 2000 for small n): programme districts
    # (the largest) vary more than the others, and one pooled residual variance
    # understates τ's SE; with HC2 the wide case of bench_change_honesty.py still
    # declared 5.8% effective (one-sided, 2.5% nominal)
    bread = np.linalg.inv(design.T @ design)
    leverage = np.einsum("ij,jk,ik->i", design, bread, design)
    meat = design.T @ (design * (resid**2 / np.clip(1 - leverage, 1e-12, None) ** 2)[:, None])
    se = math.sqrt(max(float((bread @ meat @ bread)[1, 1]), 0.0))
    t = float(stats.t.ppf(0.5 + confidence / 2, dof))
    p = float(2 * stats.t.sf(abs(coef[1]) / se, dof)) if se > 0 else float(coef[1] == 0)
    return float(coef[1]), float(coef[1] - t * se), float(coef[1] + t * se), p


def _relative(group: pd.DataFrame) -> tuple[float, float]:
    """100 × Σ change / Σ baseline of a group of districts, and its ratio-estimator SE."""
    base = group["area_ha_base"].sum()
    if len(group) == 0 or not base > 0:
        return np.nan, np.nan
    ratio = group["change"].sum() / base
    n = len(group)
    if n < 2:
        return 100 * ratio, np.nan
    residual = group["change"] - ratio * group["area_ha_base"]
    var = float((residual**2).sum()) / (n * (n - 1) * (base / n) ** 2)
    return 100 * ratio, 100 * math.sqrt(var)


def _welch(prog: pd.DataFrame, other: pd.DataFrame, confidence: float, z: float):
    """Plain difference of mean changes and its interval (Welch, else sampling errors)."""
    n_p, n_o = len(prog), len(other)
    did = prog["change"].mean() - other["change"].mean() if n_p and n_o else np.nan
    if n_p >= 2 and n_o >= 2:
        vp, vo = prog["change"].var(ddof=1) / n_p, other["change"].var(ddof=1) / n_o
        se = math.sqrt(vp + vo)
        dof = (vp + vo) ** 2 / ((vp**2) / (n_p - 1) + (vo**2) / (n_o - 1)) if se > 0 else np.inf
        t = float(stats.t.ppf(0.5 + confidence / 2, dof))
        return did, did - t * se, did + t * se, "welch"
    if n_p and n_o:
        se = math.sqrt(prog["var"].sum() / n_p**2 + other["var"].sum() / n_o**2)
        return did, did - z * se, did + z * se, "sampling"
    return did, np.nan, np.nan, "none"


def _did_row(pairs: pd.DataFrame, crop: str, confidence: float, z: float) -> dict[str, Any]:
    sel = pairs[pairs["crop"] == crop]
    prog, other = sel[sel["treated"] > 0], sel[sel["treated"] == 0]
    did, low, high, method = _welch(prog, other, confidence, z)
    tau, tau_low, tau_high, p = _adjusted(sel, confidence)
    rel_p, rel_p_se = _relative(prog)
    rel_o, rel_o_se = _relative(other)
    rel_se = math.hypot(rel_p_se, rel_o_se)
    base_mean = prog["area_ha_base"].mean() if len(prog) else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 100 / base_mean if base_mean > 0 else np.nan
    return dict(
        crop=crop,
        programme_mean_change_ha=prog["change"].mean() if len(prog) else np.nan,
        other_mean_change_ha=other["change"].mean() if len(other) else np.nan,
        did_ha=did,
        did_ci_low_ha=low,
        did_ci_high_ha=high,
        n_programme=len(prog),
        n_other=len(other),
        interval_method=method,
        did_adjusted_ha=tau,
        did_adjusted_ci_low_ha=tau_low,
        did_adjusted_ci_high_ha=tau_high,
        did_adjusted_pct=tau * scale,
        programme_change_pct=rel_p,
        other_change_pct=rel_o,
        did_pct=rel_p - rel_o,
        did_pct_ci_low=rel_p - rel_o - z * rel_se,
        did_pct_ci_high=rel_p - rel_o + z * rel_se,
        p_value=p,
    )


def _verdict(row: dict[str, Any]) -> str:
    low, high = row["did_adjusted_ci_low_ha"], row["did_adjusted_ci_high_ha"]
    if not (np.isfinite(low) and np.isfinite(high)):
        return "not estimable"
    if high < 0:
        return "programme districts fell more"
    if low > 0:
        return "programme districts rose more"
    return "no detectable difference"


def programme_vs_other(
    estimates: pd.DataFrame,
    programmes: pd.DataFrame,
    *,
    baseline_year: int | None = None,
    year: int | None = None,
    districts: gpd.GeoDataFrame | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Difference in differences: change in programme vs other districts (see module doc).

    Programme districts are those any programme covers; the others are every other
    district with estimates in both years (restricted to ``districts`` when given).
    ``did_ha`` = mean change (programme) − mean change (other), with a Welch t interval
    when each group has ≥ 2 districts (``interval_method`` ``"welch"``), else a normal
    one from the estimates' SEs (``"sampling"``). ``did_adjusted_ha`` compares districts
    of equal baseline and decides ``verdict``.

    Returns
    -------
    pandas.DataFrame
        One row per crop: ``crop, programme_mean_change_ha, other_mean_change_ha, did_ha,
        did_ci_low_ha, did_ci_high_ha, n_programme, n_other, interval_method,
        did_adjusted_ha, did_adjusted_ci_low_ha, did_adjusted_ci_high_ha,
        did_adjusted_pct, programme_change_pct, other_change_pct, did_pct,
        did_pct_ci_low, did_pct_ci_high, p_value, p_holm, verdict, pretrend_did_ha,
        pretrend_ci_low_ha, pretrend_ci_high_ha, pretrend, baseline_year, year``.
    """
    z = z_value(confidence)
    if year is None:
        year = int(estimates["year"].max())
    if baseline_year is None:
        baseline_year = int(pd.Series(programmes["baseline_year"]).dropna().astype(int).min())
    covered = {d for ids in programmes["district_ids"] for d in district_ids_of(ids)}
    pairs = _pairs(estimates, baseline_year, year, covered, districts, z)
    years = sorted(int(y) for y in estimates["year"].dropna().unique())
    earlier = [y for y in years if y < baseline_year]
    placebo = (
        _pairs(estimates, earlier[0], baseline_year, covered, districts, z) if earlier else None
    )
    rows = []
    for crop in CROPS_OF_INTEREST:
        row = _did_row(pairs, crop, confidence, z)
        row["verdict"] = _verdict(row)
        row.update(_pretrend(placebo, crop, confidence, z, earlier, baseline_year))
        rows.append(row | dict(baseline_year=baseline_year, year=year))
    table = pd.DataFrame(rows)
    table.insert(table.columns.get_loc("p_value") + 1, "p_holm", holm(table["p_value"]))
    return table


def _pretrend(placebo, crop, confidence, z, earlier, baseline_year) -> dict[str, Any]:
    """The adjusted estimate over pre-programme years, where it should contain 0."""
    empty = dict(pretrend_did_ha=np.nan, pretrend_ci_low_ha=np.nan, pretrend_ci_high_ha=np.nan)
    if placebo is None:
        return empty | dict(pretrend=f"not checked: only 1 pre-programme year ({baseline_year})")
    first = earlier[0]
    tau, low, high, _ = _adjusted(placebo[placebo["crop"] == crop], confidence)
    if not np.isfinite(low):
        return empty | dict(pretrend=f"not estimable over {first}-{baseline_year}")
    found = "no detectable pre-trend"
    if high < 0 or low > 0:
        found = "pre-trend: programme districts already " + ("fell" if high < 0 else "rose")
    return dict(
        pretrend_did_ha=tau,
        pretrend_ci_low_ha=low,
        pretrend_ci_high_ha=high,
        pretrend=f"{found} ({first}-{baseline_year})",
    )
