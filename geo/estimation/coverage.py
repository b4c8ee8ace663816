"""Say what the map does not cover: the mapped share of each district, and empty districts.

Clouds, no-data stripes or a mosaic that stops short leave part of a district
without a valid map pixel. The estimators work on the mapped part only, so a
district row must say how much of the district that is: ``mapped_share`` is the
true area of valid map pixels (``zonal_class_area``) over the district's
geodesic area, and ``partly_mapped`` is set below ``MAPPED_SHARE_THRESHOLD``
(the note then says the estimate covers the mapped part only). A district with
no valid pixel and no reference point has nothing to estimate from: its row is
``not_estimable`` (area and interval NaN), never ``0 [0, 0]``.
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Geod

from geo.estimation.strata import zone_column

__all__ = ["describe_coverage", "district_area_ha", "MAPPED_SHARE_THRESHOLD"]

MAPPED_SHARE_THRESHOLD = 0.95
"""Below this share of a district with valid map pixels, ``partly_mapped`` is set."""

_GEOD = Geod(ellps="WGS84")
_EMPTY_NOTE = ("no valid map pixel and no reference point in this district (clouds, no data "
               "or outside the map): not estimable")  # fmt: skip


def district_area_ha(zones: gpd.GeoDataFrame, zone_id: str) -> pd.Series:
    """Geodesic area (ha) of each zone, indexed by ``zone_id``."""
    geographic = zones.to_crs(4326) if zones.crs is not None else zones
    area = [abs(_GEOD.geometry_area_perimeter(g)[0]) / 1e4 if g is not None else np.nan
            for g in geographic.geometry]  # fmt: skip
    return pd.Series(area, index=zones[zone_id].to_numpy(), dtype="float64")


def _zone_areas(zones, zone_id: str) -> pd.Series | None:
    if zones is None:
        return None
    if isinstance(zones, str | os.PathLike):
        zones = gpd.read_file(zones)
    if not isinstance(zones, gpd.GeoDataFrame) or zone_id not in zones.columns:
        return None
    if zones.crs is None:
        return None
    return district_area_ha(zones, zone_id)


def describe_coverage(
    table: pd.DataFrame,
    map_area: pd.DataFrame,
    zones,
    zone_id: str = "district_id",
    *,
    region_id: str | None = None,
    threshold: float = MAPPED_SHARE_THRESHOLD,
) -> pd.DataFrame:
    """Add ``mapped_share`` and ``partly_mapped`` to estimate rows; empty districts not estimable.

    Parameters
    ----------
    table : pandas.DataFrame
        ``district_estimates`` (or ``region_estimate``) rows.
    map_area : pandas.DataFrame
        ``zonal_class_area`` output the rows were estimated from.
    zones : GeoDataFrame, path or None
        Districts with geometry; without them ``mapped_share`` is NaN (unknown).
    zone_id : str
        District id column of ``map_area`` and ``zones``.
    region_id : str, optional
        The rows are region rows with this ``district_id``: shares over all districts.
    threshold : float
        ``partly_mapped`` below this share.

    Returns
    -------
    pandas.DataFrame
        ``table`` with ``mapped_share`` and ``partly_mapped`` appended.
    """
    column = zone_column(map_area, zone_id, "map_area")
    mapped = map_area.groupby(column)["area_ha"].sum()
    areas = _zone_areas(zones, zone_id)
    table = table.copy()
    if region_id is not None:
        mapped = pd.Series({region_id: mapped.sum()})
        if areas is not None:
            areas = pd.Series({region_id: areas.sum()})
    mapped_ha = table["district_id"].map(mapped).fillna(0.0).to_numpy(dtype="float64")
    if areas is None:
        share = np.full(len(table), np.nan)
    else:
        whole = table["district_id"].map(areas).to_numpy(dtype="float64")
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.clip(mapped_ha / whole, 0.0, 1.0)
    table["mapped_share"] = share
    table["partly_mapped"] = np.isfinite(share) & (share < threshold)
    empty = (mapped_ha <= 0) & (table["n_reference"].to_numpy() == 0)
    for index in np.flatnonzero(empty):
        label = table.index[index]
        table.loc[label, ["area_ha", "ci_low_ha", "ci_high_ha", "se_ha"]] = np.nan
        table.loc[label, "method"] = "not_estimable"
        table.loc[label, "note"] = _EMPTY_NOTE
    for index in np.flatnonzero(table["partly_mapped"].to_numpy() & ~empty):
        label = table.index[index]
        part = (f"only {share[index]:.0%} of the district has valid map pixels; the estimate "
                "covers that part only")  # fmt: skip
        note = table.loc[label, "note"]
        table.loc[label, "note"] = f"{note}; {part}" if isinstance(note, str) and note else part
    return table
