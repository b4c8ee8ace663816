"""Static PNG maps for print and slides (matplotlib).

Every map has a title naming the crop and year, a legend, a scale bar, a
north arrow and, for demo data, a SYNTHETIC banner. The title is also stored
in the PNG's ``Title`` text chunk so tools (and tests) can read it back.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # headless: publishing runs on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import Normalize, to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar  # noqa: E402

from core.io import atomic_path  # noqa: E402
from core.legend import LEGEND  # noqa: E402
from maps.fonts import configure_fonts  # noqa: E402
from maps.layers import CROP_LABELS, NO_DATA_COLOUR, ColourScale, Metric  # noqa: E402
from maps.rasters import NDVI_CMAP, NDVI_RANGE, class_rgba, read_preview  # noqa: E402

configure_fonts()  # district names in every script of the region (maps.fonts)

__all__ = [
    "SYNTHETIC_TEXT",
    "save_figure",
    "add_map_furniture",
    "choropleth_png",
    "raster_png",
    "thumbnail_png",
]

logger = logging.getLogger(__name__)

SYNTHETIC_TEXT = "SYNTHETIC DEMO DATA – not real survey results"
"""Banner text on every output of a synthetic run."""


def _nice_length(max_length: float) -> float:
    """Largest 1, 2 or 5 × 10^k not above ``max_length``."""
    if max_length <= 0:
        return 1.0
    exponent = math.floor(math.log10(max_length))
    for step in (5, 2, 1):
        if step * 10**exponent <= max_length:
            return float(step * 10**exponent)
    return float(10**exponent)


def add_map_furniture(ax: plt.Axes, *, crs_units_m: bool = True) -> None:
    """Add a scale bar (lower right) and a north arrow (upper right) to a map axes.

    The axes must be in a projected CRS in metres (grid north is up).
    """
    x0, x1 = ax.get_xlim()
    if crs_units_m:
        length = _nice_length((x1 - x0) / 4)
        label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
        bar = AnchoredSizeBar(
            ax.transData,
            length,
            label,
            loc="lower right",
            pad=0.6,
            borderpad=0.8,
            sep=4,
            frameon=True,
            size_vertical=(ax.get_ylim()[1] - ax.get_ylim()[0]) / 150,
        )
        bar.patch.set_alpha(0.85)
        ax.add_artist(bar)
    ax.annotate(
        "N",
        xy=(0.95, 0.97),
        xytext=(0.95, 0.85),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=13,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 4, "headwidth": 12, "headlength": 10},
    )


def _banner(fig: Figure, synthetic: bool) -> None:
    if synthetic:
        fig.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))  # keep the banner off the axes
        fig.text(
            0.5,
            0.005,
            SYNTHETIC_TEXT,
            ha="center",
            va="bottom",
            color="white",
            fontsize=11,
            fontweight="bold",
            bbox={"facecolor": "#b30000", "edgecolor": "none", "pad": 4},
        )


def save_figure(fig: Figure, path: Path, *, title: str, dpi: int = 150) -> Path:
    """Save a figure atomically as PNG with ``title`` in its metadata, and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Title": title, "Software": "admon"})
    plt.close(fig)
    return path


def _drawn_when_saved(fig: Figure) -> Figure:
    """``fig`` with its idle redraws skipped: it is drawn once, when ``save_figure`` saves it.

    geopandas' ``plot`` ends with ``canvas.draw_idle()``. On the Agg canvas of a figure
    that only goes to a file, that renders the whole figure there and then, constrained
    layout and every label included, and throws the pixels away: one full draw per
    layer plotted, about a fifth of a map's cost.
    """
    fig.canvas.draw_idle = lambda *args, **kwargs: None  # type: ignore[method-assign]
    return fig


def _map_axes(
    title: str, subtitle: str, bounds: tuple[float, float, float, float]
) -> tuple[Figure, plt.Axes]:
    """A figure whose height follows the map's aspect ratio, so no band of white is left."""
    left, bottom, right, top = bounds
    aspect = (top - bottom) / (right - left) if right > left else 1.0
    fig, ax = plt.subplots(
        figsize=(9, float(np.clip(7.2 * aspect + 1.8, 4.5, 12))), layout="constrained"
    )
    _drawn_when_saved(fig)
    fig.suptitle(title, fontsize=14, fontweight="bold")
    ax.set_title(subtitle, fontsize=10, color="#333333")
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)
    ax.ticklabel_format(style="plain", useOffset=False)
    return fig, ax


def choropleth_png(
    table: gpd.GeoDataFrame,
    crop: str,
    metric: Metric,
    scale: ColourScale,
    out_png: Path,
    *,
    year: int,
    run_id: str,
    synthetic: bool = False,
) -> Path:
    """Write a classed district map of one crop and metric.

    Parameters
    ----------
    table
        :func:`maps.layers.district_table` output (projected CRS).
    crop, metric, scale
        The layer and its colour classes (same as the interactive map).
    out_png
        Output path.
    year, run_id, synthetic
        Title, subtitle and banner.

    Returns
    -------
    Path
        ``out_png``.
    """
    column = f"{crop}_{metric.key}"
    title = f"{CROP_LABELS[crop]} {year}: {metric.title.lower()} ({metric.units}) per district"
    fig, ax = _map_axes(
        title, f"admon run {run_id} · crs {table.crs.to_string()}", table.total_bounds
    )
    fills = scale.colour_of(table[column])
    table.plot(ax=ax, color=fills, edgecolor="#4d4d4d", linewidth=0.4 if len(table) > 200 else 0.8)
    handles = [
        Patch(facecolor=c, edgecolor="#777777", label=lab)
        for c, lab in zip(
            scale.colours, scale.labels(2 if scale.breaks[-1] < 10 else 0), strict=True
        )
    ]
    if np.isnan(table[column].to_numpy(dtype=float)).any():
        handles.append(Patch(facecolor=NO_DATA_COLOUR, edgecolor="#777777", label=metric.missing))
    ax.legend(
        handles=handles,
        title=metric.units,
        loc="upper left",
        fontsize=10.5,  # the 9 in map prints at 80% on A4: over 8 pt on paper
        title_fontsize=11,
        framealpha=0.9,
    )
    label_districts(ax, table)
    add_map_furniture(ax)
    _banner(fig, synthetic)
    return save_figure(fig, out_png, title=title)


def label_districts(ax, table: gpd.GeoDataFrame, *, max_labels: int = 120) -> int:  # type: ignore[no-untyped-def]
    """Write district names inside their districts where they fit and overlap no other.

    A name is drawn only where the district is wider on the page than the name (so
    a map of a thousand small districts shows the names of the large ones, or none),
    larger districts first. Returns the number of labels drawn.
    """
    if "district_name" not in table or not len(table):
        return 0
    fontsize = 7.0
    points_per_char = 0.62 * fontsize  # DejaVu Sans at 7 pt: about 4.3 pt per character
    scale = ax.figure.dpi / 72.0
    engine = ax.figure.get_layout_engine()
    if engine is not None:  # place the axes where saving will, so widths are those of the page
        engine.execute(ax.figure)
    bounds = table.geometry.bounds
    corners = ax.transData.transform(
        np.column_stack([bounds["minx"], bounds["miny"], bounds["maxx"], bounds["maxy"]]).reshape(
            -1, 2
        )
    ).reshape(-1, 4)
    width_px = pd.Series(np.abs(corners[:, 2] - corners[:, 0]), index=table.index)
    renderer = ax.figure.canvas.get_renderer()
    order = table.geometry.area.sort_values(ascending=False).index
    placed: list = []
    for index in order:
        name = table.at[index, "district_name"]
        if not isinstance(name, str) or not name.strip():
            continue
        if len(name) * points_per_char * scale > width_px[index]:
            continue  # the name would spill out of its district
        point = table.geometry[index].representative_point()
        text = ax.annotate(
            name,
            (point.x, point.y),
            ha="center",
            va="center",
            fontsize=fontsize,
            color="#1a1a1a",
            bbox={"facecolor": "white", "alpha": 0.6, "edgecolor": "none", "pad": 0.6},
        )
        box = text.get_window_extent(renderer).expanded(1.05, 1.1)
        if any(box.overlaps(other) for other in placed):
            text.remove()
            continue
        placed.append(box)
        if len(placed) >= max_labels:
            break
    return len(placed)


def raster_png(
    raster: Path,
    kind: str,
    districts: gpd.GeoDataFrame,
    out_png: Path,
    *,
    year: int,
    run_id: str,
    synthetic: bool = False,
    max_size: int = 1400,
) -> Path:
    """Write the class map (``kind="classes"``) or the NDVI composite (``"ndvi"``) as a PNG map.

    District outlines are drawn over the raster, which is read decimated (see
    :func:`maps.rasters.read_preview`) in the district CRS.
    """
    preview = read_preview(
        raster, categorical=kind == "classes", max_size=max_size, dst_crs=districts.crs
    )
    left, bottom, right, top = preview.bounds
    if kind == "classes":
        title = f"Land cover class map {year} (opium poppy / cannabis)"
    else:
        title = f"NDVI season composite {year}"
    fig, ax = _map_axes(title, f"admon run {run_id} · {raster.name}", preview.bounds)
    extent = (left, right, bottom, top)
    if kind == "classes":
        ax.imshow(class_rgba(preview.values), extent=extent, interpolation="nearest")
        handles = [Patch(facecolor=c.colour, edgecolor="#777777", label=c.label) for c in LEGEND]
        ax.legend(
            handles=handles,
            loc="upper left",
            fontsize=10.5,
            title_fontsize=11,
            framealpha=0.9,
            title="class",
        )
    else:
        image = ax.imshow(
            np.ma.masked_invalid(preview.values),
            extent=extent,
            cmap=NDVI_CMAP,
            norm=Normalize(*NDVI_RANGE),
            interpolation="nearest",
        )
        fig.colorbar(image, ax=ax, shrink=0.7, label="NDVI")
    districts.boundary.plot(ax=ax, color="#222222", linewidth=0.5)
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    add_map_furniture(ax)
    _banner(fig, synthetic)
    return save_figure(fig, out_png, title=title)


def thumbnail_png(
    table: gpd.GeoDataFrame,
    column: str,
    scale: ColourScale | None,
    out_png: Path,
    *,
    title: str,
    synthetic: bool,
    caption: str = "",
) -> Path:
    """A 320×240 px preview of a choropleth for the gallery, with its caption and legend.

    ``caption`` (e.g. ``"Opium poppy 2025 (ha)"``) is drawn across the top; the
    class colours with the lowest and highest class bounds along the bottom,
    so the picture says what it shows without the page around it.
    """
    fig = _drawn_when_saved(plt.figure(figsize=(3.2, 2.4)))
    ax = fig.add_axes((0.01, 0.15, 0.98, 0.72))
    ax.set_axis_off()
    colours = (
        scale.colour_of(table[column])
        if scale and column in table
        else [NO_DATA_COLOUR] * len(table)
    )
    table.plot(ax=ax, color=colours, edgecolor="#555555", linewidth=0.3)
    ax.set_aspect("equal")
    if caption:
        fig.text(0.03, 0.97, caption, ha="left", va="top", fontsize=9, fontweight="bold")
    if scale is not None and column in table:
        ramp = fig.add_axes((0.03, 0.05, 0.42, 0.06))
        ramp.imshow([[to_rgb(c) for c in scale.colours]], aspect="auto")
        ramp.set_xticks([])
        ramp.set_yticks([])
        digits = 1 if scale.breaks[-1] < 10 else 0
        fig.text(0.03, 0.12, f"{scale.breaks[0]:,.{digits}f}", fontsize=7, va="bottom")
        fig.text(0.45, 0.12, f"{scale.breaks[-1]:,.{digits}f}", fontsize=7, va="bottom", ha="right")
    if synthetic:
        fig.text(
            0.97,
            0.03,
            "SYNTHETIC",
            ha="right",
            va="bottom",
            color="white",
            fontsize=9,
            fontweight="bold",
            bbox={"facecolor": "#b30000", "edgecolor": "none", "pad": 2},
        )
    return save_figure(fig, out_png, title=title, dpi=100)
