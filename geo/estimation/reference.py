"""Reference units on the map: the map class (stratum) and the district of each labelled unit.

One function, :func:`reference_units`, used by every path that estimates from a
labelled reference file (``admon estimate`` and the annual flow alike).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from core.errors import InvalidInputError

__all__ = ["reference_units", "REFERENCE_CLASS_COLUMNS", "SAMPLE_DESIGN_COLUMNS"]

logger = logging.getLogger(__name__)

REFERENCE_CLASS_COLUMNS = ("reference_class", "land_cover", "crop")
"""Columns searched, in order, for the reference class of each unit."""

SAMPLE_DESIGN_COLUMNS = (
    "stratum",
    "stratum_pixels",
    "stratum_area_ha",
    "stratum_sample_size",
    "inclusion_probability",
)
"""Columns of a ``draw_reference_sample`` output that describe the sampling design."""


def reference_units(
    reference: gpd.GeoDataFrame, class_map: xr.DataArray, zones: gpd.GeoDataFrame, zone_id: str
) -> tuple[gpd.GeoDataFrame, str]:
    """Give each labelled reference unit its map class and its zone.

    The one mapping from a reference unit (point or plot) to the map: each unit
    takes the class of the map pixel under its representative point (a point
    inside the polygon, never a centroid outside it) and the zone that contains
    that point. Units off the map or on no data are dropped with a warning that
    names them; the design columns of a sample drawn by
    :func:`~geo.estimation.design.draw_reference_sample` are kept, so the
    estimators see its strata and their true sizes.

    Parameters
    ----------
    reference : geopandas.GeoDataFrame
        Labelled units with one of ``REFERENCE_CLASS_COLUMNS`` and a CRS.
    class_map : xarray.DataArray
        The map (``open_class_map``).
    zones : geopandas.GeoDataFrame
        Districts with ``zone_id``.
    zone_id : str
        Zone id column; the result has it too.

    Returns
    -------
    (geopandas.GeoDataFrame, str)
        Columns ``sample_id`` (the unit's ``sample_id``, else ``plot_id``, else its row),
        ``map_class, reference_class, <design columns>, <zone_id>``
        with point geometry in the map's CRS, and the name of the column the
        reference class was read from.

    Raises
    ------
    InvalidInputError
        No class column, no CRS, no unit on a valid pixel or inside a zone.
    """
    column = next((c for c in REFERENCE_CLASS_COLUMNS if c in reference.columns), None)
    if column is None:
        raise InvalidInputError(
            f"reference has none of the class columns {REFERENCE_CLASS_COLUMNS}; "
            f"columns are {list(reference.columns)}"
        )
    if reference.crs is None:
        raise InvalidInputError("reference file has no CRS; GeoJSON is EPSG:4326, set it if lost")
    id_column = next((c for c in ("sample_id", "plot_id") if c in reference.columns), None)
    ids = reference[id_column] if id_column else pd.Series(reference.index)
    points = reference.geometry.representative_point().to_crs(class_map.rio.crs)
    transform = class_map.rio.transform()
    cols = np.floor((points.x.to_numpy() - transform.c) / transform.a).astype("int64")
    rows = np.floor((points.y.to_numpy() - transform.f) / transform.e).astype("int64")
    inside = (
        (rows >= 0) & (rows < class_map.rio.height) & (cols >= 0) & (cols < class_map.rio.width)
    )
    map_class = np.full(len(points), -1, dtype="int64")
    if inside.any():
        picked = class_map.isel(
            y=xr.DataArray(rows[inside], dims="unit"), x=xr.DataArray(cols[inside], dims="unit")
        )
        map_class[inside] = np.asarray(picked.values, dtype="int64")
    usable = inside & (map_class != class_map.rio.nodata) & (map_class != 0)
    if not usable.all():
        logger.warning("%d reference units are off the map or on no data and are not used: %s",
                       int((~usable).sum()), list(ids[~usable])[:20])  # fmt: skip
    if not usable.any():
        raise InvalidInputError("no reference unit lies on a valid class-map pixel")
    table = gpd.GeoDataFrame(
        {"sample_id": ids.to_numpy()[usable], "map_class": map_class[usable],
         "reference_class": reference[column].to_numpy()[usable]},
        geometry=points[usable].to_numpy(), crs=class_map.rio.crs,
    )  # fmt: skip
    # A sample drawn by draw_reference_sample carries its design (buffer strata and their
    # true sizes); keep it, or the estimate would be re-stratified by map class alone.
    for design in SAMPLE_DESIGN_COLUMNS:
        if design in reference.columns:
            table[design] = reference[design].to_numpy()[usable]
    joined = gpd.sjoin(table, zones[[zone_id, "geometry"]].to_crs(table.crs), predicate="within")
    table[zone_id] = joined[zone_id][~joined.index.duplicated()].reindex(table.index)
    if table[zone_id].isna().all():
        raise InvalidInputError(
            "no reference unit lies inside any zone; check the reference file and districts"
        )
    return table, column
