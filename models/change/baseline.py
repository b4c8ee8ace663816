"""Change since each AD programme's baseline, per programme, district and crop (see :mod:`models.change`)."""

from __future__ import annotations

import logging
import math
import os
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

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
    reported_baseline,
    z_value,
)
from models.change.intervals import holm, mover_difference, p_toward_zero, reaches
from models.change.totals import all_row, share_of

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
    "baseline_uncertainty",
    "p_value",
    "p_holm",
)
"""Columns of ``programme_change.csv``, in order."""

_INTERNAL = ("_z_current", "_z_baseline", "_baseline_low", "_baseline_high", "_not_estimable",
             "_unseen")  # fmt: skip

VERDICTS = (
    "decrease",
    "increase",
    "no detectable change",
    "no estimate",
    "no baseline",
    "no interval",
    "not estimable",
)


def _derived_baseline(hit: pd.Series) -> dict[str, Any]:
    """Baseline fields from the baseline year's district estimate, with its own limits."""
    return dict(
        baseline_ha=float(hit["area_ha"]),
        baseline_se_ha=float(hit["se_ha"]),
        baseline_source="derived",
        baseline_uncertainty="estimated",
        _baseline_low=float(hit["ci_low_ha"]),
        _baseline_high=float(hit["ci_high_ha"]),
        _z_baseline=float(hit["_z"]),
        _baseline_shared=hit.get("shared_se_ha"),
    )


def _current(table: pd.DataFrame, district_id: str, crop: str) -> dict[str, Any]:
    """Current-estimate fields of a district row; a published NaN row is "not estimable"."""
    hit = find_estimate(table, district_id, crop)
    if hit is not None:
        row = current_fields(hit, "")
        row.update(_z_current=float(hit["_z"]), _shared=hit.get("shared_se_ha"))
        return row
    listed = table[(table["district_id"] == district_id) & (table["crop"] == crop)]
    if listed.empty:
        return current_fields(None, f"no {crop} estimate for district {district_id} this year")
    why = listed["note"].iloc[0] if "note" in listed else ""
    why = why if isinstance(why, str) else ""
    row = current_fields(None, f"not estimable this year: {why}" if why else "not estimable")
    row.update(method=listed["method"].iloc[0] if "method" in listed else None, _not_estimable=1)
    return row


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
    reported = reported_baseline(prog, crop)
    base_hits = {d: find_estimate(base, d, crop) for d in ids}
    rows = []
    for d in ids:
        row = _current(current, d, crop)
        row.update(programme_id=prog["programme_id"], district_id=d, crop=crop, baseline_year=by)
        hit = base_hits[d]
        if reported is not None:
            row.update(baseline_source="reported", baseline_run_id=None)
            total = sum(h["area_ha"] for h in base_hits.values() if h is not None)
            if len(ids) == 1:
                row.update(reported)
            elif all(h is not None for h in base_hits.values()) and total > 0:
                share, share_se = share_of(hit, base_hits.values(), total)
                row["baseline_ha"] = reported["baseline_ha"] * share
                row["baseline_se_ha"] = math.hypot(
                    reported["baseline_se_ha"] * share, reported["baseline_ha"] * share_se
                )
                row["baseline_uncertainty"] = reported["baseline_uncertainty"]
                row["baseline_run_id"] = base_run
                add_note(row, f"reported programme baseline allocated by {by} estimate shares")
            else:
                row["baseline_ha"] = float("nan")
                add_note(
                    row,
                    f"reported baseline is programme-wide and no {by} estimates split it; see ALL",
                )
        elif hit is not None:
            row.update(_derived_baseline(hit), baseline_run_id=base_run)
        else:
            row.update(baseline_ha=float("nan"), baseline_se_ha=float("nan"))
            row.update(baseline_source="missing", baseline_run_id=None)
            add_note(row, f"no reported baseline and no {by} estimate to derive one")
        rows.append(row)
    if len(ids) > 1:
        rows.append(all_row(prog, crop, rows, reported, base_run, z))
    return rows


def _finish(frame: pd.DataFrame, z: float) -> pd.DataFrame:
    """Add the change, its MOVER interval, p-values and the verdict to the rows."""
    frame["change_ha"] = frame["area_ha"] - frame["baseline_ha"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * frame["change_ha"] / frame["baseline_ha"]
    frame["change_pct"] = pct.where(frame["baseline_ha"] > 0)
    frame["change_se_ha"] = np.sqrt(frame["se_ha"] ** 2 + frame["baseline_se_ha"] ** 2)
    # Both years surveyed by us: the map omission cancels, the design SEs test the change
    # (design reaches); against a reported figure the full limits (models.change.intervals).
    pair = frame["baseline_source"] == "derived"
    current = reaches(
        frame["area_ha"], frame["ci_low_ha"], frame["ci_high_ha"], frame["se_ha"],
        frame["_z_current"].fillna(z), z, survey_pair=pair,
    )  # fmt: skip
    baseline = reaches(
        frame["baseline_ha"], frame["_baseline_low"], frame["_baseline_high"],
        frame["baseline_se_ha"], frame["_z_baseline"].fillna(z), z, survey_pair=pair,
    )  # fmt: skip
    low, high = mover_difference(frame["change_ha"], current, baseline)
    frame["change_ci_low_ha"], frame["change_ci_high_ha"] = low, high
    frame["p_value"] = p_toward_zero(frame["change_ha"], low, high, z)
    frame["p_holm"] = holm(frame["p_value"].where(frame["district_id"] != "AREA"))
    verdict = np.select(
        [
            frame["_not_estimable"].fillna(0) > 0,
            frame["area_ha"].isna(),
            frame["baseline_ha"].isna(),
            low.isna() | high.isna(),
            low > 0,
            high < 0,
        ],
        ["not estimable", "no estimate", "no baseline", "no interval", "increase", "decrease"],
        default="no detectable change",
    )
    frame["verdict"] = verdict
    tested = frame["p_value"].notna()
    exact = tested & (frame["baseline_uncertainty"] == "not given")
    frame.loc[exact, "note"] = _appended(
        frame.loc[exact, "note"],
        "baseline uncertainty not given: verdict conditional on an exact baseline",
    )
    alpha = 1 - (2 * stats.norm.cdf(z) - 1)
    lost = frame["verdict"].isin(["increase", "decrease"]) & (frame["p_holm"] >= alpha)
    frame.loc[lost, "note"] = _appended(
        frame.loc[lost, "note"],
        f"not significant after Holm's correction over the {int(frame['p_holm'].notna().sum())} "
        "tested rows of this run",
    )
    return frame


def _appended(notes: pd.Series, text: str) -> pd.Series:
    return notes.fillna("").map(lambda n: f"{n}; {text}" if n else text)


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
    computed = {"year", "run_id", "change_ha", "change_pct", "change_se_ha", "change_ci_low_ha",
                "change_ci_high_ha", "verdict", "p_value", "p_holm"}  # fmt: skip
    frame = pd.DataFrame(rows, columns=[
        *(c for c in CHANGE_COLUMNS if c not in computed), *_INTERNAL
    ])  # fmt: skip
    frame["year"] = int(year)
    frame["run_id"] = run_id or current_run
    numbers = ("baseline_ha", "baseline_se_ha", "area_ha", "se_ha", "ci_low_ha", "ci_high_ha")
    frame = _finish(frame.astype({c: float for c in (*numbers, *_INTERNAL)}), z)
    frame["note"] = frame["note"].fillna("")
    counts = frame["verdict"].value_counts().to_dict()
    logger.info("programme change %s: %d rows, verdicts %s", year, len(frame), counts)
    return frame[list(CHANGE_COLUMNS)].reset_index(drop=True)
