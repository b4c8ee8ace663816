"""Alternative Development programme baselines: read, validate, normalise.

A programme table lists one AD programme per row: who runs and funds it, when,
where (district ids and/or area polygons) and its baseline, the situation when
it started (illicit cultivation by crop, households, population, income per
person, alternative crops promoted, forest cover, land tenure). The same table
arrives as CSV (``,`` or ``;`` delimited), Excel (``.xlsx``, first sheet or a
sheet named ``programmes``), GeoPackage or GeoJSON (area polygons as geometry).

``load_programmes`` detects the kind, reads it through a small adapter, then
validates every row the way field data is validated: a bad row is rejected
with a :class:`~models.report.RowError` naming row, field and fix, the good
rows are returned.

Row numbers follow :mod:`models.report`: data rows from 1 (the first row after
the header; the first feature of a GeoPackage or GeoJSON).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely import wkt as shapely_wkt

from core.errors import InvalidInputError
from models.programme_files import normalise_columns, read_source
from models.programme_uncertainty import (
    BASELINE_UNCERTAINTY_COLUMNS,
    baseline_uncertainty_columns,
    validate_baseline_uncertainty,
)
from models.report import RowError, ValidationReport

__all__ = [
    "PROGRAMME_COLUMNS",
    "BASELINE_CROP_COLUMNS",
    "BASELINE_UNCERTAINTY_COLUMNS",
    "load_programmes",
    "programmes_to_table",
]

logger = logging.getLogger(__name__)

PROGRAMME_COLUMNS: tuple[str, ...] = (
    "programme_id",
    "name",
    "agency",
    "funder",
    "start_date",
    "end_date",
    "district_ids",
    "baseline_year",
    "baseline_opium_poppy_ha",
    "baseline_cannabis_ha",
    "households",
    "population",
    "income_per_capita_usd",
    "alternative_crops",
    "forest_cover_ha",
    "land_tenure_status",
)
"""Columns of the programme table, in order (then the optional
:data:`BASELINE_UNCERTAINTY_COLUMNS`, ``geometry`` and ``geometry_source``)."""

BASELINE_CROP_COLUMNS: dict[str, str] = {
    "opium_poppy": "baseline_opium_poppy_ha",
    "cannabis": "baseline_cannabis_ha",
}
"""Reported baseline cultivation column of each crop of interest."""

_NUMERIC_COLUMNS = (
    "baseline_opium_poppy_ha",
    "baseline_cannabis_ha",
    "households",
    "population",
    "income_per_capita_usd",
    "forest_cover_ha",
)
_INTEGER_COLUMNS = ("households", "population")
_EMPTY = {"", "na", "n/a", "nan", "none", "null", "-"}
_LIST_SPLIT = re.compile(r"[;,|]")


def load_programmes(
    path: str | os.PathLike[str],
    *,
    districts: gpd.GeoDataFrame | None = None,
    strict: bool = False,
) -> tuple[gpd.GeoDataFrame, Any]:
    """Read and validate an AD programme baseline table.

    Parameters
    ----------
    path
        ``.csv``, ``.xlsx``, ``.gpkg``, ``.geojson`` or ``.json`` file, one programme
        per row/feature with the columns of :data:`PROGRAMME_COLUMNS` (``district_ids``
        separated by ``;``, ``,`` or ``|``, or a JSON array in GeoJSON). CSV/Excel may
        carry area polygons as WKT in a ``geometry_wkt`` column.
    districts
        District polygons (``district_id``, geometry). When given, unknown district
        ids reject the row, and a programme without an area polygon gets the union
        of its districts' polygons as geometry.
    strict
        Raise :class:`~core.errors.InvalidInputError` if any row is rejected.

    Returns
    -------
    programmes : geopandas.GeoDataFrame
        Accepted rows with :data:`PROGRAMME_COLUMNS` (``district_ids`` a list of str,
        ``start_date``/``end_date`` :class:`datetime.date`, missing numbers NaN), plus
        ``geometry`` and ``geometry_source`` (``"area"`` for programme polygons,
        ``"districts"`` for the union of its districts, ``None``).
    report : models.report.ValidationReport
        Totals and one ``RowError`` per problem.

    Raises
    ------
    InvalidInputError
        The file cannot be read, lacks a required column, or (``strict``) a row is bad.

    Examples
    --------
    >>> programmes, report = load_programmes("data/examples/programmes.csv")  # doctest: +SKIP
    >>> report.rejected  # doctest: +SKIP
    0
    """

    source = Path(path)
    raw, geometry, crs = read_source(source)
    raw = normalise_columns(raw, source)
    known = set(districts["district_id"].astype(str)) if districts is not None else None

    records: list[dict[str, Any]] = []
    geoms: list[Any] = []
    errors: list[Any] = []
    seen: dict[str, int] = {}
    for i, (_, row) in enumerate(raw.iterrows()):
        row_no = i + 1
        record, row_errors = _validate_row(row.to_dict(), known)
        geom = geometry[i] if geometry is not None else record.pop("_wkt_geometry", None)
        record.pop("_wkt_geometry", None)
        pid = record.get("programme_id")
        if pid and pid in seen:
            row_errors.append(
                (
                    "programme_id",
                    f"programme_id {pid!r} already used in row {seen[pid]}; "
                    "give each programme one row with a unique id",
                )
            )
        if not record.get("district_ids") and (geom is None or shapely.is_empty(geom)):
            row_errors.append(
                (
                    "district_ids",
                    "no district_ids and no area polygon; "
                    "list the district ids the programme covers (e.g. 'D01;D02') or give its area",
                )
            )
        if row_errors:
            errors.extend(RowError(row_no, f, m) for f, m in row_errors)
            continue
        seen[pid] = row_no
        records.append(record)
        geoms.append(geom)

    programmes = _to_geodataframe(records, geoms, crs, districts)
    report = ValidationReport(source=source.name, total_rows=len(raw), errors=errors)
    _warn_missing_baselines(report, records, seen)
    logger.info("%s: %d programmes accepted, %d rejected", source, report.accepted, report.rejected)
    if strict and errors:
        raise InvalidInputError(f"{source.name}: " + "; ".join(str(e) for e in errors))
    return programmes, report


def _warn_missing_baselines(
    report: Any, records: list[dict[str, Any]], rows: dict[str, int]
) -> None:
    """Accepted programmes without a reported baseline: say what will happen instead."""
    for record in records:
        for crop, column in BASELINE_CROP_COLUMNS.items():
            if math.isnan(record[column]):
                report.warn(
                    rows[record["programme_id"]],
                    column,
                    f"no reported {crop} baseline for {record['programme_id']}; it will be "
                    f"derived from the {record['baseline_year']} district estimates",
                )
            elif all(math.isnan(record[c]) for c in baseline_uncertainty_columns(crop)):
                report.warn(
                    rows[record["programme_id"]],
                    column,
                    f"{record['programme_id']} {crop} baseline has no SE or interval "
                    f"({baseline_uncertainty_columns(crop)[0]}): treated as exact, and its "
                    "change verdicts say they are conditional on an exact baseline",
                )


def programmes_to_table(programmes: pd.DataFrame) -> pd.DataFrame:
    """Flatten a programme table for storage or CSV: lists joined with ``;``, dates ISO.

    The inverse of what :func:`load_programmes` parses, so a stored table reads back
    the same.
    """
    table = programmes.copy()
    table["district_ids"] = table["district_ids"].map(lambda ids: ";".join(ids or []))
    for col in ("start_date", "end_date"):
        table[col] = table[col].map(lambda d: d.isoformat() if isinstance(d, date) else None)
    return table


# -- adapters: one per source kind, each returns (attribute table, geometries, crs) --


# -- per-row validation --


def _validate_row(
    row: dict[str, Any], known: set[str] | None
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []

    def fail(field: str, problem: str) -> None:
        errors.append((field, f"{field} {problem}"))

    record: dict[str, Any] = {}
    for col in ("programme_id", "name", "agency", "funder", "land_tenure_status"):
        record[col] = _text(row.get(col))
    for col in ("programme_id", "name"):
        if record[col] is None:
            fail(col, "is empty; every programme needs one")
    if record["land_tenure_status"]:
        record["land_tenure_status"] = record["land_tenure_status"].lower()
    crops = _as_list(row.get("alternative_crops"))
    record["alternative_crops"] = ";".join(c.lower() for c in crops) if crops else None

    record["start_date"] = _date(row.get("start_date"))
    record["end_date"] = _date(row.get("end_date"))
    for col in ("start_date", "end_date"):
        if record[col] == "bad":
            fail(col, f"{row.get(col)!r} is not a date; write it as YYYY-MM-DD")
            record[col] = None
    if record["start_date"] is None and "start_date" not in {e[0] for e in errors}:
        fail("start_date", "is empty; give the date the programme started (YYYY-MM-DD)")
    if record["start_date"] and record["end_date"] and record["end_date"] < record["start_date"]:
        fail(
            "end_date",
            f"{record['end_date']} is before start_date {record['start_date']}; fix either",
        )

    year = _number(row.get("baseline_year"))
    if year is None or (isinstance(year, float) and math.isnan(year)):
        fail("baseline_year", "is empty; give the year of the baseline survey (e.g. 2024)")
    elif year == "bad" or year != int(year) or not 1990 <= int(year) <= 2100:
        fail("baseline_year", f"{row.get('baseline_year')!r} is not a year between 1990 and 2100")
    else:
        record["baseline_year"] = int(year)

    for col in _NUMERIC_COLUMNS:
        value = _number(row.get(col))
        if value == "bad":
            fail(col, f"{row.get(col)!r} is not a number; leave it empty if unknown")
            value = None
        elif value is not None and value < 0:
            fail(col, f"is negative ({value}); counts and areas are zero or more")
        elif value is not None and col in _INTEGER_COLUMNS and value != int(value):
            fail(col, f"{value} is not a whole number")
        record[col] = float("nan") if value is None else float(value)
    validate_baseline_uncertainty(row, record, _number, fail)

    ids = [d.strip() for d in _as_list(row.get("district_ids"))]
    if known is not None:
        unknown = [d for d in ids if d not in known]
        if unknown:
            fail(
                "district_ids",
                f"has unknown district(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
            )
    record["district_ids"] = ids

    wkt_text = _text(row.get("geometry_wkt"))
    record["_wkt_geometry"] = None
    if wkt_text:
        try:
            record["_wkt_geometry"] = shapely_wkt.loads(wkt_text)
        except shapely.errors.ShapelyError:
            fail("geometry_wkt", "is not valid WKT; give a POLYGON/MULTIPOLYGON in WKT")
    return record, errors


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return None if text.lower() in _EMPTY else text


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if _text(v)]
    text = _text(value)
    if text is None:
        return []
    if text.startswith("["):
        try:
            return [str(v).strip() for v in json.loads(text) if _text(v)]
        except json.JSONDecodeError:
            pass
    return [part.strip() for part in _LIST_SPLIT.split(text) if part.strip()]


def _number(value: Any) -> float | str | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return float(text.replace(" ", ""))
    except ValueError:
        return "bad"


def _date(value: Any) -> date | str | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return "bad"


def _to_geodataframe(
    records: list[dict[str, Any]],
    geoms: list[Any],
    crs: Any,
    districts: gpd.GeoDataFrame | None,
) -> gpd.GeoDataFrame:
    table = pd.DataFrame(records, columns=[*PROGRAMME_COLUMNS, *BASELINE_UNCERTAINTY_COLUMNS])
    table["baseline_year"] = table["baseline_year"].astype("Int64")
    source = ["area" if g is not None and not shapely.is_empty(g) else None for g in geoms]
    area = gpd.GeoSeries([g if s else None for g, s in zip(geoms, source, strict=True)], crs=crs)
    target_crs = districts.crs if districts is not None else crs
    if districts is not None and crs is not None and area.notna().any():
        area = area.to_crs(target_crs)
    if districts is not None:
        by_id = districts.set_index(districts["district_id"].astype(str)).geometry
        for i, ids in enumerate(table["district_ids"]):
            if source[i] is None and ids:
                area.iloc[i] = shapely.union_all([by_id[d] for d in ids])
                source[i] = "districts"
    table["geometry_source"] = source
    return gpd.GeoDataFrame(table, geometry=list(area), crs=target_crs)
