"""The print map of change since baseline: colour says the verdict, circle size says how much.

A classed red–blue ramp makes a change of +3 ha with an interval of ±40 ha
look as alarming as a significant +300 ha. Here the fill is the verdict read
from the 95 % interval (:func:`maps.front.verdict_of`: increase, decrease or
no detectable change) and a circle at each district's centre, its area
proportional to the size of the change, is the second cue. The legend says
both.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from maps.front import verdict_of
from maps.layers import CROP_LABELS
from maps.static import _banner, _map_axes, add_map_furniture, label_districts, save_figure

__all__ = ["VERDICT_COLOURS", "district_verdicts", "change_verdict_png"]

logger = logging.getLogger(__name__)

VERDICT_COLOURS: dict[str, str] = {
    "increase": "#d7301f",
    "decrease": "#2171b5",
    "no detectable change": "#bdbdbd",
}
"""Fill of a district by the verdict on its change (colour-blind safe red/blue/grey)."""

_NO_BASELINE = "#ffffff"  # hatched over white
_MAX_MARKER_PT2 = 900.0  # area, in points², of the circle for the largest change


def district_verdicts(table: gpd.GeoDataFrame, crop: str) -> list[str]:
    """Verdict per district from ``<crop>_change_ci_low_ha`` / ``_high_ha``.

    Districts without a change (no baseline) get ``"no baseline"``; a change without
    an interval gets ``"no interval"`` (:func:`maps.front.verdict_of`).
    """
    change = table[f"{crop}_change_ha"].to_numpy(dtype=float)
    low = table[f"{crop}_change_ci_low_ha"].to_numpy(dtype=float)
    high = table[f"{crop}_change_ci_high_ha"].to_numpy(dtype=float)
    return [
        "no baseline" if not np.isfinite(c) else verdict_of(lo, hi)
        for c, lo, hi in zip(change, low, high, strict=True)
    ]


def _nice(value: float) -> float:
    """1, 2 or 5 × 10^k at or below ``value`` (legend circle sizes)."""
    exponent = np.floor(np.log10(value))
    for step in (5, 2, 1):
        if step * 10**exponent <= value:
            return float(step * 10**exponent)
    return float(10**exponent)


def change_verdict_png(
    table: gpd.GeoDataFrame,
    crop: str,
    out_png: Path,
    *,
    year: int,
    run_id: str,
    synthetic: bool = False,
) -> Path:
    """Write the change-since-baseline map of one crop, coloured by verdict.

    Parameters
    ----------
    table
        :func:`maps.layers.district_table` output (projected CRS) with
        ``<crop>_change_ha`` and its 95 % interval.
    crop
        Crop key (``opium_poppy``, ``cannabis``).
    out_png
        Output path.
    year, run_id, synthetic
        Title, subtitle and banner.

    Returns
    -------
    Path
        ``out_png``.
    """
    change = table[f"{crop}_change_ha"].to_numpy(dtype=float)
    verdicts = district_verdicts(table, crop)
    title = f"{CROP_LABELS[crop]} {year}: change since baseline (ha) per district"
    fig, ax = _map_axes(
        title, f"admon run {run_id} · crs {table.crs.to_string()}", table.total_bounds
    )
    fills = [VERDICT_COLOURS.get(v, _NO_BASELINE) for v in verdicts]
    width = 0.4 if len(table) > 200 else 0.8
    table.plot(ax=ax, color=fills, edgecolor="#4d4d4d", linewidth=width)
    unknown = [v not in VERDICT_COLOURS for v in verdicts]
    if any(unknown):  # no baseline: hatched, so it never reads as "no change"
        table[unknown].plot(ax=ax, facecolor="none", edgecolor="#8c8c8c", hatch="//", linewidth=0)
    size = np.abs(change)
    largest = float(np.nanmax(size)) if np.isfinite(size).any() else 0.0
    handles: list = [
        Patch(facecolor=c, edgecolor="#777777", label=v)
        for v, c in VERDICT_COLOURS.items()
        if v in verdicts
    ]
    for missing in ("no baseline", "no interval"):  # hatched: never read as "no change"
        if missing in verdicts:
            handles.append(
                Patch(facecolor=_NO_BASELINE, edgecolor="#8c8c8c", hatch="//", label=missing)
            )
    if largest > 0:
        finite = np.isfinite(size) & (size > 0)
        centres = table.geometry.representative_point()[finite]
        ax.scatter(
            centres.x,
            centres.y,
            s=_MAX_MARKER_PT2 * size[finite] / largest,
            facecolors="none",
            edgecolors="#252525",
            linewidths=1.1,
            zorder=3,
        )
        for ref in sorted({_nice(largest), _nice(largest / 4)}, reverse=True):
            handles.append(
                Line2D(
                    [],
                    [],
                    linestyle="none",
                    marker="o",
                    markerfacecolor="none",
                    markeredgecolor="#252525",
                    markersize=float(np.sqrt(_MAX_MARKER_PT2 * ref / largest)),
                    label=f"{ref:,g} ha change",
                )
            )
    ax.legend(
        handles=handles,
        title="Fill: verdict (95% interval)\nCircle area: size of change",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),  # beside the map: never over a district
        fontsize=10.5,  # over 8 pt on A4 (see maps.static.choropleth_png)
        title_fontsize=10.5,
        framealpha=0.9,
        labelspacing=1.0,
    )
    label_districts(ax, table)
    add_map_furniture(ax)
    _banner(fig, synthetic)
    logger.debug("change map %s: %d districts", out_png.name, len(verdicts))
    return save_figure(fig, out_png, title=title)
