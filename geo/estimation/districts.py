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

Rare omission makes the plain variance too small where the sample cannot see
it: a district's forest stratum where 35 points found no poppy has ``p̂ = 0`` and
contributes no variance, yet the map misses some poppy in forest (the region's
points show it). The design-based domain variance (Olofsson et al. 2014; Stehman
2014) is therefore joined by a separate term, ``unseen_se_ha``: over the strata
where the district's sample holds none of the crop, the variance of the
proportion smoothed toward the region's rate with ``z²`` pseudo-observations
(``geo.estimation.district_variance``). With ``variance="design_unseen"`` (the
default) ``se_ha`` is the design SE, which the honesty benchmark found equal to the
true sampling SD, and the omission stays out of it (``unseen_se_ha``). Between two
survey years the omission is the same map error and cancels, so the change test
reads the design SE there; against a reported baseline it reads the full limits
(``models.change.intervals``). ``variance="unseen_in_se"`` puts both terms in one
symmetric ``se_ha = √(design SE² + unseen_se_ha²)``.

The limits are a separate choice (``interval``, column ``interval``): by default
(``mover_jeffreys_eb``, ``geo.estimation.mover``) each stratum gets Jeffreys limits
for its proportion, an empirical-Bayes upper limit where its points saw none of
the crop, and the district's (or region's) limits are their MOVER sum around
``area_ha``; ``interval="normal"`` gives ``area_ha ± z·se_ha`` (with
``design_unseen`` the unseen term widening the upper limit only). ``area_ha`` and
``se_ha`` do not depend on it. The other methods and the figures that chose
between them are in ``tests/benchmarks/README.md``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from core.errors import InvalidInputError
from core.legend import CROPS_OF_INTEREST, code_of, name_of
from geo.estimation.coverage import describe_coverage
from geo.estimation.design import stratum_name
from geo.estimation.district_variance import (
    VARIANCE_METHODS,
    interval,
    region_estimates,
    stratum_stats,
    zone_estimates,
)
from geo.estimation.mover import INTERVAL_METHODS, mover_interval, mover_limits
from geo.estimation.strata import tally, zone_column
from geo.estimation.stratified import z_value

__all__ = [
    "district_estimates",
    "region_estimate",
    "ESTIMATE_COLUMNS",
    "BORROW_MATERIAL_SHARE",
    "METHODS",
    "VARIANCE_METHODS",
    "INTERVAL_METHODS",
    "DEFAULT_INTERVAL",
]

logger = logging.getLogger(__name__)

ESTIMATE_COLUMNS = [
    "district_id", "district_name", "year", "crop", "area_ha", "ci_low_ha", "ci_high_ha",
    "method", "n_reference", "se_ha", "map_area_ha", "users_accuracy", "producers_accuracy",
    "borrowed_area_ha", "unseen_se_ha", "confidence", "note", "shared_se_ha", "interval",
]  # fmt: skip
"""Published column order; the first nine are the contract of ``district_estimates.csv``."""

BORROW_MATERIAL_SHARE = 0.01
"""Share of a district's mapped area in borrowed strata from which ``method`` is the fallback."""

METHODS = ("stratified", "regional_allocation", "not_estimable")
"""Values of the ``method`` column."""

DEFAULT_VARIANCE = "design_unseen"
"""Variance method of the published tables (chosen on the honesty benchmark's figures)."""


DEFAULT_INTERVAL = "mover_jeffreys_eb"
"""Interval method of the published tables (``geo.estimation.mover``; chosen on the benchmark)."""


def _check_variance(variance: str, interval: str | None = None) -> str:
    """Validate ``variance``; return the interval method (``None``: the default for it)."""
    if variance not in VARIANCE_METHODS:
        raise InvalidInputError(
            f"variance must be one of {list(VARIANCE_METHODS)}, got {variance!r}"
        )
    if interval is None:
        return "normal" if variance == "fay_herriot" else DEFAULT_INTERVAL
    if interval not in INTERVAL_METHODS:
        raise InvalidInputError(
            f"interval must be one of {list(INTERVAL_METHODS)}, got {interval!r}"
        )
    if variance == "fay_herriot" and interval != "normal":
        raise InvalidInputError(
            f"interval {interval!r} surrounds the stratified estimate; the Fay-Herriot "
            "EBLUP needs interval='normal'"
        )
    return interval


def _rows(design, level, crop, stats, z, min_per_stratum, variance, method) -> list[dict]:
    """Rows of ``crop``: one per zone (``level="zones"``) or one for the region."""
    j = design.codes.index(code_of(crop))
    if level == "region":
        estimate, var, unseen = (v[None] for v in region_estimates(design, stats, j, variance))
        borrowed = _borrowed_by_class(design, stats).sum(axis=0)[None]
        cap = design.area.sum()[None]
        groups = [np.arange(len(design.zones))]
    else:
        estimate, var, unseen, borrowed = zone_estimates(design, stats, j, variance)
        cap = design.area.sum(axis=-1)
        groups = [np.array([i]) for i in range(len(design.zones))]
    se, low, high = interval(estimate, var, z, cap, unseen if variance == "design_unseen" else 0)
    if method != "normal":
        down, up = mover_limits(design, stats, j, z, method, level=level)
        low, high = mover_interval(estimate, np.atleast_1d(down), np.atleast_1d(up), cap)
    return [
        {**_row(design, rows, j, stats, min_per_stratum,
                float(estimate[k]), float(se[k]), float(low[k]), float(high[k]),
                float(np.sqrt(unseen[k])), borrowed[k]), "interval": method}
        for k, rows in enumerate(groups)
    ]  # fmt: skip


def _borrowed_by_class(design, stats) -> np.ndarray:
    return np.where((design.area > 0) & ~stats.own, design.area, 0.0)


def _row(design, zone_rows, j, stats, min_per_stratum, estimate, se, low, high, unseen,
         borrowed) -> dict:  # fmt: skip
    crop = name_of(design.codes[j])
    own, p, region_p, n = stats.own, stats.p, stats.region_p, stats.n
    area = design.area[zone_rows]
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
    finite = np.isfinite(se)
    # Districts borrowing one class's regional proportion share its error: a sum of
    # them must add these parts linearly (models.change.totals.sum_of_districts).
    region_var = stats.region_var
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
        "ci_low_ha": low if finite else np.nan, "ci_high_ha": high if finite else np.nan,
        "method": method, "n_reference": int(n[zone_rows].sum()), "se_ha": se,
        "map_area_ha": mapped, "users_accuracy": users, "producers_accuracy": producers,
        "borrowed_area_ha": float(borrowed.sum()), "unseen_se_ha": unseen, "note": note,
        "shared_se_ha": shared,
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
    variance: str = DEFAULT_VARIANCE,
    interval: str | None = None,
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
    variance : str
        One of ``VARIANCE_METHODS`` (see ``geo.estimation.district_variance``):
        ``"design_unseen"`` (default: design SE, the unseen omission in
        ``unseen_se_ha``), ``"design"`` (plain Olofsson), ``"unseen_in_se"``,
        ``"smoothed"`` or ``"fay_herriot"``: what ``se_ha`` is.
    interval : str or None
        One of ``INTERVAL_METHODS`` (see ``geo.estimation.mover``): ``"normal"``
        (``area_ha ± z·se_ha``) or the MOVER sum of the strata's Wilson / Jeffreys /
        empirical-Bayes limits. ``None``: ``DEFAULT_INTERVAL`` (``"normal"`` with
        ``fay_herriot``). The ``interval`` column says which was used.

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
    method = _check_variance(variance, interval)
    design = tally(map_area, sample, zone_id, crops)
    stats = stratum_stats(design, design.counts, min_per_stratum, variance, z**2)
    names = _zone_names(zones, zone_id, zone_name)
    by_crop = [_rows(design, "zones", crop, stats, z, min_per_stratum, variance, method)
               for crop in crops]  # fmt: skip
    rows = []
    for index, zone in enumerate(design.zones):
        for crop_rows in by_crop:
            row = crop_rows[index]
            if row["method"] != "stratified":
                logger.warning("%s %s: %s: %s", zone, row["crop"], row["method"], row["note"])
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
    variance: str = DEFAULT_VARIANCE,
    interval: str | None = None,
    region_id: str = "ALL",
    region_name: str = "All districts",
) -> pd.DataFrame:
    """Estimate each crop's area over all districts together (rows with ``district_id`` "ALL").

    Every (district, map class) pair is a stratum; the same borrowing rules as
    ``district_estimates`` apply. Parameters and columns as there; the region row is
    always design-based (``variance="fay_herriot"`` gives the ``"smoothed"`` region row).

    Returns
    -------
    pandas.DataFrame
        One row per crop with ``ESTIMATE_COLUMNS``.
    """
    z = z_value(confidence)
    method = _check_variance(variance, interval)
    design = tally(map_area, sample, zone_id, crops)
    stats = stratum_stats(design, design.counts, min_per_stratum, variance, z**2)
    rows = [
        {"district_id": region_id, "district_name": region_name,
         **_rows(design, "region", crop, stats, z, min_per_stratum, variance, method)[0]}
        for crop in crops
    ]  # fmt: skip
    table = pd.DataFrame(rows)
    table["year"] = year
    table["confidence"] = confidence
    return describe_coverage(table[ESTIMATE_COLUMNS], map_area, zones, zone_id,
                             region_id=region_id)  # fmt: skip
