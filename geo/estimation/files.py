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
import pandas as pd
import xarray as xr

from core.errors import InvalidInputError
from core.io import write_table
from core.legend import CROPS_OF_INTEREST
from geo.estimation.districts import district_estimates, region_estimate
from geo.estimation.inputs import open_class_map
from geo.estimation.map_area import zonal_class_area
from geo.estimation.reference import reference_units

__all__ = ["estimate_from_files"]

logger = logging.getLogger(__name__)


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
    class_map = open_class_map(class_map)
    zones = _read_vector(zones, "zones")
    reference = _read_vector(reference, "reference")
    zone_id = _pick_zone_id(zones, zone_id)
    zone_name = zone_name or ("district_name" if "district_name" in zones.columns else zone_id)
    if year is None and "survey_date" in reference.columns:
        years = pd.to_datetime(reference["survey_date"], errors="coerce").dt.year.dropna()
        year = int(years.mode().iloc[0]) if not years.empty else None
    sample, column = reference_units(reference, class_map, zones, zone_id)
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
        write_table(table, out)
    return table
