"""Charts of a run: hectares per district with 95% intervals, programme time series."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from core.legend import LEGEND  # noqa: E402
from geo.estimation import z_value  # noqa: E402
from maps.layers import CROP_LABELS  # noqa: E402
from maps.static import SYNTHETIC_TEXT, save_figure  # noqa: E402
from models.change import sum_of_districts  # noqa: E402

__all__ = ["district_chart", "programme_district_series", "programme_chart"]

logger = logging.getLogger(__name__)

_COLOURS = {c.name: c.colour for c in LEGEND}


def _banner(fig: plt.Figure, synthetic: bool) -> None:
    if synthetic:
        fig.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))  # room below the axes
        fig.text(
            0.99,
            0.005,
            SYNTHETIC_TEXT,
            ha="right",
            va="bottom",
            color="white",
            fontsize=9,
            fontweight="bold",
            bbox={"facecolor": "#b30000", "edgecolor": "none", "pad": 3},
        )


def district_chart(
    district_estimates: pd.DataFrame,
    crop: str,
    out_png: Path,
    *,
    year: int,
    synthetic: bool = False,
    top: int = 30,
) -> Path:
    """Horizontal bars of estimated hectares per district with 95% interval error bars.

    Districts are sorted by estimate, largest on top; beyond ``top`` districts
    only the largest are drawn and the title says how many there are.

    Returns
    -------
    Path
        ``out_png``.
    """
    rows = district_estimates[district_estimates["crop"] == crop].sort_values(
        "area_ha", ascending=False
    )
    total = len(rows)
    rows = rows.head(top).iloc[::-1]
    label = CROP_LABELS[crop]
    title = f"{label} {year}: estimated area per district (ha, 95% interval)"
    if total > top:
        title += f" – largest {top} of {total}"
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.28 * len(rows) + 1.6)), layout="constrained")
    area = rows["area_ha"].to_numpy(dtype=float)
    low = np.clip(area - rows["ci_low_ha"].to_numpy(dtype=float), 0, None)
    high = np.clip(rows["ci_high_ha"].to_numpy(dtype=float) - area, 0, None)
    names = [f"{n} ({i})" for n, i in zip(rows["district_name"], rows["district_id"], strict=True)]
    ax.barh(
        names,
        area,
        color=_COLOURS.get(crop, "#777777"),
        alpha=0.85,
        xerr=np.vstack([low, high]),
        error_kw={"ecolor": "#222222", "capsize": 3, "lw": 1},
    )
    ax.set_xlabel("hectares")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
    ax.set_title(title, fontsize=11, fontweight="bold")
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="y", labelsize=8)
    _banner(fig, synthetic)
    return save_figure(fig, out_png, title=title)


def programme_district_series(
    programme_change: pd.DataFrame, history: pd.DataFrame | None, current: pd.DataFrame
) -> pd.DataFrame:
    """Area per year of each programme district and crop, for the time series chart.

    Per district (``models.change.programme_series`` has the programme totals).

    Parameters
    ----------
    programme_change
        ``programme_id, district_id, crop, baseline_year, baseline_ha`` (one run).
    history
        Estimates of every stored year (``district_id, crop, year, area_ha,
        ci_low_ha, ci_high_ha``); may be ``None``.
    current
        This run's district estimates (added when ``history`` lacks them).

    Returns
    -------
    DataFrame
        ``programme_id, district_id, crop, year, area_ha, ci_low_ha, ci_high_ha``
        sorted by programme, district, crop and year.
    """
    columns = ["district_id", "crop", "year", "area_ha", "ci_low_ha", "ci_high_ha"]
    frames = [current[columns]]
    if history is not None and len(history):
        frames.insert(0, history[columns])
    estimates = pd.concat(frames).drop_duplicates(["district_id", "crop", "year"], keep="last")
    pairs = programme_change[["programme_id", "district_id", "crop"]].drop_duplicates()
    series = pairs.merge(estimates, on=["district_id", "crop"], how="inner")
    return series.sort_values(["programme_id", "district_id", "crop", "year"]).reset_index(
        drop=True
    )


def programme_chart(
    programme_change: pd.DataFrame,
    series: pd.DataFrame,
    out_png: Path,
    *,
    year: int,
    synthetic: bool = False,
    max_programmes: int = 12,
    names: dict[str, str] | None = None,
    max_districts: int = 4,
) -> Path:
    """One panel per AD programme: district area per year (95% interval) and its baseline.

    ``names`` maps programme ids to names for the panel titles. A programme over more
    than ``max_districts`` districts is drawn as its total per crop (the sum of its
    districts, intervals combined in quadrature as for independent district samples,
    against the programme-wide ``ALL`` baseline), since dozens of lines in one panel
    could not be read.

    Returns
    -------
    Path
        ``out_png``.
    """
    programmes = list(dict.fromkeys(programme_change["programme_id"]))[:max_programmes]
    # 9 in wide prints at 80% on A4: the 10.5 pt legend stays above 8 pt on paper
    cols = min(2, len(programmes))
    rows = int(np.ceil(len(programmes) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(9, 4.4 * rows), squeeze=False, layout="constrained"
    )
    title = f"AD programmes: cultivation per year against baseline (runs up to {year})"
    fig.suptitle(title, fontsize=12, fontweight="bold")
    for ax, programme_id in zip(axes.flat, programmes, strict=False):
        change = programme_change[programme_change["programme_id"] == programme_id]
        lines = series[series["programme_id"] == programme_id]
        n_districts = lines["district_id"].nunique()
        if n_districts > max_districts:
            lines = _programme_totals(lines, n_districts)
            change = change[change["district_id"] == "ALL"]
        for k, ((district_id, crop), line) in enumerate(lines.groupby(["district_id", "crop"])):
            style = {"marker": "os^Dv"[k % 5], "ls": ("-", "-.", ":")[k % 3]}
            colour = _COLOURS.get(crop, "#555555")
            area = line["area_ha"].to_numpy(dtype=float)
            err = np.vstack(
                [
                    area - line["ci_low_ha"].to_numpy(dtype=float),
                    line["ci_high_ha"].to_numpy(dtype=float) - area,
                ]
            ).clip(0)
            ax.errorbar(
                line["year"],
                area,
                yerr=err,
                **style,
                capsize=3,
                color=colour,
                label=(
                    f"all {n_districts} districts {CROP_LABELS.get(crop, crop)}"
                    if district_id == "ALL"
                    else f"{district_id} {CROP_LABELS.get(crop, crop)}"
                ),
            )
            base = change[(change["district_id"] == district_id) & (change["crop"] == crop)]
            if len(base) and pd.notna(base["baseline_ha"].iloc[0]):
                ax.axhline(float(base["baseline_ha"].iloc[0]), color=colour, ls="--", lw=1)
                ax.plot(
                    [base["baseline_year"].iloc[0]],
                    [base["baseline_ha"].iloc[0]],
                    marker="s",
                    color=colour,
                    mfc="white",
                )
        name = (names or {}).get(str(programme_id))
        ax.set_title(f"{programme_id} – {name}" if name else str(programme_id), fontsize=10)
        ax.set_ylabel("hectares")
        shown = lines["year"].tolist()
        years = sorted({int(y) for y in shown + change["baseline_year"].dropna().tolist()})
        if years:  # whole years only, and a sensible span even for a single run
            ax.set_xticks(years)
            ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        ax.grid(alpha=0.3)
        ax.legend(  # below the axes, where it covers no data point
            fontsize=10.5,
            title="district / crop (-- baseline)",
            title_fontsize=10.5,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12),
            ncols=2,
            frameon=False,
        )
    for ax in list(axes.flat)[len(programmes) :]:
        ax.set_axis_off()
    _banner(fig, synthetic)
    return save_figure(fig, out_png, title=title)


def _programme_totals(lines: pd.DataFrame, n_districts: int) -> pd.DataFrame:
    """Sum a programme's district series per crop and year (``district_id`` ``"ALL"``).

    The sum and its interval come from ``models.change.sum_of_districts``, as in
    ``programme_series.csv``; a year without an estimate for every district is left
    out rather than drawn as a drop.
    """
    z = z_value(0.95)  # the charts draw 95% intervals
    rows = []
    for (crop, year), part in lines.groupby(["crop", "year"]):
        if part["district_id"].nunique() != n_districts:
            continue
        se = (part["ci_high_ha"] - part["ci_low_ha"]).to_numpy(dtype=float) / (2 * z)
        area, total_se = sum_of_districts(part["area_ha"].to_numpy(dtype=float), se)
        rows.append(
            {
                "crop": crop,
                "year": year,
                "area_ha": area,
                "district_id": "ALL",
                "ci_low_ha": max(0.0, area - z * total_se),
                "ci_high_ha": area + z * total_se,
            }
        )
    return pd.DataFrame(
        rows, columns=["crop", "year", "area_ha", "district_id", "ci_low_ha", "ci_high_ha"]
    )
