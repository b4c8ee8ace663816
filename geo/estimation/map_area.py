"""Mapped area per zone: how many hectares of each map class lie in each district.

Exact pixel coverage fractions at district edges (exactextract) times the true
area of each pixel (``geo.estimation.pixel_area``). ``zone_class_rows`` measures
one batch of districts (the flow maps it over batches in parallel) and
``combine_zone_class_rows`` assembles the batches into the ``zonal_class_area``
table.
"""

from __future__ import annotations

import logging
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from exactextract import exact_extract

from core.errors import InvalidInputError
from geo.estimation.inputs import WINDOW_PX, check_overlap, open_class_map, prepare_zones
from geo.estimation.pixel_area import M2_PER_HA, pixel_area_ha, row_pixel_area_m2

__all__ = ["zonal_class_area", "zone_class_rows", "combine_zone_class_rows"]

logger = logging.getLogger(__name__)


def zonal_class_area(
    class_map: str | os.PathLike[str] | xr.DataArray,
    zones: gpd.GeoDataFrame | str | os.PathLike[str],
    zone_id: str,
) -> pd.DataFrame:
    """Return the mapped area (ha) of each class in each zone.

    Pixels cut by a zone edge count with their exact covered fraction
    (exactextract); each pixel counts with its true area (constant in a
    projected CRS, per row on the ellipsoid in a geographic CRS). Zones in
    another CRS are reprojected to the raster's.

    Parameters
    ----------
    class_map : path or xarray.DataArray
        Integer class codes (legend codes), nodata excluded.
    zones : geopandas.GeoDataFrame or path
        Polygons with an id column.
    zone_id : str
        Name of the id column; it is also the first column of the result.

    Returns
    -------
    pandas.DataFrame
        Columns ``<zone_id>, class, area_ha``: one row per zone and per class
        seen anywhere in the zones, explicit ``0.0`` where a class is absent; a
        zone without valid pixels gets zero rows for every class and a warning.

    Raises
    ------
    InvalidInputError
        No zone overlaps the raster, the map has no valid pixel inside the
        zones, or the inputs are malformed.

    Examples
    --------
    >>> zonal_class_area("classes.tif", "districts.gpkg", "district_id")  # doctest: +SKIP
      district_id  class  area_ha
    0         D01      1    12.34
    """
    class_map = open_class_map(class_map)
    zones = prepare_zones(zones, zone_id, class_map.rio.crs)
    check_overlap(zones, class_map)
    return combine_zone_class_rows([zone_class_rows(class_map, zones, zone_id)], zones, zone_id)


def zone_class_rows(
    class_map: str | os.PathLike[str] | xr.DataArray,
    zones: gpd.GeoDataFrame | str | os.PathLike[str],
    zone_id: str,
) -> pd.DataFrame:
    """The classes found in each zone and their hectares, for one batch of zones.

    The part of :func:`zonal_class_area` that reads the map, for running batches of
    districts as parallel tasks: each reads only the windows of its own zones. It
    returns only the classes present (no zero rows) and no error for a batch without
    valid pixels; :func:`combine_zone_class_rows` assembles the batches into exactly
    what ``zonal_class_area`` returns for all zones at once.

    Returns
    -------
    pandas.DataFrame
        Columns ``<zone_id>, class, area_ha``.
    """
    source = class_map
    class_map = open_class_map(class_map)
    zones = prepare_zones(zones, zone_id, class_map.rio.crs)
    if _on_the_file(source, class_map):
        return _rows_from_file(str(source), class_map, zones, zone_id)
    weights = pixel_area_ha(class_map, chunks=WINDOW_PX)
    # weighted_sum / weighted_mean of the class values = Σ coverage × pixel area over valid
    # pixels (class codes are >= 1, so the mean is never 0); weighted_frac splits it by class.
    stats = exact_extract(
        class_map,
        zones,
        ["unique", "weighted_frac", "weighted_sum", "weighted_mean"],
        weights=weights,
        include_cols=[zone_id],
        output="pandas",
    )
    rows: list[tuple[object, int, float]] = []
    for record in stats.itertuples(index=False):
        codes = np.asarray(record.unique, dtype="int64")
        if codes.size == 0 or not np.isfinite(record.weighted_mean) or record.weighted_mean == 0:
            continue
        valid_ha = float(record.weighted_sum) / float(record.weighted_mean)
        for code, frac in zip(
            codes, np.asarray(record.weighted_frac, dtype="float64"), strict=True
        ):
            rows.append((getattr(record, zone_id), int(code), frac * valid_ha))
    return pd.DataFrame(rows, columns=[zone_id, "class", "area_ha"])


def _on_the_file(source: object, class_map: xr.DataArray) -> bool:
    """Whether exactextract can read the file itself: a path, with its own nodata, every
    pixel the same area (a projected CRS)."""
    if isinstance(source, xr.DataArray) or class_map.rio.crs.is_geographic:
        return False
    with rasterio.open(source) as src:
        return src.nodata is not None


def _rows_from_file(
    path: str, class_map: xr.DataArray, zones: gpd.GeoDataFrame, zone_id: str
) -> pd.DataFrame:
    """:func:`zone_class_rows` with exactextract reading the raster file directly.

    Every pixel has the same area, so the hectares of a class are its share of the
    covered valid pixels (``frac``) times their coverage-weighted number (``count``)
    times the pixel area: the weighted statistics with a constant weight.
    """
    transform = class_map.rio.transform()
    pixel_ha = float(row_pixel_area_m2(transform, 1, class_map.rio.crs)[0]) / M2_PER_HA
    stats = exact_extract(
        path, zones, ["unique", "frac", "count"], include_cols=[zone_id], output="pandas"
    )
    rows: list[tuple[object, int, float]] = []
    for record in stats.itertuples(index=False):
        codes = np.asarray(record.unique, dtype="int64")
        if codes.size == 0 or not np.isfinite(record.count) or record.count == 0:
            continue
        valid_ha = float(record.count) * pixel_ha
        for code, frac in zip(codes, np.asarray(record.frac, dtype="float64"), strict=True):
            rows.append((getattr(record, zone_id), int(code), frac * valid_ha))
    return pd.DataFrame(rows, columns=[zone_id, "class", "area_ha"])


def combine_zone_class_rows(
    parts: list[pd.DataFrame], zones: gpd.GeoDataFrame, zone_id: str
) -> pd.DataFrame:
    """One :func:`zonal_class_area` table from the :func:`zone_class_rows` of batches of ``zones``.

    Every zone gets a row for every class seen in any zone (``0.0`` where absent), in
    the order of ``zones``; zones without a valid pixel are named in a warning.

    Raises
    ------
    InvalidInputError
        No zone has a valid pixel.
    """
    nonempty = [part for part in parts if len(part)]
    if not nonempty:
        raise InvalidInputError(
            f"class map has no valid (non-nodata) pixel inside any of the {len(zones)} zones; "
            "check the map's nodata value and that it covers the districts"
        )
    found = pd.concat(nonempty, ignore_index=True)
    empty_zones = [z for z in zones[zone_id].tolist() if z not in set(found[zone_id])]
    if empty_zones:
        logger.warning(
            "zones %s have no valid class-map pixel (outside the raster or all nodata); "
            "they are reported with 0 ha for every class",
            empty_zones,
        )
    grid = pd.MultiIndex.from_product(
        [zones[zone_id].tolist(), sorted(found["class"].unique())], names=[zone_id, "class"]
    )
    table = found.groupby([zone_id, "class"])["area_ha"].sum().reindex(grid, fill_value=0.0)
    return table.reset_index()
