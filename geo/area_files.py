"""``admon estimate``: district estimates straight from a class map, a reference file and districts.

The reference file holds labelled points or plots (GeoJSON, GeoPackage,
Shapefile... anything pyogrio reads) with the class in ``reference_class``,
``land_cover`` or ``crop``. Each reference unit takes the map class under its
representative point; the zone is the district containing that point. The
stratified estimator assumes the reference units are a random sample within
each map-class stratum (as ``draw_reference_sample`` draws them); field plots
chosen otherwise give estimates only as good as that assumption, which the log
says.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from geo.area_inputs import open_class_map
from geo.io import atomic_path
from geo.landcover import CROPS_OF_INTEREST
from models.errors import InvalidInputError

__all__ = ["estimate_from_files", "REFERENCE_CLASS_COLUMNS"]

logger = logging.getLogger(__name__)

REFERENCE_CLASS_COLUMNS = ("reference_class", "land_cover", "crop")
"""Columns searched, in order, for the reference class of each unit."""


def _read_vector(source, what: str) -> gpd.GeoDataFrame:
    if isinstance(source, gpd.GeoDataFrame):
        return source
    path = Path(source)
    if not path.exists():
        raise InvalidInputError(f"{what} file {path} does not exist")
    try:
        return gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise InvalidInputError(
            f"{what} file {path} could not be read as vector data: {exc}"
        ) from exc


def _pick_zone_id(zones: gpd.GeoDataFrame, zone_id: str | None) -> str:
    if zone_id is not None:
        return zone_id
    for name in ("district_id", "zone_id"):
        if name in zones.columns:
            return name
    for name in zones.columns.drop("geometry"):
        if zones[name].notna().all() and zones[name].is_unique:
            logger.info("using zone id column %r (pass --zone-id to choose)", name)
            return str(name)
    raise InvalidInputError(
        f"cannot tell which zones column is the id (columns {list(zones.columns)}); pass --zone-id"
    )


SAMPLE_DESIGN_COLUMNS = (
    "stratum",
    "stratum_pixels",
    "stratum_area_ha",
    "stratum_sample_size",
    "inclusion_probability",
)
"""Columns of a ``draw_reference_sample`` output that describe the sampling design."""


def _reference_table(reference: gpd.GeoDataFrame, class_map: xr.DataArray, zones, zone_id):
    column = next((c for c in REFERENCE_CLASS_COLUMNS if c in reference.columns), None)
    if column is None:
        raise InvalidInputError(
            f"reference has none of the class columns {REFERENCE_CLASS_COLUMNS}; "
            f"columns are {list(reference.columns)}"
        )
    if reference.crs is None:
        raise InvalidInputError("reference file has no CRS; GeoJSON is EPSG:4326, set it if lost")
    ids = reference["plot_id"] if "plot_id" in reference.columns else pd.Series(reference.index)
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


def estimate_from_files(
    class_map: str | os.PathLike[str] | xr.DataArray,
    reference: str | os.PathLike[str] | gpd.GeoDataFrame,
    zones: str | os.PathLike[str] | gpd.GeoDataFrame,
    zone_id: str | None = None,
    *,
    zone_name: str | None = None,
    year: int | None = None,
    crops: Sequence[str] = CROPS_OF_INTEREST,
    min_per_stratum: int = 2,
    confidence: float = 0.95,
    include_region: bool = True,
    out: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Estimate crop areas per district (and in total) from files; optionally write a CSV.

    Parameters
    ----------
    class_map : path or DataArray
        Class map (``classes.tif``).
    reference : path or GeoDataFrame
        Labelled reference points or plots.
    zones : path or GeoDataFrame
        Districts.
    zone_id : str, optional
        District id column; guessed (``district_id``, ``zone_id``, first unique column).
    zone_name : str, optional
        District name column (``district_name`` when present).
    year : int, optional
        Year for the table; else the most common year of ``survey_date``.
    crops, min_per_stratum, confidence
        As in ``district_estimates``.
    include_region : bool
        Append the ``ALL`` rows of ``region_estimate``.
    out : path, optional
        CSV written atomically.

    Returns
    -------
    pandas.DataFrame
        ``district_estimates`` columns, one row per district and crop (+ ``ALL``).

    Examples
    --------
    >>> estimate_from_files("classes.tif", "plots.geojson", "districts.gpkg")  # doctest: +SKIP
    """
    from geo.area import zonal_class_area  # geo.area re-exports this module's function
    from geo.zone_estimates import district_estimates, region_estimate

    class_map = open_class_map(class_map)
    zones = _read_vector(zones, "zones")
    reference = _read_vector(reference, "reference")
    zone_id = _pick_zone_id(zones, zone_id)
    zone_name = zone_name or ("district_name" if "district_name" in zones.columns else zone_id)
    if year is None and "survey_date" in reference.columns:
        years = pd.to_datetime(reference["survey_date"], errors="coerce").dt.year.dropna()
        year = int(years.mode().iloc[0]) if not years.empty else None
    sample, column = _reference_table(reference, class_map, zones, zone_id)
    logger.info("reference class from %r; %d units; estimates assume a stratified random "
                "sample by map class", column, len(sample))  # fmt: skip
    map_area = zonal_class_area(class_map, zones, zone_id)
    options = {"zone_id": zone_id, "year": year, "crops": crops,
               "min_per_stratum": min_per_stratum, "confidence": confidence}  # fmt: skip
    table = district_estimates(map_area, sample, zones, zone_name=zone_name, **options)
    if include_region:
        table = pd.concat([table, region_estimate(map_area, sample, zones, **options)],
                          ignore_index=True)  # fmt: skip
    if out is not None:
        with atomic_path(out) as tmp:
            table.to_csv(tmp, index=False)
    return table
