"""District estimate tables as the change analysis reads them: one year, SEs, lookups.

Estimates come from ``geo.estimation.district_estimates`` or from the store (all years,
with ``run_id``). When a year was run more than once, the run id that sorts last
(run ids start with a timestamp) is the one used, and it is returned with the table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from geo.estimation import z_value
from models.programme import BASELINE_CROP_COLUMNS
from models.programme_uncertainty import BASELINE_INTERVAL_CONFIDENCE, baseline_uncertainty_columns

__all__ = [
    "EstimatesByYear",
    "z_value",
    "with_se",
    "estimates_of_year",
    "district_ids_of",
    "find_estimate",
    "unseen_of",
    "reported_se",
    "reported_baseline",
    "current_fields",
    "add_note",
]

PUBLISHED_CONFIDENCE = 0.95
"""Level of district intervals whose table does not record ``confidence``."""

EstimatesByYear = pd.DataFrame | Mapping[int, pd.DataFrame] | None
"""Estimates of several years: one table with a ``year`` column, or ``{year: table}``."""


def with_se(table: pd.DataFrame, z: float) -> pd.DataFrame:
    """Copy of ``table`` with ``se_ha`` filled from the interval width where missing.

    ``_z`` is the normal quantile of each row's ``confidence``; a table without one is
    taken to hold the published 95% intervals (:data:`PUBLISHED_CONFIDENCE`).
    """
    table = table.copy()
    table["district_id"] = table["district_id"].astype(str)
    own = table["confidence"] if "confidence" in table else pd.Series(np.nan, index=table.index)
    table["_z"] = pd.Series(stats.norm.ppf(0.5 + own.astype(float) / 2), index=table.index)
    table["_z"] = table["_z"].fillna(z_value(PUBLISHED_CONFIDENCE))
    from_ci = (table["ci_high_ha"] - table["ci_low_ha"]) / (2 * table["_z"])
    table["se_ha"] = table["se_ha"].fillna(from_ci) if "se_ha" in table else from_ci
    return table


def estimates_of_year(
    estimates: EstimatesByYear, year: int, z: float
) -> tuple[pd.DataFrame, str | None]:
    """Estimates of one year (the run id sorting last when several are stored) and its run id.

    ``estimates`` is one table with a ``year`` column or ``{year: table}``; an absent
    year gives an empty table.
    """
    if estimates is None:
        return pd.DataFrame(columns=["district_id", "crop", "area_ha", "se_ha"]), None
    if isinstance(estimates, Mapping):
        table = estimates.get(int(year))
        if table is None:
            return estimates_of_year(None, year, z)
    else:
        table = (
            estimates[estimates["year"].astype(int) == int(year)]
            if "year" in estimates
            else estimates
        )
    run = None
    if "run_id" in table and table["run_id"].notna().any():
        run = str(sorted(table["run_id"].dropna().astype(str).unique())[-1])
        table = table[table["run_id"].astype(str) == run]
    return with_se(table, z), run


def district_ids_of(value: Any) -> list[str]:
    """District ids of a programme: a list, an array, or text joined by ``;`` (stored) or ``,``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,]", value) if part.strip()]
    return [str(v) for v in value]


def find_estimate(table: pd.DataFrame, district_id: str, crop: str) -> pd.Series | None:
    """The estimate row of a district and crop, or ``None`` when absent or NaN."""
    hit = table[(table["district_id"] == district_id) & (table["crop"] == crop)]
    if hit.empty or pd.isna(hit["area_ha"].iloc[0]):
        return None
    return hit.iloc[0]


def unseen_of(hit: pd.Series | dict) -> float:
    """SE of the omission a district's sample cannot see (``unseen_se_ha``), 0 when unknown.

    It is in the upper limit, not in ``se_ha`` (``geo.estimation.districts``). A table
    without the column (the store keeps none) reads its limits as they are.
    """
    value = hit.get("unseen_se_ha", np.nan)
    if value is None or pd.isna(value):
        return 0.0
    return float(value)


def reported_se(value: float) -> float:
    """SE of a reported figure from its rounding: ``unit / sqrt(12)`` (uniform error).

    ``unit`` is the place of the last decimal written (``4.2`` → 0.1, ``420`` → 1);
    a figure with many decimals gets a negligible SE.

    Examples
    --------
    >>> round(reported_se(4.2), 4)
    0.0289
    """
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    unit = 10.0 ** min(int(exponent), 0)
    return unit / math.sqrt(12.0)


def current_fields(hit: pd.Series | None, missing_note: str) -> dict[str, Any]:
    """The current-estimate fields of a change row (NaN and ``missing_note`` when absent)."""
    if hit is None:
        return dict(
            area_ha=np.nan,
            ci_low_ha=np.nan,
            ci_high_ha=np.nan,
            se_ha=np.nan,
            n_reference=np.nan,
            method=None,
            note=missing_note,
        )
    return dict(
        area_ha=float(hit["area_ha"]),
        ci_low_ha=float(hit["ci_low_ha"]),
        ci_high_ha=float(hit["ci_high_ha"]),
        se_ha=float(hit["se_ha"]),
        _unseen=unseen_of(hit),
        n_reference=hit.get("n_reference", np.nan),
        method=hit.get("method"),
        note="",
    )


def add_note(row: dict[str, Any], text: str) -> None:
    """Append ``text`` to the row's ``note`` (``;``-separated)."""
    row["note"] = f"{row['note']}; {text}" if row.get("note") else text


def reported_baseline(prog: pd.Series, crop: str) -> dict[str, Any] | None:
    """Baseline fields of a programme's reported figure, with its uncertainty, or ``None``.

    A reported SE or interval (``baseline_<crop>_se_ha``, ``_ci_low_ha``/``_ci_high_ha``)
    is ``baseline_uncertainty`` ``"given"``; without one the figure is taken as exact
    but for its rounding (:func:`reported_se`) and marked ``"not given"``.
    """
    value = prog.get(BASELINE_CROP_COLUMNS[crop], float("nan"))
    if value is None or pd.isna(value):
        return None
    value = float(value)
    se_col, low_col, high_col = baseline_uncertainty_columns(crop)
    se, low, high = (float(prog.get(c, np.nan)) for c in (se_col, low_col, high_col))
    fields: dict[str, Any] = dict(baseline_ha=value, baseline_uncertainty="given")
    if np.isfinite(low) and np.isfinite(high):
        z95 = z_value(BASELINE_INTERVAL_CONFIDENCE)
        fields.update(
            baseline_se_ha=(high - low) / (2 * z95),
            _baseline_low=low,
            _baseline_high=high,
            _z_baseline=z95,
        )
    elif np.isfinite(se):
        fields["baseline_se_ha"] = se
    else:
        fields.update(baseline_se_ha=reported_se(value), baseline_uncertainty="not given")
    return fields
