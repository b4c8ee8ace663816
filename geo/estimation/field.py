"""Eradication and production per district from survey plots and the area estimates.

Survey teams visit a sample of fields; each plot records ``crop``, ``status``
(``cultivated``/``eradicated``/...), its area (``measured_area_ha`` or the
polygon's geodesic area) and, on some fields, a yield in kg/ha of dry opium.

**Eradication.** Per district and crop, the area share of surveyed plots found
eradicated is a ratio estimate ``r = Σ e_i / Σ a_i`` (plot = unit, variance of
the ratio estimator). With the district's estimated cultivation ``A`` (the map
season shows fields before they are slashed) the table gives cultivation before
eradication ``A``, eradicated ``A·r`` and remaining ``A·(1 − r)`` with
intervals combining both uncertainties. Without estimates it reports the
recorded plots only (``method = recorded_plots``: a lower bound, not a district
total). A district with fewer than 2 surveyed plots of the crop uses the
regional share (``share_source = regional``), whose SE adds the between-district
spread of the shares to the regional sampling SE.

A district whose few plots include no eradicated one has ``r = 0`` and a ratio
SE of 0; publishing ``0 [0, 0]`` would claim certainty from three plots. The
share's SE is therefore never smaller than the Wilson interval on the plot
count implies (``geo.estimation.proportion.share_interval``); ``share_method``
says which bound set it (``ratio``, ``wilson``, ``wilson_none_seen``,
``wilson_all_seen``, prefixed ``regional_`` for a borrowed share).
``tests/benchmarks/bench_field_honesty.py`` measures the coverage.

**Production.** Production = harvested area × mean yield. The yield is the
district mean of plots with a measurement (standard error s/√n); with fewer
than ``min_yield_plots`` it is the regional mean with the between-district
variance added. Area and yield are independent, so
``V(AY) = Y²V(A) + A²V(Y) + V(A)V(Y)`` (Goodman 1960). Capsule counts and sizes
are converted only through a conversion the caller supplies (``capsule_yield``);
where no yield can be had the row says so (``yield_source = none``) and
production stays empty.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Geod

from core.errors import InvalidInputError
from core.legend import CROPS_OF_INTEREST
from geo.estimation.proportion import share_interval
from geo.estimation.stratified import z_value

__all__ = ["eradication_by_district", "production_estimates", "plots_by_zone", "OUTSIDE"]

logger = logging.getLogger(__name__)

OUTSIDE = "OUTSIDE"
"""``district_id`` of plots that fall in no district (reported, never dropped silently)."""

_GEOD = Geod(ellps="WGS84")


def _plot_area_ha(plots: gpd.GeoDataFrame) -> np.ndarray:
    """Measured area where recorded, else the polygon's true area; NaN for points."""
    measured = pd.to_numeric(plots.get("measured_area_ha"), errors="coerce")
    if measured is None or np.isscalar(measured):
        measured = pd.Series(np.nan, index=plots.index)
    if plots.crs is not None and plots.crs.is_geographic:
        geometric = np.array([abs(_GEOD.geometry_area_perimeter(g)[0]) if g is not None else 0.0
                              for g in plots.geometry]) / 1e4  # fmt: skip
    else:
        geometric = plots.geometry.area.to_numpy() / 1e4
    geometric = np.where(geometric > 0, geometric, np.nan)
    chosen = measured.to_numpy(dtype="float64")
    return np.where(np.isfinite(chosen) & (chosen > 0), chosen, geometric)


def plots_by_zone(
    plots: gpd.GeoDataFrame | str | os.PathLike[str],
    zones: gpd.GeoDataFrame | str | os.PathLike[str] | None,
    zone_id: str,
) -> gpd.GeoDataFrame:
    """Return plots with ``zone_id`` from a spatial join (or their own column) and ``area_ha``.

    Plots in no zone get ``OUTSIDE`` and a logged warning naming them.
    """
    if not isinstance(plots, gpd.GeoDataFrame):
        plots = gpd.read_file(plots)
    for column in ("crop", "status"):
        if column not in plots.columns:
            raise InvalidInputError(
                f"plots have no {column!r} column; columns: {list(plots.columns)}"
            )
    plots = plots.copy()
    plots["area_ha"] = _plot_area_ha(plots)
    if zones is not None:
        if not isinstance(zones, gpd.GeoDataFrame):
            zones = gpd.read_file(zones)
        if zone_id not in zones.columns:
            raise InvalidInputError(f"zones have no {zone_id!r} column")
        points = gpd.GeoDataFrame(geometry=plots.geometry.representative_point(), crs=plots.crs)
        joined = gpd.sjoin(
            points.to_crs(zones.crs), zones[[zone_id, "geometry"]], predicate="within"
        )
        joined = joined[~joined.index.duplicated()]
        plots[zone_id] = joined[zone_id].reindex(plots.index)
    elif zone_id not in plots.columns:
        raise InvalidInputError(f"plots have no {zone_id!r} column; pass zones to join them")
    outside = plots[zone_id].isna()
    if outside.any():
        ids = plots.loc[outside, "plot_id"] if "plot_id" in plots.columns else plots.index[outside]
        logger.warning("%d plots lie in no district and are reported as %s: %s",
                       int(outside.sum()), OUTSIDE, list(ids)[:20])  # fmt: skip
        plots.loc[outside, zone_id] = OUTSIDE
    return plots


def _ratio(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """Ratio Σnum/Σden over units and its standard error (ratio estimator)."""
    if den.size == 0 or den.sum() <= 0:
        return np.nan, np.nan
    r = num.sum() / den.sum()
    if den.size < 2:
        return r, np.nan
    resid = num - r * den
    return r, float(np.sqrt(resid.var(ddof=1) / den.size) / den.mean())


_SHARE_NOTES = {
    "ratio": "ratio-estimator SE",
    "wilson": "Wilson interval on the plot count, wider than the ratio SE",
    "wilson_none_seen": "no surveyed plot eradicated: Wilson upper bound on the plot count",
    "wilson_all_seen": "every surveyed plot eradicated: Wilson lower bound on the plot count",
}


def _product(a: float, va: float, b: float, vb: float) -> tuple[float, float]:
    """Product of two independent estimates and its variance (Goodman 1960)."""
    return a * b, b * b * va + a * a * vb + va * vb


def eradication_by_district(
    plots: gpd.GeoDataFrame | str | os.PathLike[str],
    zones: gpd.GeoDataFrame | str | os.PathLike[str] | None,
    zone_id: str = "district_id",
    *,
    estimates: pd.DataFrame | None = None,
    crops: Sequence[str] = CROPS_OF_INTEREST,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Report eradication per district and crop: recorded plots, share, and hectares.

    Parameters
    ----------
    plots : GeoDataFrame or path
        Survey plots with ``crop``, ``status`` and polygons or ``measured_area_ha``.
    zones : GeoDataFrame, path or None
        Districts for a spatial join; ``None`` uses the plots' ``zone_id`` column.
    zone_id : str
        District id column.
    estimates : DataFrame, optional
        ``district_estimates`` output; adds cultivation before/after eradication.
    crops : sequence of str
        Crops to report.
    confidence : float
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per district (every zone, zeros where nothing was surveyed) and crop:
        ``district_id, crop, surveyed_plots, surveyed_ha, eradicated_plots,
        recorded_eradicated_ha, eradicated_share, share_se, share_source, share_method,
        cultivation_ha, eradicated_ha, eradicated_ci_low_ha, eradicated_ci_high_ha,
        remaining_ha, remaining_se_ha, method, note``.
    """
    z = z_value(confidence)
    plots = plots_by_zone(plots, zones, zone_id)
    ids = list(pd.unique(plots[zone_id]))
    if zones is not None:
        zone_frame = zones if isinstance(zones, gpd.GeoDataFrame) else gpd.read_file(zones)
        ids = list(zone_frame[zone_id]) + ([OUTSIDE] if OUTSIDE in ids else [])
    rows = []
    for crop in crops:
        of_crop = plots[(plots["crop"] == crop) & np.isfinite(plots["area_ha"])]
        erad = (of_crop["status"] == "eradicated").to_numpy()
        area = of_crop["area_ha"].to_numpy()
        mine_of = {d: (of_crop[zone_id] == d).to_numpy() for d in ids}
        region = _regional_share(area, erad, mine_of.values(), z, confidence)
        for district in ids:
            mine = mine_of[district]
            share, ratio_se = _ratio(area[mine] * erad[mine], area[mine])
            if mine.sum() < 2 or not np.isfinite(ratio_se):
                share, share_se, method, source = (*region, "regional")
            else:
                share_se, method = share_interval(share, ratio_se, int(erad[mine].sum()),
                                                  int(mine.sum()), z, confidence)  # fmt: skip
                source = "district"
            rows.append(_eradication_row(district, crop, area[mine], erad[mine], share, share_se,
                                         source, method, estimates, z))  # fmt: skip
    table = pd.DataFrame(rows)
    return table.rename(columns={"district_id": zone_id}) if zone_id != "district_id" else table


def _regional_share(area, erad, masks, z, confidence) -> tuple[float, float, str]:
    """Regional share, its SE (sampling plus between-district spread) and share method.

    A district that borrows the regional share is not the region: its own share
    differs by the between-district spread, estimated from the districts with
    at least 2 plots (``regional`` method); without two such districts only the
    regional sampling SE is used.
    """
    share, ratio_se = _ratio(area * erad, area)
    if not np.isfinite(share):
        return np.nan, np.nan, "none"
    se, method = share_interval(share, ratio_se, int(erad.sum()), int(area.size), z, confidence)
    own = [(area[m] * erad[m]).sum() / area[m].sum() for m in masks if m.sum() >= 2]
    spread = float(np.var(own, ddof=1)) if len(own) >= 2 else 0.0
    return share, float(np.sqrt(se**2 + spread)), f"regional_{method}"


def _eradication_row(district, crop, area, erad, share, share_se, source, method, estimates,
                     z) -> dict:  # fmt: skip
    row = {
        "district_id": district, "crop": crop, "surveyed_plots": int(area.size),
        "surveyed_ha": float(area.sum()), "eradicated_plots": int(erad.sum()),
        "recorded_eradicated_ha": float(area[erad].sum()), "eradicated_share": share,
        "share_se": share_se, "share_source": source if np.isfinite(share) else "none",
        "share_method": method if np.isfinite(share) else "none",
        "cultivation_ha": np.nan, "eradicated_ha": float(area[erad].sum()),
        "eradicated_ci_low_ha": np.nan, "eradicated_ci_high_ha": np.nan,
        "remaining_ha": np.nan, "remaining_se_ha": np.nan, "method": "recorded_plots",
        "note": "sum of plots recorded as eradicated: a lower bound, not a district total",
    }  # fmt: skip
    if estimates is None or district == OUTSIDE:
        return row
    match = estimates[(estimates["district_id"] == district) & (estimates["crop"] == crop)]
    if match.empty or not np.isfinite(share):
        row["note"] = "no area estimate or no surveyed plots of this crop; recorded plots only"
        return row
    cultivated, cultivated_se = float(match["area_ha"].iloc[0]), float(match["se_ha"].iloc[0])
    va, vs = cultivated_se**2, share_se**2
    eradicated, var_e = _product(cultivated, va, share, vs)
    remaining, var_r = _product(cultivated, va, 1.0 - share, vs)
    row.update({
        "cultivation_ha": cultivated, "eradicated_ha": eradicated,
        "eradicated_ci_low_ha": max(0.0, eradicated - z * np.sqrt(var_e)),
        "eradicated_ci_high_ha": eradicated + z * np.sqrt(var_e),
        "remaining_ha": remaining, "remaining_se_ha": float(np.sqrt(var_r)),
        "method": "area_x_surveyed_share",
        "note": f"estimated cultivation x eradicated share of surveyed plots ({source} share, "
                f"{_SHARE_NOTES.get(method.removeprefix('regional_'), method)})",
    })  # fmt: skip
    return row


def _yields(plots, crop, yield_column, capsule_yield) -> tuple[pd.Series, str]:
    harvested = plots[(plots["crop"] == crop) & (plots["status"] != "eradicated")]
    note = ""
    values = pd.to_numeric(harvested.get(yield_column), errors="coerce")
    if values is None or np.isscalar(values):
        values = pd.Series(np.nan, index=harvested.index)
    capsule_cols = {"capsules_per_m2", "capsule_volume_cm3"}
    if capsule_cols <= set(harvested.columns):
        missing = values.isna()
        if capsule_yield is not None:
            converted = capsule_yield(
                pd.to_numeric(harvested["capsules_per_m2"], errors="coerce"),
                pd.to_numeric(harvested["capsule_volume_cm3"], errors="coerce"),
            )
            values = values.where(~missing, converted)
        elif harvested.loc[missing, list(capsule_cols)].notna().all(axis=1).any():
            note = "capsule measurements present but no capsule_yield conversion given; unused"
    values = values[np.isfinite(values) & (values >= 0)]
    return values, note


def _district_yield(values, zone_of, district, min_plots, region):
    mine = values[zone_of.reindex(values.index) == district]
    if mine.size >= min_plots:
        return (
            float(mine.mean()),
            float(mine.std(ddof=1) ** 2 / mine.size),
            int(mine.size),
            "district",
        )
    return (*region, "regional") if np.isfinite(region[0]) else (np.nan, np.nan, 0, "none")


def production_estimates(
    district_estimates: pd.DataFrame,
    plots: gpd.GeoDataFrame | str | os.PathLike[str],
    *,
    zones: gpd.GeoDataFrame | str | os.PathLike[str] | None = None,
    zone_id: str = "district_id",
    crop: str = "opium_poppy",
    yield_column: str = "yield_kg_ha",
    min_yield_plots: int = 2,
    eradication: pd.DataFrame | None = None,
    capsule_yield: Callable[[pd.Series, pd.Series], pd.Series] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Estimate production (kg) per district as harvested area × mean yield.

    Parameters
    ----------
    district_estimates : pandas.DataFrame
        ``district_estimates`` output (``district_id, crop, area_ha, se_ha``...).
    plots : GeoDataFrame or path
        Survey plots; yields are read from non-eradicated plots of ``crop``.
    zones, zone_id
        As in :func:`plots_by_zone`.
    crop : str
        Crop whose production is estimated.
    yield_column : str
        Dry opium yield per plot (kg/ha).
    min_yield_plots : int
        Plots a district needs for its own mean yield (else the regional mean).
    eradication : pandas.DataFrame, optional
        ``eradication_by_district(..., estimates=...)`` output: the harvested
        area is then ``remaining_ha`` (cultivation minus eradication).
    capsule_yield : callable, optional
        ``f(capsules_per_m2, capsule_volume_cm3) -> kg/ha``, a documented
        conversion (e.g. the survey's own regression); used where a plot has
        capsule measurements and no yield.
    confidence : float
        Confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        ``district_id, district_name, year, crop, harvested_ha, harvested_se_ha,
        mean_yield_kg_ha, yield_se_kg_ha, n_yield_plots, yield_source,
        production_kg, production_se_kg, ci_low_kg, ci_high_kg, note``;
        ``yield_source`` is ``district``, ``regional`` or ``none`` (production empty).
    """
    z = z_value(confidence)
    plots = plots_by_zone(plots, zones, zone_id)
    values, capsule_note = _yields(plots, crop, yield_column, capsule_yield)
    zone_of = plots[zone_id]
    region = (np.nan, np.nan, 0)
    if values.size >= min_yield_plots:
        means = values.groupby(zone_of.reindex(values.index)).agg(["mean", "size"])
        own = means[means["size"] >= min_yield_plots]["mean"]
        between = own.var(ddof=1) if own.size >= 2 else 0.0
        region = (float(values.mean()), float(values.var(ddof=1) / values.size + between),
                  int(values.size))  # fmt: skip
    rows = []
    for est in district_estimates[district_estimates["crop"] == crop].itertuples(index=False):
        area, area_var, area_note = float(est.area_ha), float(est.se_ha) ** 2, ""
        if eradication is not None:
            match = eradication[
                (eradication[zone_id] == est.district_id) & (eradication["crop"] == crop)
            ]
            if not match.empty and np.isfinite(match["remaining_ha"].iloc[0]):
                area, area_var = (
                    float(match["remaining_ha"].iloc[0]),
                    float(match["remaining_se_ha"].iloc[0]) ** 2,
                )
            else:
                area_note = "eradication not deducted (no estimate); "
        else:
            area_note = "cultivated area, eradication not deducted; "
        mean, mean_var, n_yield, source = _district_yield(values, zone_of, est.district_id,
                                                          min_yield_plots, region)  # fmt: skip
        row = {"district_id": est.district_id, "district_name": est.district_name,
               "year": est.year, "crop": crop, "harvested_ha": area,
               "harvested_se_ha": float(np.sqrt(area_var)), "mean_yield_kg_ha": mean,
               "yield_se_kg_ha": float(np.sqrt(mean_var)), "n_yield_plots": n_yield,
               "yield_source": source}  # fmt: skip
        if source == "none" or not np.isfinite(area):
            reason = (f"no yield measurements of {crop} in this district or the region"
                      if source == "none" else "no area estimate for this district")  # fmt: skip
            row.update(production_kg=np.nan, production_se_kg=np.nan, ci_low_kg=np.nan,
                       ci_high_kg=np.nan,
                       note=f"{reason}; production not estimated. {capsule_note}".strip())  # fmt: skip
        else:
            production, variance = _product(area, area_var, mean, mean_var)
            se = float(np.sqrt(variance))
            row.update(production_kg=production, production_se_kg=se,
                       ci_low_kg=max(0.0, production - z * se), ci_high_kg=production + z * se,
                       note=(area_note + (f"{source} mean yield" if source == "regional" else "")
                             + (" " + capsule_note if capsule_note else "")).strip())  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)
