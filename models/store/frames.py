"""Conversions between (Geo)DataFrames and the store's rows."""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from models.errors import InvalidInputError

__all__ = ["json_records", "geometry_srid", "frame_from_rows", "to_int", "clean_value"]


def json_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the non-geometry columns of ``table`` as JSON-safe dicts (NaN as None, ISO dates)."""
    attributes = pd.DataFrame(table.drop(columns=_geometry_columns(table)))
    text = attributes.to_json(orient="records", date_format="iso", default_handler=str)
    return json.loads(text)


def _geometry_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if isinstance(table[c].dtype, gpd.array.GeometryDtype)]


def geometry_srid(frame: gpd.GeoDataFrame, what: str) -> tuple[gpd.GeoSeries, int]:
    """Return ``frame``'s geometries with their EPSG code set as SRID, and that code.

    A CRS with no EPSG code is reprojected to EPSG:4326 (every store can hold it).

    Raises
    ------
    InvalidInputError
        If ``frame`` has no CRS: the store never guesses one.
    """
    if frame.crs is None:
        raise InvalidInputError(f"{what}: the GeoDataFrame has no CRS; set one with .set_crs()")
    epsg = frame.crs.to_epsg()
    series = frame.geometry
    if epsg is None:
        series, epsg = series.to_crs(4326), 4326
    values = shapely.set_srid(np.asarray(series.values, dtype=object), epsg)
    return gpd.GeoSeries(values, index=frame.index, crs=f"EPSG:{epsg}"), epsg


def frame_from_rows(
    records: list[dict[str, Any]], geometries: list | None, srid: int | None
) -> pd.DataFrame:
    """Build a DataFrame (a GeoDataFrame when ``geometries`` holds any) from stored rows."""
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    if geometries is None or all(g is None for g in geometries):
        return frame
    crs = f"EPSG:{srid}" if srid and srid > 0 else None
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometries, crs=crs), crs=crs)


def to_int(value: Any) -> int | None:
    """Return ``value`` as an int, or None when it is missing or not a whole number."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def clean_value(value: Any) -> Any:
    """Return a value the database drivers accept (None for NaN/NaT, Python scalars)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
