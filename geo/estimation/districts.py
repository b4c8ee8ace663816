"""Per-district and regional crop area estimates from a class map and a reference sample.

Each district is estimated from its own strata (map class within district, plus
the buffer strata of ``geo.estimation.design`` when the sample has them: their area,
recorded in the sample, is moved out of their map class) with the Olofsson et
al. (2014) stratified estimator. A stratum with mapped area but
fewer than ``min_per_stratum`` own reference samples (and not taken whole)
borrows the regional reference proportions of its map class; its variance is
the larger of the pooled sampling variance and the between-district variance of
that proportion, so a borrowed stratum widens the interval. When borrowed
strata hold ``BORROW_MATERIAL_SHARE`` (1%) or more of the district's mapped
area, ``method`` is ``regional_allocation`` (else ``stratified``) and ``note``
names the borrowed classes. If the region itself has fewer than
``min_per_stratum`` samples of a needed map class, the row is
``not_estimable``: area NaN and the reason in ``note``, never a bare pixel count.

The regional total (``region_estimate``) treats every (district, class) pair as
a stratum, and counts borrowed strata of one class as fully correlated.

Rare omission makes the plain variance too small: a district's forest stratum
where 25 points found no poppy has ``p̂ = 0`` and contributes no variance, yet
the map misses some poppy in forest (the region's points show it). With
``regional_variance_floor`` (default) each stratum's ``p(1 − p)`` is the larger
of its own and that of ``p̃ = (p̂ + p_region) / 2``, the own and the pooled
regional proportion of its stratum with equal weight. The
point estimate is unchanged (design-unbiased); only the interval widens where
the district's own sample cannot see rare errors. The honesty benchmark
(``tests/benchmarks/bench_honesty.py``) shows the effect on coverage.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from core.errors import InvalidInputError
from core.legend import CROPS_OF_INTEREST, code_of
from geo.estimation.coverage import describe_coverage
from geo.estimation.design import stratum_name
from geo.estimation.strata import (
    Design,
    tally,
    zone_column,
)
from geo.estimation.stratified import z_value

__all__ = [
    "district_estimates",
    "region_estimate",
    "ESTIMATE_COLUMNS",
    "BORROW_MATERIAL_SHARE",
    "METHODS",
]

logger = logging.getLogger(__name__)

ESTIMATE_COLUMNS = [
    "district_id", "district_name", "year", "crop", "area_ha", "ci_low_ha", "ci_high_ha",
    "method", "n_reference", "se_ha", "map_area_ha", "users_accuracy", "producers_accuracy",
    "borrowed_area_ha", "confidence", "note", "shared_se_ha",
]  # fmt: skip
"""Published column order; the first nine are the contract of ``district_estimates.csv``."""

BORROW_MATERIAL_SHARE = 0.01
"""Share of a district's mapped area in borrowed strata from which ``method`` is the fallback."""

METHODS = ("stratified", "regional_allocation", "not_estimable")
"""Values of the ``method`` column."""


def _stratum_stats(design: Design, min_per_stratum: int, variance_floor: bool = True):
    """Return own proportions/variances per (zone, stratum), which are usable, and regional ones."""
    n = design.counts.sum(axis=2)
    census = (n >= design.sizes) & (n >= 1)
    own = (n >= min_per_stratum) | census
    p = design.counts / np.where(n > 0, n, 1.0)[..., None]
    fpc = np.where(np.isfinite(design.sizes), np.clip(1 - n / design.sizes, 0, 1), 1.0)
    shrink = np.where(census, 0.0, fpc / np.where(n > 1, n - 1.0, 1.0))
    var = p * (1 - p) * shrink[..., None]

    pooled = design.counts.sum(axis=0)
    pooled_n = pooled.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        region_p = np.where(
            (pooled_n >= min_per_stratum)[:, None], pooled / pooled_n[:, None], np.nan
        )
        region_var = region_p * (1 - region_p) / np.maximum(pooled_n - 1.0, 1.0)[:, None]
    for i in range(len(design.codes)):
        usable = own[:, i] & (n[:, i] >= 2)
        if usable.sum() >= 2:
            spread = np.var(p[usable, i, :], axis=0, ddof=1)
            region_var[i] = np.maximum(region_var[i], spread)
    if variance_floor:
        # A district stratum that found no poppy in 20 points has p̂ = 0 and variance 0,
        # yet the map misses some poppy in that class (the region's points show it). The
        # variance uses p̃ = (x + n p_region) / 2n, the own and regional rates with equal
        # weight, wherever that gives the larger p(1 - p); the estimate itself keeps p̂.
        pooled_p = np.nan_to_num(region_p)[None]
        blended = (p + pooled_p) / 2
        var = np.maximum(var, blended * (1 - blended) * shrink[..., None])
    return own, p, var, region_p, region_var, n


def _combine(area, own, p, var, region_p, region_var, j: int):
    """Estimate and variance of reference class ``j`` over a set of (zone, stratum) rows."""
    used = area > 0
    borrowed = used & ~own
    own_part = np.where(used & own, area * p[..., j], 0.0).sum()
    own_var = np.where(used & own, area**2 * var[..., j], 0.0).sum()
    borrowed_by_class = np.where(borrowed, area, 0.0).reshape(-1, area.shape[-1]).sum(axis=0)
    needed = borrowed_by_class > 0
    if np.isnan(region_p[needed, j]).any():
        return np.nan, np.nan, borrowed_by_class
    estimate = own_part + (borrowed_by_class[needed] * region_p[needed, j]).sum()
    variance = own_var + (borrowed_by_class[needed] ** 2 * region_var[needed, j]).sum()
    return estimate, variance, borrowed_by_class


def _row(design, zone_rows, crop, stats, z, min_per_stratum) -> dict:
    own, p, var, region_p, region_var, n = stats
    j = design.codes.index(code_of(crop))
    area = design.area[zone_rows]
    estimate, variance, borrowed = _combine(area, own[zone_rows], p[zone_rows], var[zone_rows],
                                            region_p, region_var, j)  # fmt: skip
    total_area = area.sum()
    names = [stratum_name(c) for c, b in zip(design.codes, borrowed, strict=True) if b > 0]
    method, note = "stratified", ""
    if names:
        note = (f"strata {names} ({borrowed.sum():.2f} ha) have < {min_per_stratum} own "
                "reference samples; regional reference proportions used")  # fmt: skip
        if borrowed.sum() >= BORROW_MATERIAL_SHARE * total_area:
            method = "regional_allocation"
    if not np.isfinite(estimate):
        method = "not_estimable"
        note = (f"map classes {names} need reference samples in this district or >= "
                f"{min_per_stratum} in the region; no estimate without them")  # fmt: skip
    se = float(np.sqrt(variance)) if np.isfinite(variance) else np.nan
    # Districts borrowing one class's regional proportion share its error: a sum of
    # them must add these parts linearly (models.change.totals.sum_of_districts).
    shared = ";".join(
        f"regional {stratum_name(c)}={b * np.sqrt(region_var[i, j]):.6g}"
        for i, (c, b) in enumerate(zip(design.codes, borrowed, strict=True))
        if b > 0 and np.isfinite(region_var[i, j])
    )
    mapped = float(area[..., j].sum())
    own_counts = design.counts[zone_rows].reshape(-1, len(design.codes), len(design.codes))
    crop_stratum = own_counts[:, j, :].sum(axis=0)
    users = crop_stratum[j] / crop_stratum.sum() if crop_stratum.sum() else np.nan
    producers = np.nan
    if np.isfinite(estimate) and estimate > 0:
        correct = np.where(
            own[zone_rows][..., j], area[..., j] * p[zone_rows][..., j, j], 0.0
        ).sum()
        correct += np.where(~own[zone_rows][..., j], area[..., j], 0.0).sum() * np.nan_to_num(
            region_p[j, j]
        )
        producers = correct / estimate
    return {
        "crop": crop, "area_ha": estimate,
        "ci_low_ha": max(0.0, estimate - z * se) if np.isfinite(se) else np.nan,
        "ci_high_ha": estimate + z * se if np.isfinite(se) else np.nan,
        "method": method, "n_reference": int(n[zone_rows].sum()), "se_ha": se,
        "map_area_ha": mapped, "users_accuracy": users, "producers_accuracy": producers,
        "borrowed_area_ha": float(borrowed.sum()), "note": note, "shared_se_ha": shared,
    }  # fmt: skip


def _zone_names(zones, zone_id: str, zone_name: str) -> dict:
    if zones is None:
        return {}
    if isinstance(zones, str | os.PathLike):
        zones = gpd.read_file(zones)
    if zone_id in zones.columns and zone_name in zones.columns:
        return dict(zip(zones[zone_id], zones[zone_name], strict=True))
    return {}


def district_estimates(
    map_area: pd.DataFrame,
    sample: pd.DataFrame,
    zones: gpd.GeoDataFrame | pd.DataFrame | str | os.PathLike[str] | None,
    *,
    zone_id: str = "district_id",
    zone_name: str = "district_name",
    year: int | None,
    crops: Sequence[str] = CROPS_OF_INTEREST,
    min_per_stratum: int = 2,
    confidence: float = 0.95,
    regional_variance_floor: bool = True,
) -> pd.DataFrame:
    """Estimate each crop's area per district with a confidence interval.

    Parameters
    ----------
    map_area : pandas.DataFrame
        ``zonal_class_area`` output (``<zone_id>`` or ``zone_id``, ``class``, ``area_ha``).
    sample : pandas.DataFrame or geopandas.GeoDataFrame
        Labelled reference sample: zone id, ``map_class`` (code),
        ``reference_class`` (legend name or code), optionally ``stratum_pixels``
        (from ``draw_reference_sample``: enables census strata and the finite
        population correction). Rows without a zone are ignored (logged).
    zones : GeoDataFrame, DataFrame, path or None
        Source of district names (``zone_name`` column); ids are used if absent.
    zone_id, zone_name : str
        Column names of the district id and name.
    year : int or None
        Survey year written into every row.
    crops : sequence of str
        Legend class names to report.
    min_per_stratum : int
        Own samples a stratum needs before it is estimated on its own.
    confidence : float
        Confidence level of ``ci_low_ha``/``ci_high_ha``.
    regional_variance_floor : bool
        In each stratum's variance ``p(1 − p)/(n − 1)`` use the regional
        proportion of that map class when it gives the larger value (see the
        module docstring); ``False`` gives the plain Olofsson variance.

    Returns
    -------
    pandas.DataFrame
        One row per district and crop with ``ESTIMATE_COLUMNS``; the first
        nine are ``district_id, district_name, year, crop, area_ha, ci_low_ha,
        ci_high_ha, method, n_reference``. ``ci_low_ha`` is clipped at 0.

    Raises
    ------
    InvalidInputError
        Missing columns, unknown classes, sample zones absent from ``map_area``.

    Examples
    --------
    >>> district_estimates(areas, labelled, districts, year=2025)  # doctest: +SKIP
    """
    if min_per_stratum < 2:
        raise InvalidInputError(
            f"min_per_stratum must be >= 2 (a variance needs 2), got {min_per_stratum}"
        )
    z = z_value(confidence)
    sample_zone = zone_column(sample, zone_id, "reference sample")
    outside = int(sample[sample_zone].isna().sum())
    if outside:
        logger.warning("%d reference samples lie outside every district and are not used", outside)
    design = tally(map_area, sample, zone_id, crops)
    stats = _stratum_stats(design, min_per_stratum, regional_variance_floor)
    names = _zone_names(zones, zone_id, zone_name)
    rows = []
    for index, zone in enumerate(design.zones):
        for crop in crops:
            row = _row(design, [index], crop, stats, z, min_per_stratum)
            if row["method"] != "stratified":
                logger.warning("%s %s: %s: %s", zone, crop, row["method"], row["note"])
            rows.append({"district_id": zone, "district_name": names.get(zone, zone), **row})
    table = pd.DataFrame(rows)
    table["year"] = year
    table["confidence"] = confidence
    return describe_coverage(table[ESTIMATE_COLUMNS], map_area, zones, zone_id)


def region_estimate(
    map_area: pd.DataFrame,
    sample: pd.DataFrame,
    zones: gpd.GeoDataFrame | pd.DataFrame | str | os.PathLike[str] | None = None,
    *,
    zone_id: str = "district_id",
    year: int | None,
    crops: Sequence[str] = CROPS_OF_INTEREST,
    min_per_stratum: int = 2,
    confidence: float = 0.95,
    regional_variance_floor: bool = True,
    region_id: str = "ALL",
    region_name: str = "All districts",
) -> pd.DataFrame:
    """Estimate each crop's area over all districts together (rows with ``district_id`` "ALL").

    Every (district, map class) pair is a stratum; the same borrowing rules as
    ``district_estimates`` apply. Parameters and columns as there.

    Returns
    -------
    pandas.DataFrame
        One row per crop with ``ESTIMATE_COLUMNS``.
    """
    z = z_value(confidence)
    design = tally(map_area, sample, zone_id, crops)
    stats = _stratum_stats(design, min_per_stratum, regional_variance_floor)
    every = list(range(len(design.zones)))
    rows = [
        {"district_id": region_id, "district_name": region_name,
         **_row(design, every, crop, stats, z, min_per_stratum)}
        for crop in crops
    ]  # fmt: skip
    table = pd.DataFrame(rows)
    table["year"] = year
    table["confidence"] = confidence
    return describe_coverage(table[ESTIMATE_COLUMNS], map_area, zones, zone_id,
                             region_id=region_id)  # fmt: skip
