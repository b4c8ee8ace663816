"""CSV adapter: plain tables with lon/lat or WKT, and ODK Central / KoboToolbox exports.

Geometry is looked for in this order, per row: a geoshape or geotrace text
column (``"lat lon alt acc;..."``), a WKT column, a geopoint text column, then a
longitude/latitude column pair (bare names or ODK/Kobo split geopoints).
A row whose chosen geometry value is present but unreadable is rejected with
the reason; the other rows are still read.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from core.errors import InvalidInputError
from models.field.base import RawPlots
from models.field.columns import export_flavour, find_lonlat_columns, header_key
from models.field.geotext import (
    GeoTextError,
    looks_like_odk_geo,
    looks_like_wkt,
    parse_odk_geo,
    parse_wkt,
)
from models.field.safety import check_file_size, decode_text

if TYPE_CHECKING:
    from models.field.profile import FormProfile

__all__ = [
    "read_csv_plots",
    "read_csv_table",
    "plots_from_table",
    "sniff_delimiter",
    "unique_headers",
    "drop_hxl_row",
]

logger = logging.getLogger(__name__)

_DETECT_SHARE = 0.5  # a column is a geometry column when most filled cells look like one


def sniff_delimiter(text: str) -> str:
    """Return the delimiter of a CSV text (``,``, ``;``, tab or ``|``) judged from its header."""
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in ",;\t|"}
        return max(counts, key=counts.get) if any(counts.values()) else ","


def read_csv_table(
    path: Path, *, max_rows: int, source: str | None = None
) -> tuple[pd.DataFrame, list[tuple[int, str, str]], str | None]:
    """Read any CSV as text columns indexed by 1-based data row.

    Returns the table, the rows with more fields than the header (``(row, "row", reason)``)
    and the encoding warning, if the file was not UTF-8.
    """
    name = source or path.name
    check_file_size(path)
    text, encoding_warning = decode_text(path.read_bytes(), name)
    table, shape_errors = _read_records(text, sniff_delimiter(text), name, max_rows)
    return table, shape_errors, encoding_warning


def read_csv_plots(
    path: Path, *, max_rows: int, source: str | None = None, form: FormProfile | None = None
) -> RawPlots:
    """Read a CSV field export into :class:`RawPlots` (geometry in the file's own coordinates).

    Raises
    ------
    InvalidInputError
        When the file is empty, not text, has more than ``max_rows`` rows or no geometry column.
    """
    name = source or path.name
    table, shape_errors, encoding_warning = read_csv_table(path, max_rows=max_rows, source=name)
    warnings = [(0, "file", encoding_warning)] if encoding_warning else []
    table, hxl = drop_hxl_row(table)
    warnings += [hxl] if hxl else []
    return plots_from_table(
        table, name=name, kind="csv", row_errors=shape_errors, warnings=warnings, form=form
    )


def drop_hxl_row(table: pd.DataFrame) -> tuple[pd.DataFrame, tuple[int, str, str] | None]:
    """Drop KoboToolbox's HXL hashtag row (``"";"#symmetry";...``, written under the header
    when a question has an ``hxl`` tag); return the table and a warning if it was there."""
    if table.empty:
        return table, None
    first = [str(v).strip() for v in table.iloc[0].tolist() if str(v).strip()]
    if first and all(v.startswith("#") and " " not in v for v in first):
        row = int(table.index[0])
        return table.iloc[1:], (row, "row", "HXL hashtag row (#tags under the header) skipped")
    return table, None


def plots_from_table(
    table: pd.DataFrame,
    *,
    name: str,
    kind: str,
    row_errors: list[tuple[int, str, str]] | None = None,
    warnings: list[tuple[int, str, str]] | None = None,
    form: FormProfile | None = None,
    sheet: str = "",
) -> RawPlots:
    """Find the geometry of a table of text cells (CSV or spreadsheet) and wrap it as RawPlots.

    ``table`` is indexed by 1-based data row; ``kind`` is ``csv`` or ``xlsx`` and gets the
    tool's prefix (``kobo_csv``, ``odk_xlsx``) when the headers show which tool wrote it.
    A form profile's ``[questions] geometry`` chooses the geometry column; ``sheet`` names
    the sheet or member the rows are numbered in.
    """
    flavour = export_flavour(table.columns)
    raw = RawPlots(
        source=name,
        kind=f"{flavour}_{kind}" if flavour != "plain" else kind,
        attributes=table,
        geometry=[None] * len(table),
        crs=None,
        warnings=list(warnings or []),
        sheet=sheet,
    )
    _attach_geometry(raw, form)
    raw.row_errors[:0] = row_errors or []
    logger.info(
        "%s: %d rows read as %s, geometry from %s", name, len(table), raw.kind, raw.geometry_field
    )
    return raw


def _read_records(
    text: str, delimiter: str, name: str, max_rows: int
) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """Parse records with the csv module: quoted line breaks stay in one record, blank lines
    keep their row number, and a record with more fields than the header is one rejected row
    (an unquoted delimiter inside a value) rather than a shifted table."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = unique_headers([h.strip() for h in next(reader)])
    except StopIteration:
        raise InvalidInputError(f"{name}: the file has no header row") from None
    except csv.Error as exc:
        raise InvalidInputError(f"{name}: not a readable CSV table ({exc})") from None
    width = len(header)
    records, rows, errors = [], [], []
    try:
        for row, record in enumerate(reader, start=1):
            if row > max_rows:
                raise InvalidInputError(
                    f"{name}: more than {max_rows:,} data rows; split the file (for example by "
                    "district) or raise max_rows"
                )
            if not any(v.strip() for v in record):
                continue
            if len(record) > width and any(v.strip() for v in record[width:]):
                errors.append(
                    (
                        row,
                        "row",
                        (
                            f"{len(record)} fields where the header has {width}; a value probably "
                            f"contains an unquoted '{delimiter}': quote it or export again"
                        ),
                    )
                )
                record = record[:width]
            records.append(record[:width] + [""] * (width - len(record)))
            rows.append(row)
    except csv.Error as exc:
        raise InvalidInputError(f"{name}: not a readable CSV table ({exc})") from None
    table = pd.DataFrame(records, columns=header, index=pd.Index(rows, dtype="int64"), dtype=str)
    return table, errors


def unique_headers(header: list[str]) -> list[str]:
    """Number repeated header names (``crop``, ``crop.1``) so every column can be addressed."""
    seen: dict[str, int] = {}
    names = []
    for name in header:
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(f"{name}.{count}" if count else name)
    return names


def _share_like(values: pd.Series, predicate) -> float:
    filled = values[values.str.strip() != ""]
    if filled.empty:
        return 0.0
    sample = filled.head(200)
    return float(np.mean([predicate(v) for v in sample]))


def _geometry_columns(table: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    shapes, points, wkts = [], [], []
    for column in table.columns:
        values = table[column].astype(str)
        if _share_like(values, looks_like_odk_geo) >= _DETECT_SHARE:
            several = values.str.count(";").gt(1).any()
            (shapes if several else points).append(column)
        elif _share_like(values, looks_like_wkt) >= _DETECT_SHARE:
            wkts.append(column)
    return shapes, points, wkts


def _attach_geometry(raw: RawPlots, form: FormProfile | None = None) -> None:
    table = raw.attributes
    shapes, points, wkts = _geometry_columns(table)
    lonlat = find_lonlat_columns(table.columns)
    pair = lonlat[0] if lonlat else None
    if form is not None and "geometry" in form.questions:
        shapes, points, wkts, pair = _profile_geometry(raw, form, shapes, points, wkts, lonlat)
    text_columns = shapes + wkts + points
    if not text_columns and pair is None:
        raise InvalidInputError(
            f"{raw.source}: no geometry found; expected an ODK/Kobo geoshape or geopoint column "
            "('lat lon alt acc;...'), a WKT column, or longitude/latitude columns "
            "(lon/long/longitude/x and lat/latitude/y); columns are: "
            + ", ".join(map(str, table.columns[:30]))
        )
    readers = [(c, "wkt" if c in wkts else "geo") for c in text_columns]
    raw.geometry_field = (text_columns + [pair["longitude"] if pair else ""])[0]
    geometry: list[BaseGeometry | None] = []
    accuracy = np.full(len(table), math.nan)
    for i, (row, record) in enumerate(zip(table.index, table.to_dict("records"), strict=True)):
        shape, accuracy[i] = _row_geometry(raw, int(row), record, readers, pair)
        geometry.append(shape)
    raw.geometry = geometry
    raw.accuracy_m = accuracy
    consumed = list(text_columns)
    if pair:
        consumed += [pair["longitude"], pair["latitude"]]
    raw.consumed_columns = tuple(consumed)


def _profile_geometry(raw: RawPlots, form: FormProfile, shapes, points, wkts, lonlat):
    """Keep only the geometry column the profile names (a geo text column, or a split geopoint)."""
    question = form.questions["geometry"]
    column = form.find_column(question, raw.attributes.columns)
    if column is not None and column in shapes + points + wkts:
        keep = [column]
        return (
            [c for c in shapes if c in keep],
            [c for c in points if c in keep],
            [c for c in wkts if c in keep],
            None,
        )
    wanted = header_key(question)
    for pair in lonlat:
        if pair["prefix"].strip("_").rsplit("/", 1)[-1].rsplit("-", 1)[-1] == wanted:
            return [], [], [], pair
    raise InvalidInputError(
        f"{raw.source}: the form profile {form.source} takes the geometry from {question!r}, "
        "but no column of that name holds geopoints, geoshapes, WKT or split coordinates; "
        f"geometry columns found: {', '.join(shapes + points + wkts) or 'none'}; fix "
        "[questions] geometry in the profile"
    )


def _row_geometry(
    raw: RawPlots, row: int, record: dict, readers: list[tuple[str, str]], pair: dict | None
) -> tuple[BaseGeometry | None, float]:
    for column, kind in readers:
        value = str(record[column]).strip()
        if not value:
            continue
        try:
            if kind == "wkt":
                return parse_wkt(value), math.nan
            parsed = parse_odk_geo(value, kind=f"{column!r}")
            return parsed.geometry, parsed.accuracy_m
        except GeoTextError as exc:
            raw.row_errors.append((row, column, f"unreadable geometry: {exc}"))
            return None, math.nan
    if pair is not None:
        lon_text = str(record[pair["longitude"]]).strip()
        lat_text = str(record[pair["latitude"]]).strip()
        if lon_text or lat_text:
            try:
                lon, lat = float(lon_text), float(lat_text)
            except ValueError:
                raw.row_errors.append(
                    (
                        row,
                        pair["longitude"],
                        f"unreadable coordinates: longitude {lon_text!r}, latitude {lat_text!r} "
                        "are not both numbers",
                    )
                )
                return None, math.nan
            if not (math.isfinite(lon) and math.isfinite(lat)):
                raw.row_errors.append((row, pair["longitude"], "coordinates are not finite"))
                return None, math.nan
            acc = math.nan
            if "accuracy" in pair:
                try:
                    acc = float(record[pair["accuracy"]])
                except (TypeError, ValueError):
                    acc = math.nan
            return Point(lon, lat), acc
    raw.row_errors.append((row, raw.geometry_field, "no geometry in this row"))
    return None, math.nan
