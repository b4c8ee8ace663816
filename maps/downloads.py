"""Downloadable district estimates: CSV, GeoPackage and GeoJSON."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from core.io import spreadsheet_safe, write_table

__all__ = [
    "DOWNLOAD_NAMES",
    "SYNTHETIC_NOTE",
    "estimates_with_geometry",
    "published_table",
    "spreadsheet_safe",
    "write_published_table",
    "write_downloads",
]

logger = logging.getLogger(__name__)

DOWNLOAD_NAMES = {
    "csv": "district_estimates.csv",
    "gpkg": "district_estimates.gpkg",
    "geojson": "district_estimates.geojson",
}
"""File names of the downloads inside a run folder."""


SYNTHETIC_NOTE = "SYNTHETIC demo data from a generated region, not a real survey"
"""The ``data_note`` of every row of a synthetic run's published tables."""

_DECIMALS = (
    (("_kg",), 0),
    (("_ha", "_ha_per_km2", "_kg_ha", "_usd", "_pct", "_km2"), 1),
    (("share", "accuracy", "_low", "_high", "confidence"), 3),
)


def _decimals(column: str) -> int | None:
    for endings, places in _DECIMALS:
        if any(column.endswith(e) or (e == "share" and e in column) for e in endings):
            return places
    return None


def published_table(
    table: pd.DataFrame, *, run_id: str, synthetic: bool, survey_name: str = ""
) -> pd.DataFrame:
    """A run's table as it is published: rounded, and saying which survey and run it is.

    Hectares are rounded to 0.1 ha, kilograms to 1 kg, shares to 0.001 (a survey's
    precision is far coarser); the full precision stays in the run folder. Columns
    ``survey``, ``run_id``, ``synthetic`` and, for synthetic data, ``data_note`` are
    added so a forwarded file still says what it is.

    Examples
    --------
    >>> t = pd.DataFrame({"area_ha": [7.22416666666655]})
    >>> published_table(t, run_id="2025-x", synthetic=True)["area_ha"].tolist()
    [7.2]
    """
    out = table.copy()
    for column in out.columns:
        places = _decimals(str(column))
        if places is not None and pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(places)
    if survey_name:
        out["survey"] = survey_name
    out["run_id"] = run_id
    out["synthetic"] = bool(synthetic)
    if synthetic:
        out["data_note"] = SYNTHETIC_NOTE
    return out


def write_published_table(
    table: pd.DataFrame, path: Path, *, run_id: str, synthetic: bool, survey_name: str = ""
) -> Path:
    """Write :func:`published_table` of ``table`` to ``path`` (atomic, spreadsheet-safe)."""
    published = published_table(table, run_id=run_id, synthetic=synthetic, survey_name=survey_name)
    return write_table(published, path)  # write_table makes every CSV spreadsheet-safe


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
    label: dict | None = None,
) -> dict[str, Path]:
    """Write the district estimates as CSV, GeoPackage (district CRS) and GeoJSON (EPSG:4326).

    Files that already exist (the flow may have written them) are kept unless
    ``overwrite``. The CSV is :func:`core.io.spreadsheet_safe`. With ``label`` (``run_id``,
    ``synthetic``, ``survey_name``) the tables are written as :func:`published_table`
    makes them: rounded and marked.

    Returns
    -------
    dict
        ``{"csv": Path, "gpkg": Path, "geojson": Path}`` (existing or new).
    """
    paths = {kind: run_dir / name for kind, name in DOWNLOAD_NAMES.items()}
    if not overwrite and all(p.exists() for p in paths.values()):
        return paths
    if label is not None:
        district_estimates = published_table(district_estimates, **label)
    spatial = estimates_with_geometry(districts, district_estimates)
    if overwrite or not paths["csv"].exists():
        write_table(district_estimates, paths["csv"])  # spreadsheet-safe, as every CSV
    if overwrite or not paths["gpkg"].exists():
        write_table(spatial, paths["gpkg"], layer="district_estimates")
    if overwrite or not paths["geojson"].exists():
        write_table(spatial.to_crs("EPSG:4326"), paths["geojson"])
    logger.info("district estimate downloads in %s", run_dir)
    return paths
