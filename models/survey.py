"""Read field survey plots from any export a survey team has, and say what was wrong with it.

:func:`load_plots` is the one entry point. It detects the kind of file, hands
it to the small adapter for that kind (:mod:`models.field.tabular` for CSV,
:mod:`models.field.spreadsheet` for XLSX with its repeat sheets,
:mod:`models.field.archive` for zips, :mod:`models.field.vector` for GeoJSON,
GeoPackage and Shapefile, :mod:`models.field.kml` for KML and KMZ,
:mod:`models.field.gpx` for GPX), maps the team's questions to plot fields
(:mod:`models.field.mapping`, with the form profile of :mod:`models.field.profile`
when given), then applies the same domain rules to every kind
(:mod:`models.field.assemble`) and returns one shape of result: the accepted
plots (schema :data:`models.schema.PLOT_SCHEMA`) and a
:class:`~models.report.ValidationReport` with every rejected row.

Row numbers in the report count data rows from 1: row 1 is the first row
after the CSV header, or the first feature of a GIS file; when the plots are a
repeat group, rows of the repeat's sheet or CSV (the report's ``sheet``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError

from core.errors import InvalidInputError
from models.field.archive import read_zip_plots
from models.field.assemble import LoadOptions, build_plots
from models.field.base import RawPlots, UnsupportedFormatError
from models.field.gpx import read_gpx_plots
from models.field.kml import read_kml_plots, read_kmz_plots
from models.field.profile import FormProfile
from models.field.profile_files import as_form
from models.field.spreadsheet import read_xlsx_plots
from models.field.tabular import read_csv_plots
from models.field.vector import read_geojson_plots, read_ogr_plots
from models.report import RowError, ValidationReport
from models.schema import CROPS, PLOT_COLUMNS, PLOT_SCHEMA, STATUSES

__all__ = [
    "load_plots",
    "PLOT_COLUMNS",
    "PLOT_SCHEMA",
    "CROPS",
    "STATUSES",
    "SUPPORTED_SUFFIXES",
    "UnsupportedFormatError",
    "ValidationReport",
    "RowError",
]

logger = logging.getLogger(__name__)


def _gpkg(path: Path, *, max_rows: int, source: str, form: FormProfile | None = None) -> RawPlots:
    return read_ogr_plots(path, max_rows=max_rows, kind="gpkg", source=source)


_ADAPTERS: dict[str, Callable[..., RawPlots]] = {
    ".csv": read_csv_plots,
    ".txt": read_csv_plots,
    ".geojson": read_geojson_plots,
    ".json": read_geojson_plots,
    ".gpkg": _gpkg,
    ".zip": read_zip_plots,
    ".xlsx": read_xlsx_plots,
    ".kml": read_kml_plots,
    ".kmz": read_kmz_plots,
    ".gpx": read_gpx_plots,
}

SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_ADAPTERS)
"""File name endings :func:`load_plots` reads (a ``.zip`` holds one Shapefile or ODK Central's CSVs)."""

_MAGIC = {b"PK\x03\x04": (".zip", ".kmz", ".xlsx"), b"SQLite format 3\x00": (".gpkg",)}


def _check_kind(path: Path, suffix: str, name: str) -> None:
    if suffix not in _ADAPTERS:
        raise UnsupportedFormatError(
            f"{name}: {suffix or 'no extension'} is not a supported field data format; upload "
            "CSV or XLSX (ODK Central, KoboToolbox, lon/lat or WKT), GeoJSON, GeoPackage, "
            "zipped Shapefile or ODK Central zip (.zip), KML, KMZ or GPX"
        )
    with open(path, "rb") as fh:
        head = fh.read(16)
    for magic, suffixes in _MAGIC.items():
        if head.startswith(magic) and suffix not in suffixes:
            raise UnsupportedFormatError(
                f"{name}: the content is a {suffixes[0]} file, not {suffix}"
            )
        if suffix in suffixes and not head.startswith(magic):
            raise InvalidInputError(
                f"{name}: not a valid {suffix} file (wrong signature); is it corrupt?"
            )


def load_plots(
    path: str | os.PathLike[str],
    *,
    crs: Any = None,
    districts: gpd.GeoDataFrame | None = None,
    season: tuple[Any, Any] | None = None,
    strict: bool = False,
    source_upload: str | None = None,
    team: str | None = None,
    area_bounds_ha: tuple[float, float] = (0.01, 50.0),
    region: Any = None,
    max_rows: int = 200_000,
    form: FormProfile | str | os.PathLike[str] | None = None,
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Read survey plots from a field export and validate every row.

    Parameters
    ----------
    path
        A ``.csv`` or ``.xlsx`` (ODK Central, KoboToolbox, lon/lat or WKT columns),
        ``.geojson``/``.json``, ``.gpkg``, ``.zip`` (one Shapefile, or ODK Central's CSVs),
        ``.kml``, ``.kmz`` or ``.gpx`` file.
    crs
        CRS of coordinates in files that carry none (CSV, a Shapefile without ``.prj``);
        default EPSG:4326. A CRS declared in the file wins (with a warning if they differ).
    districts
        GeoDataFrame with ``district_id`` and geometry (any CRS): fills ``district_id``
        when the file has none (the district containing the plot's representative
        point) and, when ``region`` is not given, defines the survey region.
    season
        ``(start, end)`` dates, inclusive; rows surveyed outside are rejected.
    strict
        Raise :class:`~core.errors.InvalidInputError` (with ``.report``) if any row is rejected.
    source_upload
        Value of the ``source_upload`` column (default: the file name).
    team
        Team for rows whose file gives none (overrides only submitter metadata).
    area_bounds_ha
        ``(low, high)`` plausible field area in hectares; areas outside reject the row.
    region
        Survey region in EPSG:4326: a shapely geometry or ``(minx, miny, maxx, maxy)``.
    max_rows
        Files with more data rows are refused as a whole.
    form
        The team's form profile (:class:`~models.field.profile.FormProfile`, or the path of
        a ``.toml`` profile or of the form's XLSForm ``.xlsx``): which question is the plot
        id, crop, area (and its unit), district..., which answers mean which crop, which
        repeat group holds the plots. Without it, columns are recognised by name.

    Returns
    -------
    plots : geopandas.GeoDataFrame
        Accepted rows in EPSG:4326, columns :data:`PLOT_COLUMNS` then ``source_row`` (the
        1-based data row in the file) and the file's other columns.
    report : ValidationReport
        Every rejected row (1-based data row, field, reason) and every warning.

    Raises
    ------
    UnsupportedFormatError
        The file type is not supported.
    InvalidInputError
        The file cannot be read at all (corrupt, hostile, too large, no geometry or crop
        column), or ``strict`` and a row was rejected.

    Examples
    --------
    >>> plots, report = load_plots("data/examples/kobo_export.csv")  # doctest: +SKIP
    >>> report.accepted, plots["crop"].tolist()[:2]  # doctest: +SKIP
    (5, ['opium_poppy', 'cannabis'])
    >>> report.to_dict()["errors"]  # doctest: +SKIP
    []
    """
    path = Path(path)
    name = source_upload or path.name
    if not path.is_file():
        raise InvalidInputError(f"{name}: no such file")
    suffix = path.suffix.lower()
    _check_kind(path, suffix, name)
    _check_arguments(name, districts, season, area_bounds_ha)
    profile = as_form(form)
    options = LoadOptions(
        crs=_parse_crs(crs, name),
        districts=districts,
        season=season,
        source_upload=source_upload or path.name,
        team=team,
        area_bounds_ha=tuple(area_bounds_ha),
        region=region,
        form=profile,
    )
    raw = _ADAPTERS[suffix](path, max_rows=max_rows, source=name, form=profile)
    if len(raw.attributes) == 0:
        raise InvalidInputError(f"{name}: no data rows (only a header, or no features)")
    report = ValidationReport(source=name, total_rows=len(raw.attributes))
    plots = build_plots(raw, report, options)
    logger.info(
        "%s (%s): %d rows, %d accepted, %d rejected",
        name,
        raw.kind,
        report.total_rows,
        report.accepted,
        report.rejected,
    )
    if strict and report.errors:
        error = InvalidInputError(
            f"{name}: {report.rejected} of {report.total_rows} rows rejected (strict mode "
            f"rejects the whole file); first: {report.errors[0]} "
            "(row 1 = first data row after the header)"
        )
        error.report = report  # type: ignore[attr-defined]
        raise error
    return plots, report


def _check_arguments(name: str, districts: Any, season: Any, area_bounds_ha: Any) -> None:
    if districts is not None:
        if "district_id" not in districts.columns or districts.crs is None:
            raise InvalidInputError(
                f"{name}: districts= needs a district_id column and a CRS "
                f"(got columns {list(districts.columns)}, crs {districts.crs})"
            )
    if season is not None and pd.Timestamp(season[0]) > pd.Timestamp(season[1]):
        raise InvalidInputError(f"{name}: season={season!r} ends before it starts")
    low, high = area_bounds_ha
    if not 0 <= low < high:
        raise InvalidInputError(f"{name}: area_bounds_ha={area_bounds_ha!r} must be (low, high)")


def _parse_crs(crs: Any, name: str) -> CRS | None:
    if crs is None:
        return None
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise InvalidInputError(
            f"{name}: crs={crs!r} is not a coordinate reference system ({exc})"
        ) from None
