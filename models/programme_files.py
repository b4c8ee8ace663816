"""Reading an AD programme table from the files programmes come in: CSV, Excel, GeoPackage/GeoJSON."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from core.errors import InvalidInputError

__all__ = ["REQUIRED_COLUMNS", "read_source", "normalise_columns"]


REQUIRED_COLUMNS = ("programme_id", "name", "start_date", "baseline_year")

_ALIASES = {
    "id": "programme_id",
    "programme": "programme_id",
    "program_id": "programme_id",
    "programme_name": "name",
    "districts": "district_ids",
    "district_id": "district_ids",
    "start": "start_date",
    "end": "end_date",
    "baseline_poppy_ha": "baseline_opium_poppy_ha",
    "income_per_capita": "income_per_capita_usd",
    "forest_ha": "forest_cover_ha",
    "land_tenure": "land_tenure_status",
    "wkt": "geometry_wkt",
}


def read_source(source: Path) -> tuple[pd.DataFrame, list[Any] | None, Any]:
    if not source.exists():
        raise InvalidInputError(f"{source}: no such programme file")
    suffix = source.suffix.lower()
    try:
        if suffix in {".csv", ".txt"}:
            return _read_csv(source), None, None
        if suffix in {".xlsx", ".xlsm"}:
            return _read_excel(source), None, None
        if suffix in {".gpkg", ".geojson", ".json", ".shp"}:
            return _read_vector(source)
    except InvalidInputError:
        raise
    except Exception as exc:  # a corrupt file: say which and why
        raise InvalidInputError(f"{source}: cannot read programme table ({exc})") from exc
    raise InvalidInputError(
        f"{source}: unsupported programme file type {suffix!r}; use .csv, .xlsx, .gpkg or .geojson"
    )


def _read_csv(source: Path) -> pd.DataFrame:
    with open(source, encoding="utf-8-sig", newline="") as fh:
        header = fh.readline()
    delimiter = ";" if header.count(";") > header.count(",") else ","
    return pd.read_csv(
        source,
        sep=delimiter,
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
        quoting=csv.QUOTE_MINIMAL,
    )


def _read_excel(source: Path) -> pd.DataFrame:
    sheets = pd.ExcelFile(source, engine="openpyxl").sheet_names
    sheet = next((s for s in sheets if s.strip().lower() == "programmes"), sheets[0])
    return pd.read_excel(source, sheet_name=sheet, dtype=object, engine="openpyxl")


def _read_vector(source: Path) -> tuple[pd.DataFrame, list[Any], Any]:
    if source.suffix.lower() == ".json" or source.suffix.lower() == ".geojson":
        # GeoJSON properties may hold arrays (district_ids); GDAL would stringify them.
        payload = json.loads(source.read_text(encoding="utf-8"))
        if payload.get("type") == "FeatureCollection":
            features = payload.get("features", [])
            table = pd.DataFrame([f.get("properties") or {} for f in features])
            geoms = [
                shapely.geometry.shape(f["geometry"]) if f.get("geometry") else None
                for f in features
            ]
            return table, geoms, "EPSG:4326"
    frame = gpd.read_file(source)
    return pd.DataFrame(frame.drop(columns="geometry")), list(frame.geometry), frame.crs


def normalise_columns(raw: pd.DataFrame, source: Path) -> pd.DataFrame:
    renamed = {}
    for col in raw.columns:
        key = re.sub(r"[\s\-/]+", "_", str(col).strip().lower())
        renamed[col] = _ALIASES.get(key, key)
    table = raw.rename(columns=renamed)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise InvalidInputError(
            f"{source.name}: missing column(s) {', '.join(missing)}; a programme table needs "
            f"at least {', '.join(REQUIRED_COLUMNS)} (found: {', '.join(map(str, raw.columns))})"
        )
    return table
