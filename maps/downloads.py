"""Downloadable district estimates: CSV, GeoPackage and GeoJSON."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from core.io import write_table

__all__ = ["DOWNLOAD_NAMES", "estimates_with_geometry", "write_downloads"]

logger = logging.getLogger(__name__)

DOWNLOAD_NAMES = {
    "csv": "district_estimates.csv",
    "gpkg": "district_estimates.gpkg",
    "geojson": "district_estimates.geojson",
}
"""File names of the downloads inside a run folder."""


def estimates_with_geometry(
    districts: gpd.GeoDataFrame, district_estimates: pd.DataFrame
) -> gpd.GeoDataFrame:
    """The long estimates table (one row per district and crop) with each district's polygon."""
    shapes = districts[["district_id", "geometry"]]
    merged = district_estimates.merge(shapes, on="district_id", how="left", validate="many_to_one")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=districts.crs)


def write_downloads(
    run_dir: Path,
    districts: gpd.GeoDataFrame,
    district_estimates: pd.DataFrame,
    *,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the district estimates as CSV, GeoPackage (district CRS) and GeoJSON (EPSG:4326).

    Files that already exist (the flow may have written them) are kept unless
    ``overwrite``.

    Returns
    -------
    dict
        ``{"csv": Path, "gpkg": Path, "geojson": Path}`` (existing or new).
    """
    paths = {kind: run_dir / name for kind, name in DOWNLOAD_NAMES.items()}
    if not overwrite and all(p.exists() for p in paths.values()):
        return paths
    spatial = estimates_with_geometry(districts, district_estimates)
    if overwrite or not paths["csv"].exists():
        write_table(district_estimates, paths["csv"])
    if overwrite or not paths["gpkg"].exists():
        write_table(spatial, paths["gpkg"], layer="district_estimates")
    if overwrite or not paths["geojson"].exists():
        write_table(spatial.to_crs("EPSG:4326"), paths["geojson"])
    logger.info("district estimate downloads in %s", run_dir)
    return paths
