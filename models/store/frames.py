"""Conversions between (Geo)DataFrames and the store's rows."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from core.errors import InvalidInputError

__all__ = [
    "json_records",
    "geometry_srid",
    "frame_from_rows",
    "to_int",
    "clean_value",
    "utc_now",
    "column_kinds",
    "restore_kinds",
]


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


def frame_from_rows(frame: pd.DataFrame, geometries: list | None, srid: int | None) -> pd.DataFrame:
    """Return ``frame`` as a GeoDataFrame when ``geometries`` holds any, else unchanged."""
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


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with a ``Z`` (GeoPackage DATETIME form)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def column_kinds(table: pd.DataFrame) -> list[tuple[str, str]]:
    """Return ``(column, kind)`` for the non-geometry columns, in order.

    ``kind`` is what JSON loses: the dtype of numeric, boolean and datetime
    columns (``int64``, ``Int64``, ``bool``, ``datetime64[ns, UTC]``...), ``date``
    for columns of Python dates, ``""`` for columns JSON keeps as they are.
    """
    kinds = []
    geometry = set(_geometry_columns(table))
    for name in table.columns:
        if name in geometry:
            continue
        dtype = table[name].dtype
        if (
            pd.api.types.is_datetime64_any_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_numeric_dtype(dtype)
        ):
            kind = str(dtype)
        elif _all_dates(table[name]):
            kind = "date"
        else:
            kind = ""
        kinds.append((str(name), kind))
    return kinds


def _all_dates(column: pd.Series) -> bool:
    values = column.dropna()
    return (
        column.dtype == object
        and len(values) > 0
        and all(isinstance(v, date) and not isinstance(v, datetime) for v in values)
    )


def restore_kinds(frame: pd.DataFrame, kinds: list[tuple[str, str]]) -> pd.DataFrame:
    """Put columns back in their stored order and dtypes (see :func:`column_kinds`)."""
    if frame.empty and not len(frame.columns):
        return frame
    for name, kind in kinds:
        if name in frame.columns and kind:
            frame[name] = _restore(frame[name], kind)
    ordered = [name for name, _ in kinds if name in frame.columns]
    return frame[ordered + [c for c in frame.columns if c not in ordered]]


def _restore(values: pd.Series, kind: str) -> pd.Series:
    if kind == "date":
        return values.map(_to_date).astype(object)
    if kind.startswith("datetime64"):
        timezone = kind.partition(",")[2].strip(" ]")
        moments = pd.to_datetime(values, utc=bool(timezone))
        return moments.dt.tz_convert(timezone) if timezone else moments.astype(kind)
    numbers = values if kind in ("bool", "boolean") else pd.to_numeric(values)
    try:
        return numbers.astype(kind)
    except (TypeError, ValueError):  # missing values in a numpy int/bool column
        return numbers.astype("boolean" if "bool" in kind else "Int64")


def _to_date(value: Any) -> date | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return date.fromisoformat(str(value)[:10])
