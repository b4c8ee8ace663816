"""From :class:`RawPlots` to the plot table: every domain rule, one report.

The rules, each rejecting a row with a reason in the report: unreadable or
missing geometry, fewer than 3 distinct vertices, a self-intersection that
cannot be repaired, coordinates swapped or outside the survey region, an
area implausible for a field, a date outside the survey season, an unknown
crop label, a duplicate ``plot_id``. Other findings are warnings.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from models.field.attributes import (
    crop_and_cover,
    number_of,
    plot_area,
    plot_status,
    survey_date_of,
)
from models.field.base import RawPlots
from models.field.columns import FALLBACK_SPELLINGS, header_key
from models.field.geometry_checks import (
    as_region,
    check_degree_range,
    check_in_region,
    check_plot_geometry,
)
from models.field.mapping import apply_xlsform, no_crop_error, resolve_fields
from models.field.profile import FormProfile
from models.field.script import is_zawgyi
from models.field.units import AREA_UNITS_HA, area_unit_in_header
from models.field.values import as_text
from models.report import ValidationReport
from models.schema import PLOT_COLUMNS, PLOT_CRS, PLOT_SCHEMA

__all__ = ["LoadOptions", "build_plots"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadOptions:
    """What the caller knows about a file (see :func:`models.survey.load_plots`)."""

    crs: CRS | None = None
    """CRS of coordinates in files that carry none."""
    districts: gpd.GeoDataFrame | None = None
    """``district_id`` + geometry: fills district_id and, without ``region``, is the region."""
    season: tuple[Any, Any] | None = None
    """Inclusive ``(start, end)`` survey dates."""
    source_upload: str = ""
    """Value of the ``source_upload`` column."""
    team: str | None = None
    """Team for rows whose file names none."""
    area_bounds_ha: tuple[float, float] = (0.01, 50.0)
    """Plausible field area in hectares."""
    region: Any = None
    """Survey region in EPSG:4326 (geometry or bounds)."""
    form: FormProfile | None = None
    """The team's form profile: which question is which, units, answer meanings."""


def build_plots(raw: RawPlots, report: ValidationReport, options: LoadOptions) -> gpd.GeoDataFrame:
    """Apply every rule to ``raw``; record rejections in ``report``; return accepted plots.

    Parameters
    ----------
    raw
        What an adapter read, geometry in the file's CRS.
    report
        Receives every rejection and warning (``total_rows`` already set).
    options
        What the caller knows about the file.

    Returns
    -------
    geopandas.GeoDataFrame
        Accepted plots, validated against :data:`models.schema.PLOT_SCHEMA`.

    Raises
    ------
    InvalidInputError
        When the file has neither a crop nor a land cover column.
    """
    report.sheet = raw.sheet
    for row, field, message in raw.row_errors:
        report.reject(row, field, message)
    for row, field, message in raw.warnings:
        report.warn(row, field, message)
    rows = raw.rows
    geometry = _to_wgs84(raw, options, report)
    apply_xlsform(raw, options.form, report)
    columns = resolve_fields(raw, options.form, report)
    if "crop" not in columns and "land_cover" not in columns:
        raise no_crop_error(raw, options.form)
    _note_zawgyi(raw, columns, report)
    geometry = _check_geometries(rows, geometry, raw.geometry_field, report, options)
    records = _attributes(raw, columns, geometry, report, options)
    _reject_duplicates(records, report, columns.get("plot_id", "plot_id"))
    keep = ~np.isin(rows, sorted(report.rejected_rows))
    plots = _assemble(raw, records, geometry, keep, columns, options.source_upload or raw.source)
    plots = _fill_districts(
        plots, options.districts, report, columns.get("district_id", "district_id")
    )
    return PLOT_SCHEMA.validate(plots.reset_index(drop=True))


def _to_wgs84(raw: RawPlots, options: LoadOptions, report: ValidationReport) -> np.ndarray:
    source_crs = raw.crs
    if source_crs is None:
        source_crs = options.crs or CRS.from_epsg(4326)
        if options.crs is None and not raw.kind.endswith(("csv", "xlsx")):
            report.warn(
                0,
                "crs",
                "the file has no coordinate reference system; "
                "assumed longitude/latitude (EPSG:4326); pass crs= if it is not",
            )
    elif options.crs is not None and CRS.from_user_input(options.crs) != source_crs:
        report.warn(
            0,
            "crs",
            f"the file declares {source_crs.to_string()}, which was used "
            f"instead of the given {CRS.from_user_input(options.crs).to_string()}",
        )
    series = gpd.GeoSeries(raw.geometry, crs=source_crs, index=raw.attributes.index)
    if not CRS.from_user_input(source_crs).equals(CRS.from_epsg(4326), ignore_axis_order=True):
        series = series.to_crs(PLOT_CRS)
    return series.to_numpy(dtype=object)


def _check_geometries(rows, geometry, field, report, options) -> np.ndarray:
    checked = np.empty(len(rows), dtype=object)
    # valid 2D polygons and points in degree range need no further look (GEOS validity implies
    # at least 3 distinct vertices); only the rest goes through the slower checks one by one
    present = np.array([g is not None for g in geometry], dtype=bool)
    simple = np.zeros(len(rows), dtype=bool)
    if present.any():
        shapes = geometry[present]
        bounds = shapely.bounds(shapes)
        simple[present] = (
            np.isin(shapely.get_type_id(shapes), (0, 3))
            & ~shapely.has_z(shapes)
            & shapely.is_valid(shapes)
            & (bounds[:, 0] >= -180)
            & (bounds[:, 2] <= 180)
            & (bounds[:, 1] >= -90)
            & (bounds[:, 3] <= 90)
        )
    checked[simple] = geometry[simple]
    for i in np.flatnonzero(present & ~simple):
        row, shape = rows[i], geometry[i]
        reason = check_degree_range(shape)
        if reason is None:
            shape, reason, warning = check_plot_geometry(shape)
            if warning:
                report.warn(row, field, warning)
        if reason:
            report.reject(row, field, reason)
        else:
            checked[i] = shape
    region = as_region(options.region)
    if region is None and options.districts is not None and len(options.districts):
        region = options.districts.to_crs(PLOT_CRS).geometry.union_all()
    if region is not None:
        present = np.flatnonzero([g is not None for g in checked])
        for i, reason in zip(present, check_in_region(checked[present], region), strict=True):
            if reason:
                report.reject(rows[i], field, reason)
                checked[i] = None
    return checked


def _note_zawgyi(raw: RawPlots, columns: dict[str, str], report: ValidationReport) -> None:
    for field in ("crop", "status", "land_cover"):
        if field in columns:
            values = raw.attributes[columns[field]].dropna().astype(str).unique()
            zawgyi = [v for v in values if is_zawgyi(v)]
            if zawgyi:
                report.warn(
                    0,
                    columns[field],
                    f"{len(zawgyi)} answer(s) written in the Zawgyi encoding (e.g. {zawgyi[0]!r}) "
                    "were read as Unicode Burmese",
                )


def _area_factor(area_column: str | None, form: FormProfile | None, report) -> float:
    """Hectares per unit of the area column: the profile's unit, else the header's, else ha."""
    if area_column is None:
        return 1.0
    if form is not None and form.area_unit and form.column_for("area", [area_column]):
        return AREA_UNITS_HA[form.area_unit]
    unit = area_unit_in_header(area_column)
    if unit is not None:
        return AREA_UNITS_HA[unit]
    if header_key(area_column).endswith("area"):
        report.warn(
            0,
            area_column,
            "area column has no unit in its name; read as hectares (a form profile's "
            '[units] area = "rai" says otherwise)',
        )
    return 1.0


def _attributes(raw, columns, geometry, report, options) -> list[dict[str, Any]]:
    records = []
    form = options.form
    area_factor = _area_factor(columns.get("area"), form, report)
    folder_crop = header_key(columns.get("crop", "")) in ("folder", "folder_name")
    team_is_fallback = header_key(columns.get("team", "")) in FALLBACK_SPELLINGS["team"]
    stem = raw.source.rsplit(".", 1)[0]
    season = None
    if options.season is not None:
        season = tuple(pd.Timestamp(d).normalize() for d in options.season)
    # whole columns as lists: row-by-row DataFrame lookups dominate the time otherwise
    values = {f: raw.attributes[c].tolist() for f, c in columns.items()}
    for i, (row, shape) in enumerate(zip(raw.rows.tolist(), geometry, strict=True)):
        cell = {f: v[i] for f, v in values.items()}.get
        record: dict[str, Any] = {"row": row}
        record["plot_id"] = as_text(cell("plot_id")) or f"{stem}-{row}"
        record["crop_label"] = as_text(cell("crop"))
        record["crop"], record["land_cover"] = crop_and_cover(
            row, cell, columns, report, form=form, path=folder_crop
        )
        record["status"] = plot_status(row, cell("status"), columns, report, form=form)
        record["survey_date"] = survey_date_of(row, cell("survey_date"), columns, report, season)
        file_team = as_text(cell("team"))
        record["team"] = (
            (options.team or file_team) if team_is_fallback else (file_team or options.team)
        )
        accuracy = math.nan
        if "gps_accuracy_m" in columns:
            accuracy = number_of(row, cell("gps_accuracy_m"), columns, "gps_accuracy_m", report)
        if math.isnan(accuracy) and raw.accuracy_m is not None:
            accuracy = float(raw.accuracy_m[i])  # from the geopoint/geoshape text itself
        record["gps_accuracy_m"] = accuracy
        record["measured_area_ha"] = plot_area(
            row, cell("area"), area_factor, shape, columns, report, options
        )
        district = as_text(cell("district_id"))
        record["district_id"] = (
            form.value_of("district_id", district) if form else None
        ) or district
        record["yield_kg_ha"] = number_of(row, cell("yield_kg_ha"), columns, "yield_kg_ha", report)
        records.append(record)
    return records


def _reject_duplicates(records: list[dict[str, Any]], report: ValidationReport, field: str) -> None:
    first_row: dict[str, int] = {}
    for record in records:
        plot_id, row = record["plot_id"], record["row"]
        if plot_id in first_row:
            report.reject(
                row,
                field,
                f"duplicate plot_id {plot_id!r} (first used on row {first_row[plot_id]})",
            )
        else:
            first_row[plot_id] = row


def _assemble(raw, records, geometry, keep, columns, source_upload: str) -> gpd.GeoDataFrame:
    table = pd.DataFrame.from_records(records, index=raw.attributes.index)[keep]
    # columns turned into plot fields are dropped; the crop label as written is kept; a
    # source_row of a file admon wrote (the store's export) is replaced by this file's rows
    used = set(raw.consumed_columns) | set(PLOT_COLUMNS) | set(columns.values()) | {"source_row"}
    extras = raw.attributes.loc[keep, [c for c in raw.attributes.columns if c not in used]]
    if "crop_label" not in extras.columns:
        extras = extras.assign(crop_label=table["crop_label"])
    plots = gpd.GeoDataFrame(
        {
            "plot_id": table["plot_id"].astype(str),
            "crop": table["crop"].astype(str),
            "status": table["status"].astype(str),
            "survey_date": pd.to_datetime(table["survey_date"]).astype("datetime64[ns]"),
            "team": table["team"].astype("str"),
            "gps_accuracy_m": table["gps_accuracy_m"].astype(float),
            "measured_area_ha": table["measured_area_ha"].astype(float),
            "district_id": table["district_id"].astype("str"),
            "source_upload": pd.Series(source_upload, index=table.index, dtype="str"),
            "land_cover": table["land_cover"].astype(str),
            "yield_kg_ha": table["yield_kg_ha"].astype(float),
        },
        geometry=list(geometry[keep]),
        crs=PLOT_CRS,
        index=table.index,
    )
    plots = pd.concat([plots, extras], axis=1)
    plots.insert(len(PLOT_COLUMNS), "source_row", plots.index.astype("int64"))
    return plots


def _fill_districts(
    plots: gpd.GeoDataFrame, districts, report: ValidationReport, field: str
) -> gpd.GeoDataFrame:
    """Fill missing district ids from the district containing each plot; warn on disagreement."""
    if districts is None or plots.empty:
        return plots
    zones = districts[["district_id", "geometry"]].to_crs(PLOT_CRS)
    anchors = gpd.GeoDataFrame(geometry=plots.geometry.representative_point(), crs=PLOT_CRS)
    joined = gpd.sjoin(anchors, zones, how="left", predicate="within")
    located = joined.loc[~joined.index.duplicated(keep="first"), "district_id"].astype("str")
    stated = plots["district_id"]
    missing = stated.isna()
    plots.loc[missing, "district_id"] = located[missing]
    for row in located.index[missing & located.isna()]:
        report.warn(row, "district_id", "the plot lies in no district")
    differs = ~missing & located.notna() & (stated.astype(str) != located.astype(str))
    for row in located.index[differs]:
        report.warn(
            row,
            field,
            (
                f"district_id {stated[row]!r} in the file, but the plot lies in district "
                f"{located[row]!r}; the file's value was kept"
            ),
        )
    return plots
