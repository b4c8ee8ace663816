"""The analysis grid of a run: the districts' extent, in metres, at ``grid.resolution_m``.

Districts often come in WGS 84 (HDX, geoBoundaries, MIMU); a grid taken in
their CRS would have degree-sized pixels. :func:`grid_for` picks a metric CRS
(``grid.crs``, EPSG:6933 with ``grid.equal_area``, the districts' own projected
CRS, or the UTM zone of their area) and refuses, naming the key, anything that
would give degree pixels or an absurdly small grid.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
from rasterio.crs import CRS
from rasterio.errors import CRSError

from core.errors import ConfigError
from flows.config import RunConfig
from geo.grid import AnalysisGrid

__all__ = ["MIN_GRID_PIXELS", "grid_for", "require_crs"]

log = logging.getLogger(__name__)


MIN_GRID_PIXELS = 100
"""Fewest pixels a run's grid may have: fewer means the pixel size is wrong for the area."""


def grid_for(config: RunConfig, districts_path: str | Path) -> AnalysisGrid:
    """The analysis grid of a run: the districts' extent at ``grid.resolution_m``, in metres.

    The CRS is ``grid.crs`` when given (it must be projected, in metres); otherwise
    EPSG:6933 with ``grid.equal_area = true``; otherwise the districts' own CRS when it
    is projected in metres, and the UTM zone of their area when they come in degrees
    (WGS 84 boundaries from HDX, geoBoundaries or MIMU).

    Raises
    ------
    ConfigError
        The districts have no CRS, ``grid.crs`` is not a metric CRS, or the grid would
        have fewer than :data:`MIN_GRID_PIXELS` pixels; the message names the key.
    """
    districts = gpd.read_file(districts_path)
    source = config.path(config.inputs.districts)
    require_crs(districts, source)
    settings = config.grid
    resolution = settings.resolution_m
    if settings.crs:
        crs = _metric_crs(settings.crs, "grid.crs")
        bounds = tuple(districts.to_crs(crs).total_bounds)
        grid = AnalysisGrid.from_bounds(bounds, crs=crs, resolution=resolution)
    elif settings.equal_area or districts.crs.is_geographic:
        grid = AnalysisGrid.for_area(
            tuple(districts.total_bounds), districts.crs, resolution, settings.equal_area
        )
        log.info("analysis grid in %s (districts are in %s)", grid.crs, districts.crs)
    else:
        crs = _metric_crs(districts.crs, f"inputs.districts {source} CRS")
        grid = AnalysisGrid.from_bounds(
            tuple(districts.total_bounds), crs=crs, resolution=resolution
        )
    if grid.width * grid.height < MIN_GRID_PIXELS:
        raise ConfigError(
            f"grid.resolution_m = {resolution:g} gives the districts a grid of only "
            f"{grid.width} x {grid.height} pixels in {grid.crs.to_string()}; "
            "the resolution is in metres (10 for Sentinel-2, 30 for Landsat)"
        )
    return grid


def require_crs(districts: gpd.GeoDataFrame, source: str | Path) -> None:
    """Refuse districts without a CRS, naming the file and how to give it one.

    Raises
    ------
    ConfigError
        ``districts`` declares no CRS (TopoJSON, a shapefile without ``.prj``).
    """
    if districts.crs is None:
        raise ConfigError(
            f"inputs.districts {source}: the file declares no CRS (TopoJSON and some "
            "shapefiles without .prj carry none); save it with one, e.g. "
            "ogr2ogr -a_srs EPSG:4326 districts.gpkg <file>"
        )


def _metric_crs(value: Any, key: str) -> Any:
    """``value`` as a projected CRS in metres, or a ConfigError naming ``key``."""
    try:
        crs = CRS.from_user_input(value)
    except CRSError as exc:
        raise ConfigError(
            f"{key} = {value!r} is not a CRS ({exc}); give e.g. 'EPSG:32647'"
        ) from exc
    if crs.is_geographic:
        raise ConfigError(
            f"{key} = {crs.to_string()} is in degrees; an analysis grid must be metric: "
            "remove grid.crs to use the UTM zone of the districts, set grid.equal_area = true, "
            "or give a projected CRS such as 'EPSG:32647'"
        )
    units = (crs.linear_units or "").lower()
    if units not in ("metre", "meter", "m"):
        raise ConfigError(
            f"{key} = {crs.to_string()} has {units or 'unknown'} units; grid.resolution_m is "
            "in metres: give a CRS in metres (e.g. the UTM zone, or set grid.equal_area = true)"
        )
    return crs
