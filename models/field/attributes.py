"""Attribute cells of one plot row turned into typed values, each problem reported on its row."""

from __future__ import annotations

import math

import pandas as pd

from models.field.geometry_checks import (
    geodesic_area_ha,
)
from models.field.labels import crop_of, land_cover_of, status_of
from models.field.values import as_date, as_number, as_text

__all__ = [
    "AREA_MISMATCH",
    "crop_and_cover",
    "plot_status",
    "survey_date_of",
    "number_of",
    "plot_area",
]

AREA_MISMATCH = 2.0  # stated and boundary area differing more than 2-fold get a warning


def crop_and_cover(row, cell, columns, report, *, form=None, path=False) -> tuple[str | None, str]:
    """Crop and land cover of one row; ``form`` maps the team's own answers first, ``path``
    says the crop is a KML folder path (each element is tried, innermost first)."""
    label = as_text(cell("crop"))
    cover_label = as_text(cell("land_cover"))
    cover = None
    if cover_label:
        cover = (form.value_of("land_cover", cover_label) if form else None) or land_cover_of(
            cover_label
        )
    if cover_label and cover is None:
        report.warn(row, columns["land_cover"], f"land cover {cover_label!r} is not in the legend")
    if label is None:
        if cover is None:
            report.reject(row, columns.get("crop", "crop"), "no crop label")
            return None, "other_crops"
        crop = cover if cover in ("opium_poppy", "cannabis") else "other"
    else:
        crop = (form.value_of("crop", label, path=path) if form else None) or crop_of(label)
        if crop is None and path:
            crop = next(filter(None, map(crop_of, reversed(label.split("/")))), None)
        if crop is None:
            report.reject(
                row,
                columns["crop"],
                (
                    f"unknown crop label {label!r}; use opium_poppy, cannabis or other, add the "
                    "spelling to data/crop_labels.csv, or map the answer in the form profile "
                    f'([values.crop] opium_poppy = ["{label}"])'
                ),
            )
            return None, "other_crops"
    if crop in ("opium_poppy", "cannabis"):
        return crop, crop
    if cover in ("opium_poppy", "cannabis"):
        report.warn(
            row,
            columns["land_cover"],
            f"land cover {cover} contradicts crop 'other'; recorded as other_crops",
        )
        cover = None
    return crop, cover or "other_crops"


def plot_status(row, value, columns, report, *, form=None) -> str:
    text = as_text(value) or ""
    status = (form.value_of("status", text) if form and text else None) or status_of(text)
    if status is None:
        report.warn(row, columns["status"], f"status {value!r} not recognised; recorded as unknown")
        return "unknown"
    return status


def survey_date_of(row, value, columns, report, season) -> pd.Timestamp | None:
    field = columns.get("survey_date", "survey_date")
    survey_date, problem = as_date(value)
    if problem:
        report.reject(row, field, problem)
        return None
    if season is None:
        return survey_date
    start, end = season
    if survey_date is None:
        report.reject(
            row, field, f"no survey date; needed to check the season {start.date()}..{end.date()}"
        )
    elif not start <= survey_date <= end:
        report.reject(
            row,
            field,
            (
                f"survey date {survey_date.date()} is outside the survey season "
                f"{start.date()}..{end.date()}"
            ),
        )
    return survey_date


def number_of(row, value, columns, field, report) -> float:
    number, problem = as_number(value)
    if problem:
        report.warn(row, columns[field], f"{problem}; left empty")
    if number < 0:
        report.warn(row, columns[field], f"{number:g} is negative; left empty")
        return math.nan
    return number


def plot_area(row, value, factor, shape, columns, report, options) -> float:
    stated = (
        number_of(row, value, columns, "area", report) * factor if "area" in columns else math.nan
    )
    boundary = geodesic_area_ha(shape) if shape is not None else 0.0
    area = stated if not math.isnan(stated) else (boundary if boundary > 0 else math.nan)
    if (
        not math.isnan(stated)
        and boundary > 0
        and max(stated, boundary) > AREA_MISMATCH * min(stated, boundary)
    ):
        report.warn(
            row,
            columns["area"],
            f"stated area {stated:.3f} ha but the boundary measures {boundary:.3f} ha",
        )
    low, high = options.area_bounds_ha
    if not math.isnan(area) and not low <= area <= high:
        report.reject(
            row,
            columns.get("area", "measured_area_ha"),
            (
                f"area {area:.4g} ha is implausible for a field (allowed {low:g}-{high:g} ha; "
                "change area_bounds_ha if such fields are real)"
            ),
        )
    return area
