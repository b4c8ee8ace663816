"""The uncertainty of a programme's reported baseline: an SE or an interval, per crop.

A reported baseline is often itself a survey estimate (a baseline census is rare),
as uncertain as this year's. The programme table may say how uncertain with, per crop,
``baseline_<crop>_se_ha`` or a 95% interval ``baseline_<crop>_ci_low_ha`` /
``baseline_<crop>_ci_high_ha`` (an asymmetric one is kept as it is: the change
interval uses its limits). A baseline with neither is "uncertainty not given": the
change analysis treats it as exact (apart from its rounding) and says its verdict is
conditional on that.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = [
    "BASELINE_UNCERTAINTY_COLUMNS",
    "BASELINE_INTERVAL_CONFIDENCE",
    "baseline_uncertainty_columns",
    "validate_baseline_uncertainty",
]

_CROPS = ("opium_poppy", "cannabis")

BASELINE_INTERVAL_CONFIDENCE = 0.95
"""Level of a reported baseline interval (``baseline_<crop>_ci_low_ha``/``_ci_high_ha``)."""


def baseline_uncertainty_columns(crop: str) -> tuple[str, str, str]:
    """``(se, ci_low, ci_high)`` column names of a crop's reported baseline uncertainty."""
    return (
        f"baseline_{crop}_se_ha",
        f"baseline_{crop}_ci_low_ha",
        f"baseline_{crop}_ci_high_ha",
    )


BASELINE_UNCERTAINTY_COLUMNS: tuple[str, ...] = tuple(
    name for crop in _CROPS for name in baseline_uncertainty_columns(crop)
)
"""Optional columns of the programme table, after ``PROGRAMME_COLUMNS``."""


def validate_baseline_uncertainty(
    row: dict[str, Any],
    record: dict[str, Any],
    number: Callable[[Any], float | str | None],
    fail: Callable[[str, str], None],
) -> None:
    """Read the uncertainty columns of one row into ``record``; report problems by ``fail``.

    ``record`` already holds the baseline areas (``baseline_<crop>_ha``, NaN if empty).
    ``number`` parses a cell (``None`` if empty, ``"bad"`` if not a number).
    """
    for crop in _CROPS:
        value = record.get(f"baseline_{crop}_ha", math.nan)
        se_col, low_col, high_col = baseline_uncertainty_columns(crop)
        parsed: dict[str, float] = {}
        for col in (se_col, low_col, high_col):
            cell = number(row.get(col))
            if cell == "bad":
                fail(col, f"{row.get(col)!r} is not a number; leave it empty if unknown")
                cell = None
            elif cell is not None and cell < 0:
                fail(col, f"is negative ({cell}); an SE or an area limit is zero or more")
                cell = None
            parsed[col] = math.nan if cell is None else float(cell)
            record[col] = parsed[col]
        se, low, high = parsed[se_col], parsed[low_col], parsed[high_col]
        given = [c for c in (se_col, low_col, high_col) if not math.isnan(parsed[c])]
        if given and math.isnan(value):
            fail(given[0], f"is given but baseline_{crop}_ha is empty; give the baseline too")
        if math.isnan(low) != math.isnan(high):
            fail(
                low_col if math.isnan(low) else high_col,
                f"is empty while its pair is given; a baseline interval needs both "
                f"{low_col} and {high_col}",
            )
        elif not math.isnan(low) and not math.isnan(value) and not low <= value <= high:
            fail(
                low_col,
                f"{low} – {high_col} {high} does not contain baseline_{crop}_ha {value}; "
                "give the interval of that baseline (low <= baseline <= high)",
            )
        if not math.isnan(se) and not math.isnan(low):
            fail(se_col, f"and {low_col}/{high_col} are both given; give one of them")
