"""Change since each AD programme's baseline, per programme, district and crop (see :mod:`models.change`)."""

from __future__ import annotations

import logging
import math
import os
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from core.errors import InvalidInputError
from core.legend import CROPS_OF_INTEREST
from models.change.area import area_rows
from models.change.inputs import (
    EstimatesByYear,
    add_note,
    current_fields,
    district_ids_of,
    estimates_of_year,
    find_estimate,
    reported_se,
    z_value,
)
from models.programme import BASELINE_CROP_COLUMNS

__all__ = [
    "CHANGE_COLUMNS",
    "VERDICTS",
    "programme_change",
]

logger = logging.getLogger(__name__)

CHANGE_COLUMNS: tuple[str, ...] = (
    "programme_id",
    "district_id",
    "crop",
    "baseline_year",
    "baseline_ha",
    "baseline_source",
    "year",
    "area_ha",
    "ci_low_ha",
    "ci_high_ha",
    "change_ha",
    "change_pct",
    "change_ci_low_ha",
    "change_ci_high_ha",
    "verdict",
    "baseline_run_id",
    "n_reference",
    "note",
    "run_id",
    "method",
    "baseline_se_ha",
    "se_ha",
    "change_se_ha",
)
"""Columns of ``programme_change.csv``, in order."""

VERDICTS = (
    "decrease",
    "increase",
    "no detectable change",
    "no estimate",
    "no baseline",
    "no interval",
)


def _programme_rows(
    prog: pd.Series,
    crop: str,
    current: pd.DataFrame,
    base: pd.DataFrame,
    base_run: str | None,
    z: float,
) -> list[dict[str, Any]]:
    ids = district_ids_of(prog["district_ids"])
    by = int(prog["baseline_year"])
    reported = prog.get(BASELINE_CROP_COLUMNS[crop], float("nan"))
    reported = float("nan") if reported is None else float(reported)
    base_hits = {d: find_estimate(base, d, crop) for d in ids}
    rows = []
    for d in ids:
        row = current_fields(
            find_estimate(current, d, crop), f"no {crop} estimate for district {d} this year"
        )
        row.update(programme_id=prog["programme_id"], district_id=d, crop=crop, baseline_year=by)
        hit = base_hits[d]
        if not math.isnan(reported):
            row.update(baseline_source="reported", baseline_se_ha=reported_se(reported))
            row["baseline_run_id"] = None
            total = sum(h["area_ha"] for h in base_hits.values() if h is not None)
            if len(ids) == 1:
                row["baseline_ha"] = reported
            elif all(h is not None for h in base_hits.values()) and total > 0:
                share, share_se = _share(hit, base_hits.values(), total)
                row["baseline_ha"] = reported * share
                row["baseline_se_ha"] = math.hypot(
                    reported_se(reported) * share, reported * share_se
                )
                row["baseline_run_id"] = base_run
                add_note(row, f"reported programme baseline allocated by {by} estimate shares")
            else:
                row["baseline_ha"] = float("nan")
                add_note(
                    row,
                    f"reported baseline is programme-wide and no {by} estimates split it; see ALL",
                )
        elif hit is not None:
            row.update(baseline_ha=float(hit["area_ha"]), baseline_se_ha=float(hit["se_ha"]))
            row.update(baseline_source="derived", baseline_run_id=base_run)
        else:
            row.update(baseline_ha=float("nan"), baseline_se_ha=float("nan"))
            row.update(baseline_source="missing", baseline_run_id=None)
            add_note(row, f"no reported baseline and no {by} estimate to derive one")
        rows.append(row)
    if len(ids) > 1:
        rows.append(_all_row(prog, crop, rows, reported, base_run, z))
    return rows


def _share(hit: dict[str, Any], hits: Any, total: float) -> tuple[float, float]:
    """A district's share of the programme's baseline-year estimates, and its SE.

    The share ``s = e_d / sum(e)`` is a ratio of sampled estimates; by the delta method,
    with districts sampled independently,
    ``Var(s) = ((1 - s)^2 Var(e_d) + s^2 sum_{j != d} Var(e_j)) / sum(e)^2``.
    """
    share = float(hit["area_ha"]) / total
    variances = [float(h.get("se_ha") or 0.0) ** 2 for h in hits]
    own = float(hit.get("se_ha") or 0.0) ** 2
    others = sum(variances) - own
    variance = ((1 - share) ** 2 * own + share**2 * others) / total**2
    return share, math.sqrt(max(variance, 0.0))


def _all_row(
    prog: pd.Series,
    crop: str,
    rows: list[dict[str, Any]],
    reported: float,
    base_run: str | None,
    z: float,
) -> dict[str, Any]:
    missing = [r["district_id"] for r in rows if math.isnan(r["area_ha"])]
    row: dict[str, Any] = dict(
        programme_id=prog["programme_id"],
        district_id="ALL",
        crop=crop,
        baseline_year=int(prog["baseline_year"]),
        method="sum of districts",
    )
    if missing:
        row.update(current_fields(None, f"no estimate this year for {', '.join(missing)}"))
        row["method"] = "sum of districts"
    else:
        total = sum(r["area_ha"] for r in rows)
        se = math.sqrt(sum(r["se_ha"] ** 2 for r in rows))
        row.update(
            area_ha=total,
            se_ha=se,
            ci_low_ha=max(0.0, total - z * se),
            ci_high_ha=total + z * se,
            n_reference=sum(r["n_reference"] for r in rows),
            note="",
        )
    if not math.isnan(reported):
        row.update(
            baseline_ha=reported,
            baseline_se_ha=reported_se(reported),
            baseline_source="reported",
            baseline_run_id=None,
        )
    elif all(r["baseline_source"] == "derived" for r in rows):
        row.update(
            baseline_ha=sum(r["baseline_ha"] for r in rows),
            baseline_source="derived",
            baseline_se_ha=math.sqrt(sum(r["baseline_se_ha"] ** 2 for r in rows)),
            baseline_run_id=base_run,
        )
    else:
        row.update(
            baseline_ha=np.nan,
            baseline_se_ha=np.nan,
            baseline_source="missing",
            baseline_run_id=None,
        )
        add_note(row, "baseline missing for some districts")
    return row


def _finish(frame: pd.DataFrame, z: float) -> pd.DataFrame:
    """Add the change, its interval and the verdict to rows with baseline and current fields."""
    frame["change_ha"] = frame["area_ha"] - frame["baseline_ha"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * frame["change_ha"] / frame["baseline_ha"]
    frame["change_pct"] = pct.where(frame["baseline_ha"] > 0)
    frame["change_se_ha"] = np.sqrt(frame["se_ha"] ** 2 + frame["baseline_se_ha"] ** 2)
    frame["change_ci_low_ha"] = frame["change_ha"] - z * frame["change_se_ha"]
    frame["change_ci_high_ha"] = frame["change_ha"] + z * frame["change_se_ha"]
    verdict = np.select(
        [
            frame["area_ha"].isna(),
            frame["baseline_ha"].isna(),
            frame["change_se_ha"].isna(),
            frame["change_ci_low_ha"] > 0,
            frame["change_ci_high_ha"] < 0,
        ],
        ["no estimate", "no baseline", "no interval", "increase", "decrease"],
        default="no detectable change",
    )
    frame["verdict"] = verdict
    return frame


_ESTIMATE_COLUMNS = ("district_id", "crop", "area_ha", "ci_low_ha", "ci_high_ha")


def _check_estimates(estimates: pd.DataFrame, name: str, *, need_year: bool) -> None:
    needed = _ESTIMATE_COLUMNS + (("year",) if need_year else ())
    missing = [c for c in needed if c not in estimates.columns]
    if missing:
        raise InvalidInputError(
            f"{name}: missing column(s) {', '.join(missing)}; district estimates need "
            f"{', '.join(_ESTIMATE_COLUMNS)} (and 'year', or pass year=)"
        )


def programme_change(
    programmes: pd.DataFrame,
    estimates: pd.DataFrame,
    baseline_estimates: EstimatesByYear = None,
    *,
    year: int | None = None,
    districts: gpd.GeoDataFrame | None = None,
    run_id: str | None = None,
    baseline_run_id: str | None = None,
    class_map: str | os.PathLike[str] | None = None,
    baseline_class_map: str | os.PathLike[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Change in cultivation since each programme's baseline, per district and crop.

    Parameters
    ----------
    programmes
        Output of :func:`models.programme.load_programmes` (or the store's table).
    estimates
        District estimates (``district_id, crop, area_ha, ci_low_ha, ci_high_ha``, and
        ``se_ha``, ``year``, ``n_reference``, ``method``, ``map_area_ha`` when known). May
        hold several years; ``year`` picks the current one.
    baseline_estimates
        District estimates of the baseline years (one DataFrame with a ``year`` and
        optionally ``run_id`` column, or ``{year: DataFrame}``), used to derive missing
        baselines, to allocate programme-wide ones, and as the baseline's SE. Defaults to
        ``estimates`` itself (useful when it holds all stored years).
    year
        Current year; default the latest year in ``estimates``.
    districts
        Unused for the numbers; accepted for the flow's call shape (geometry is added by
        :func:`write_programme_change`).
    run_id, baseline_run_id
        Recorded in the output; ``baseline_run_id`` is used when the baseline table has
        no ``run_id`` column.
    class_map
        ``classes.tif`` of the current run: adds ``"AREA"`` rows for programme polygons.
    baseline_class_map
        ``classes.tif`` of the baseline run: derives the area rows' baseline when the
        programme reported none (calibrated by the baseline estimates).
    confidence
        Level of the change intervals (two-sided, normal).

    Returns
    -------
    pandas.DataFrame
        :data:`CHANGE_COLUMNS`; rows sorted by programme, district, crop. A district
        without an estimate keeps its row (NaN numbers, verdict ``"no estimate"``).

    Raises
    ------
    InvalidInputError
        ``estimates`` lacks a column the comparison needs.

    Examples
    --------
    >>> change = programme_change(programmes, current, stored, year=2025)  # doctest: +SKIP
    """
    z = z_value(confidence)
    _check_estimates(estimates, "estimates", need_year=year is None)
    if year is None:
        year = int(estimates["year"].max())
    current, current_run = estimates_of_year(estimates, year, z)
    baseline_source = estimates if baseline_estimates is None else baseline_estimates
    rows: list[dict[str, Any]] = []
    baselines: dict[str, tuple[pd.DataFrame, str | None]] = {}
    for _, prog in programmes.iterrows():
        if pd.isna(prog["baseline_year"]):
            continue
        base, base_run = estimates_of_year(baseline_source, int(prog["baseline_year"]), z)
        baselines[str(prog["programme_id"])] = (base, base_run or baseline_run_id)
        for crop in CROPS_OF_INTEREST:
            for row in _programme_rows(prog, crop, current, base, base_run or baseline_run_id, z):
                rows.append(row)
    if class_map is not None and isinstance(programmes, gpd.GeoDataFrame):
        source = programmes.get("geometry_source")
        with_area = source == "area" if source is not None else programmes.geometry.notna()
        polygons = programmes[with_area & programmes["programme_id"].astype(str).isin(baselines)]
        rows.extend(area_rows(polygons, class_map, current, baselines, baseline_class_map, z))
    frame = pd.DataFrame(
        rows,
        columns=[
            c
            for c in CHANGE_COLUMNS
            if c
            not in {
                "year",
                "run_id",
                "change_ha",
                "change_pct",
                "change_se_ha",
                "change_ci_low_ha",
                "change_ci_high_ha",
                "verdict",
            }
        ],
    )
    frame["year"] = int(year)
    frame["run_id"] = run_id or current_run
    frame = _finish(
        frame.astype({c: float for c in ("baseline_ha", "baseline_se_ha", "area_ha", "se_ha")}), z
    )
    frame["note"] = frame["note"].fillna("")
    counts = frame["verdict"].value_counts().to_dict()
    logger.info("programme change %s: %d rows, verdicts %s", year, len(frame), counts)
    return frame[list(CHANGE_COLUMNS)].reset_index(drop=True)
