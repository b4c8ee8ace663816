"""What the maps show: per-district metrics and their colour classes.

The interactive map, the static PNGs and the report draw the same three
district layers per crop (estimated hectares, hectares per km², change since
baseline) with the same classes and colours, computed here once.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_hex

from core.errors import InvalidInputError
from core.legend import CROPS_OF_INTEREST, LEGEND

__all__ = [
    "NO_DATA_COLOUR",
    "CROP_LABELS",
    "METRICS",
    "Metric",
    "ColourScale",
    "district_table",
    "colour_scale",
    "crops_present",
]

logger = logging.getLogger(__name__)

NO_DATA_COLOUR = "#d9d9d9"
"""Fill of a district without an estimate for the layer shown."""

CROP_LABELS: dict[str, str] = {c.name: c.label for c in LEGEND}
"""People-facing names of the legend classes (``opium_poppy`` -> ``Opium poppy``)."""

ESTIMATE_COLUMNS = ("district_id", "year", "crop", "area_ha", "ci_low_ha", "ci_high_ha")


@dataclass(frozen=True)
class Metric:
    """One district layer of a crop."""

    key: str
    """Column suffix in :func:`district_table` (``area_ha``, ``ha_per_km2``, ``change_ha``)."""
    title: str
    """Legend / layer title."""
    units: str
    """Units shown next to values."""
    cmap: str
    """matplotlib colour map."""
    diverging: bool
    """Classes symmetric around zero (change) rather than from zero up."""
    missing: str = "no estimate"
    """Legend label of districts without a value."""


METRICS: tuple[Metric, ...] = (
    Metric("area_ha", "Estimated area", "ha", "YlOrRd", False),
    Metric("ha_per_km2", "Cultivation density", "ha per km²", "YlOrRd", False),
    Metric("change_ha", "Change since baseline", "ha", "RdBu_r", True, "no baseline"),
)
"""The switchable district layers, in the order of the layer control."""


def crops_present(district_estimates: pd.DataFrame) -> list[str]:
    """Crops of interest that have at least one estimate, in legend order."""
    present = set(district_estimates["crop"].dropna().astype(str))
    return [c for c in CROPS_OF_INTEREST if c in present]


def _check_columns(table: pd.DataFrame, required: tuple[str, ...], what: str) -> None:
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InvalidInputError(
            f"{what}: missing column(s) {missing}; expected at least {list(required)}"
        )


def _area_km2(districts: gpd.GeoDataFrame) -> pd.Series:
    if districts.crs is None:
        raise InvalidInputError("districts: no CRS; set the district layer's CRS before publishing")
    projected = (
        districts if districts.crs.is_projected else districts.to_crs(districts.estimate_utm_crs())
    )
    return projected.geometry.area / 1e6


def _change_from_programmes(programme_change: pd.DataFrame) -> pd.DataFrame:
    _check_columns(programme_change, ("district_id", "crop", "change_ha"), "programme_change")
    # several programmes may share a district: its change is the same district figure
    first = programme_change.drop_duplicates(["district_id", "crop"])
    columns = ["change_ha", "change_ci_low_ha", "change_ci_high_ha", "baseline_year", "baseline_ha"]
    return first.set_index(["district_id", "crop"]).reindex(columns=columns)


def _change_from_history(history: pd.DataFrame, year: int) -> pd.DataFrame:
    """Change against the earliest stored year (the baseline when no programme defines one)."""
    earlier = history[history["year"].astype(int) < year]
    if earlier.empty:
        return pd.DataFrame()
    first_year = earlier.groupby(["district_id", "crop"])["year"].transform("min")
    baseline = earlier[earlier["year"] == first_year].drop_duplicates(["district_id", "crop"])
    baseline = baseline.set_index(["district_id", "crop"])
    out = pd.DataFrame(index=baseline.index)
    out["baseline_year"] = baseline["year"].astype(int)
    out["baseline_ha"] = baseline["area_ha"].astype(float)
    out["baseline_se_ha"] = baseline["se_ha"] if "se_ha" in baseline else np.nan
    return out


def district_table(
    districts: gpd.GeoDataFrame,
    district_estimates: pd.DataFrame,
    *,
    programme_change: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """One row per district with every metric of every crop as ``<crop>_<metric>`` columns.

    Parameters
    ----------
    districts
        ``district_id``, ``district_name``, geometry (projected CRS).
    district_estimates
        Long table: one row per district and crop (``area_ha``, ``ci_low_ha``,
        ``ci_high_ha``, ``n_reference``, ...), one year.
    programme_change
        Change since programme baselines; gives ``<crop>_change_ha`` and its interval.
    history
        Estimates of all stored years; when ``programme_change`` is absent the
        earliest earlier year is the baseline of the change layer.

    Returns
    -------
    GeoDataFrame
        Districts in their input order with ``area_km2`` and, per crop,
        ``area_ha, ci_low_ha, ci_high_ha, n_reference, se_ha, ha_per_km2,
        change_ha, change_ci_low_ha, change_ci_high_ha, baseline_year``.

    Raises
    ------
    InvalidInputError
        Missing columns, or an estimate for a district the district layer lacks.
    """
    _check_columns(districts, ("district_id", "district_name"), "districts")
    _check_columns(district_estimates, ESTIMATE_COLUMNS, "district_estimates")
    unknown = sorted(set(district_estimates["district_id"]) - set(districts["district_id"]))
    if unknown:
        raise InvalidInputError(
            f"district_estimates: district_id {unknown[:5]} not in the district layer; "
            "publish with the districts the estimates were computed on"
        )
    table = districts[["district_id", "district_name", "geometry"]].copy()
    table["area_km2"] = _area_km2(districts).to_numpy()
    year = int(district_estimates["year"].max())
    change = pd.DataFrame()
    if programme_change is not None and len(programme_change):
        change = _change_from_programmes(programme_change)
    elif history is not None and len(history):
        change = _change_from_history(history, year)
    for crop in crops_present(district_estimates):
        rows = district_estimates[district_estimates["crop"] == crop].set_index("district_id")
        rows = rows[~rows.index.duplicated()]
        ids = table["district_id"]
        for column in ("area_ha", "ci_low_ha", "ci_high_ha", "n_reference", "se_ha"):
            source = rows[column] if column in rows else pd.Series(np.nan, index=rows.index)
            table[f"{crop}_{column}"] = ids.map(source).astype(float).to_numpy()
        table[f"{crop}_ha_per_km2"] = table[f"{crop}_area_ha"] / table["area_km2"]
        _add_change(table, change, crop)
    return table


def _add_change(table: gpd.GeoDataFrame, change: pd.DataFrame, crop: str) -> None:
    keys = pd.MultiIndex.from_arrays([table["district_id"], [crop] * len(table)])
    names = ("change_ha", "change_ci_low_ha", "change_ci_high_ha", "baseline_year")
    if change.empty:
        for name in names:
            table[f"{crop}_{name}"] = np.nan
        return
    matched = change.reindex(keys)
    if "change_ha" in matched:
        for name in names:
            table[f"{crop}_{name}"] = matched[name].astype(float).to_numpy()
        return
    # baseline from history: change = current - baseline, 95% interval from both SEs
    current = table[f"{crop}_area_ha"].to_numpy()
    delta = current - matched["baseline_ha"].to_numpy(dtype=float)
    se = np.sqrt(
        table[f"{crop}_se_ha"].to_numpy() ** 2
        + matched["baseline_se_ha"].to_numpy(dtype=float) ** 2
    )
    table[f"{crop}_change_ha"] = delta
    table[f"{crop}_change_ci_low_ha"] = delta - 1.96 * se
    table[f"{crop}_change_ci_high_ha"] = delta + 1.96 * se
    table[f"{crop}_baseline_year"] = matched["baseline_year"].astype(float).to_numpy()


def _nice(value: float) -> float:
    """Round up to 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * 10**exponent >= value * (1 - 1e-9):
            return step * 10**exponent
    return 10 ** (exponent + 1)  # pragma: no cover


def _ceil_sig(value: float, digits: int = 2) -> float:
    """Round up to ``digits`` significant digits (10,400 -> 11,000)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    step = 10 ** (math.floor(math.log10(value)) - digits + 1)
    return math.ceil(value / step - 1e-9) * step


def _round_sig(value: float, digits: int = 2) -> float:
    if value == 0 or not math.isfinite(value):
        return 0.0
    return round(value, -int(math.floor(math.log10(abs(value)))) + digits - 1)


@dataclass(frozen=True)
class ColourScale:
    """Classes of a metric: ``len(colours) == len(breaks) - 1``, lower edge inclusive."""

    breaks: tuple[float, ...]
    colours: tuple[str, ...]

    def classify(self, values: np.ndarray | pd.Series) -> np.ndarray:
        """Class index of each value; ``-1`` for NaN."""
        array = np.asarray(values, dtype=float)
        index = np.clip(
            np.digitize(array, self.breaks[1:-1], right=False), 0, len(self.colours) - 1
        )
        return np.where(np.isfinite(array), index, -1)

    def colour_of(self, values: np.ndarray | pd.Series) -> list[str]:
        """Hex colour of each value; :data:`NO_DATA_COLOUR` for NaN."""
        return [self.colours[i] if i >= 0 else NO_DATA_COLOUR for i in self.classify(values)]

    def labels(self, digits: int = 0) -> list[str]:
        """Legend label of each class (``"10 – 20"``)."""
        fmt = f"{{:,.{digits}f}}"
        return [
            f"{fmt.format(lo)} – {fmt.format(hi)}"
            for lo, hi in zip(self.breaks[:-1], self.breaks[1:], strict=True)
        ]


def colour_scale(values: np.ndarray | pd.Series, metric: Metric, n_classes: int = 5) -> ColourScale:
    """Colour classes for the values of one metric layer.

    Sequential metrics get quantile classes from 0 to the maximum (rounded to
    two significant digits, duplicates merged); diverging ones get
    ``n_classes`` (made odd) equal classes symmetric around zero with a
    neutral middle class.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    cmap = colormaps[metric.cmap]
    if metric.diverging:
        n = n_classes if n_classes % 2 else n_classes + 1
        limit = _nice(float(np.max(np.abs(finite)))) if finite.size else 1.0
        breaks = tuple(float(b) for b in np.linspace(-limit, limit, n + 1))
        colours = tuple(to_hex(cmap(x)) for x in np.linspace(0.1, 0.9, n))
        return ColourScale(breaks, colours)
    top = float(finite.max()) if finite.size else 0.0
    if top <= 0:
        return ColourScale((0.0, 1.0), (to_hex(cmap(0.15)),))
    upper = _ceil_sig(top)
    inner = np.quantile(finite, np.linspace(0, 1, n_classes + 1)[1:-1])
    edges = sorted({0.0, *(r for q in inner if 0 < (r := _round_sig(float(q))) < upper), upper})
    colours = tuple(to_hex(cmap(x)) for x in np.linspace(0.15, 0.95, len(edges) - 1))
    return ColourScale(tuple(edges), colours)
