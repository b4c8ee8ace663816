"""Input checks shared by the area functions: the class map and the zones.

``open_class_map`` turns a path or DataArray into a lazy 2-D class raster with
its nodata set; ``prepare_zones`` reads, checks and reprojects district
polygons; ``check_overlap`` fails early when zones and map do not meet.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio.errors
import rioxarray
import xarray as xr
from shapely.geometry import box

from core.errors import InvalidInputError
from core.legend import NODATA

__all__ = ["open_class_map", "prepare_zones", "check_overlap", "WINDOW_PX"]

logger = logging.getLogger(__name__)

WINDOW_PX = 1024
"""Edge of the dask chunks / windows read from the class map (pixels); bounds memory."""


def open_class_map(class_map: str | os.PathLike[str] | xr.DataArray) -> xr.DataArray:
    """Return a class map as a lazy 2-D ``(y, x)`` DataArray with its nodata value set.

    Parameters
    ----------
    class_map : path or xarray.DataArray
        A single-band raster of integer class codes. A raster without a nodata
        value gets the legend's ``0``.

    Returns
    -------
    xarray.DataArray
        Dask-backed when read from a file.

    Raises
    ------
    InvalidInputError
        Missing file, several bands, a non-integer type or no CRS.
    """
    if isinstance(class_map, xr.DataArray):
        data, label = class_map, class_map.name or "class map"
    else:
        label = str(class_map)
        remote = "://" in label  # a COG behind a URL (GDAL's /vsicurl/) has no local path
        if not remote and not Path(class_map).exists():
            raise InvalidInputError(
                f"class map {label} does not exist; pass the classes.tif of a run"
            )
        try:
            data = rioxarray.open_rasterio(class_map, chunks={"x": WINDOW_PX, "y": WINDOW_PX})
        except rasterio.errors.RasterioIOError as exc:
            raise InvalidInputError(f"class map {label} cannot be read as a raster: {exc}") from exc
    if "band" in data.dims:
        if data.sizes["band"] != 1:
            raise InvalidInputError(
                f"{label} has {data.sizes['band']} bands; a class map has exactly one"
            )
        data = data.squeeze("band", drop=True)
    if data.dims != ("y", "x"):
        raise InvalidInputError(f"{label} has dims {data.dims}; expected ('y', 'x')")
    if not np.issubdtype(data.dtype, np.integer):
        raise InvalidInputError(
            f"{label} has dtype {data.dtype}; class codes must be integers (uint8 legend codes)"
        )
    if data.rio.crs is None:
        raise InvalidInputError(f"{label} has no CRS; write one before measuring areas")
    if data.rio.nodata is None:
        data = data.rio.write_nodata(NODATA)
    return data


def prepare_zones(
    zones: gpd.GeoDataFrame | str | os.PathLike[str], zone_id: str, crs: object
) -> gpd.GeoDataFrame:
    """Read zones if needed, check the id column (present, unique, set), reproject to ``crs``."""
    if not isinstance(zones, gpd.GeoDataFrame):
        zones = gpd.read_file(zones)
    if zone_id not in zones.columns:
        raise InvalidInputError(
            f"zones have no column {zone_id!r}; columns are {list(zones.columns)}; "
            "pass the district id field as zone_id"
        )
    if zones.crs is None:
        raise InvalidInputError("zones have no CRS; set it (e.g. gdf.set_crs(...)) first")
    missing = zones[zone_id].isna()
    if missing.any():
        raise InvalidInputError(
            f"zones rows {list(np.flatnonzero(missing))} have no {zone_id}; every zone needs an id"
        )
    duplicated = zones[zone_id][zones[zone_id].duplicated()].unique()
    if len(duplicated):
        raise InvalidInputError(f"zone ids repeat: {list(duplicated)}; dissolve them first")
    zones = zones[[zone_id, "geometry"]].copy()
    zones = zones[~zones.geometry.is_empty & zones.geometry.notna()]
    if zones.crs != crs:
        logger.info("reprojecting %d zones from %s to %s", len(zones), zones.crs, crs)
        zones = zones.to_crs(crs)
    return zones.reset_index(drop=True)


def check_overlap(zones: gpd.GeoDataFrame, class_map: xr.DataArray) -> None:
    """Raise ``InvalidInputError`` when no zone meets the raster's bounds."""
    raster_box = box(*class_map.rio.bounds())
    if not zones.geometry.intersects(raster_box).any():
        raster_bounds = tuple(round(v, 3) for v in raster_box.bounds)
        zone_bounds = tuple(round(float(v), 3) for v in zones.total_bounds)
        raise InvalidInputError(
            f"no zone overlaps the class map (raster bounds {raster_bounds}, zone bounds "
            f"{zone_bounds} in {class_map.rio.crs}); "
            "check that zones and map cover the same region"
        )
