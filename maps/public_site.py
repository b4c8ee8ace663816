"""The public set of a run, in ``<run>/public/``: aggregates, intervals, verdicts, coarse maps.

No survey plot, segment, team, survey date, full-resolution raster or input file
reaches it; household feedback is published only for cells of at least
``PublicPolicy.min_households`` households, field-plot figures of eradication only
from at least ``PublicPolicy.min_plots`` plots (:func:`maps.public.suppress_few_plots`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from core.io import read_csv_table
from maps.downloads import write_downloads, write_published_table
from maps.figures import DrawnFigures, Run, charts, choropleths, record, survey_name_of, thumbnail
from maps.interactive import Overlay, build_interactive_map
from maps.layers import crops_present, district_table
from maps.programme_areas import programme_areas
from maps.public import (
    PublicPolicy,
    public_manifest,
    suppress_few_plots,
    suppress_small_cells,
    suppress_thin_yields,
)
from maps.rasters import cultivation_density, write_overlay_png
from maps.report import build_report

__all__ = ["publish_public"]

logger = logging.getLogger(__name__)


def publish_public(
    restricted: Run,
    policy: PublicPolicy,
    *,
    districts: gpd.GeoDataFrame,
    district_estimates: pd.DataFrame,
    programme_change: pd.DataFrame | None,
    class_map: Any,
    programmes: pd.DataFrame | None,
    manifest: dict[str, Any],
    history: pd.DataFrame | None,
    drawn: DrawnFigures | None = None,
) -> dict[str, Any]:
    """Write the public set of a run into ``<run_dir>/public/``; return its files by kind.

    Parameters
    ----------
    restricted
        The run being published (its folder holds the restricted set).
    policy
        What the public set shows.
    districts, district_estimates, programme_change, class_map, programmes, manifest, history
        As given to :func:`maps.publish_run`.
    drawn
        The restricted set's figures: one this set would draw from the same arguments is
        copied instead (:class:`maps.figures.DrawnFigures`).

    Returns
    -------
    dict
        ``map``, ``thumbnail``, ``record`` and, as the policy allows, ``report``,
        ``csv``/``gpkg``/``geojson`` and ``programme_change``; ``copied``: the figures
        copied from ``drawn``.
    """
    target = restricted.run_dir / "public"
    target.mkdir(exist_ok=True)
    for stale in target.iterdir():  # a part switched off since the last publication
        if stale.is_file():
            stale.unlink()
    run = Run(target, restricted.year, restricted.run_id, restricted.synthetic)
    label = {
        "run_id": run.run_id,
        "synthetic": run.synthetic,
        "survey_name": survey_name_of(manifest),
    }
    change = None
    if policy.shows("programmes"):
        change = suppress_small_cells(programme_change, policy.min_households)
    table = district_table(districts, district_estimates, programme_change=change, history=history)
    crops = crops_present(district_estimates)
    density = None
    if policy.shows("density") and class_map is not None:
        density = _density_overlay(restricted.run_dir, target, class_map, policy.density_cell_km2)
    areas = None
    if change is not None and programmes is not None:
        areas = programme_areas(programmes, districts, change)
    out: dict[str, Any] = {
        "map": build_interactive_map(
            target,
            table,
            year=run.year,
            run_id=run.run_id,
            synthetic=run.synthetic,
            programme_areas=areas,
            survey_name=survey_name_of(manifest),
            density_overlay=density,
        )
    }
    copied_before = len(drawn.copied) if drawn is not None else 0
    map_figures = choropleths(run, table, crops, drawn) if policy.shows("estimates") else []
    chart_figures = []
    if policy.shows("charts"):
        chart_figures = charts(run, crops, district_estimates, change, history, programmes, drawn)
    downloads: dict[str, Path] = {}
    if policy.shows("estimates"):
        downloads = write_downloads(
            target, districts, district_estimates, overwrite=True, label=label
        )
    if change is not None and len(change):
        downloads["programme_change"] = write_published_table(
            change, target / "programme_change.csv", **label
        )
    out.update(downloads)
    out["tables"] = _aggregate_tables(restricted, target, policy, label)
    out["thumbnail"] = thumbnail(run, table, crops, drawn)
    out["copied"] = drawn.copied[copied_before:] if drawn is not None else []
    if policy.shows("report"):
        out["report"] = build_report(
            target,
            district_estimates=district_estimates,
            year=run.year,
            run_id=run.run_id,
            maps=map_figures,
            charts=chart_figures,
            downloads=downloads,
            programme_change=change,
            manifest=public_manifest(manifest),
            synthetic=run.synthetic,
        )
    out["record"] = record(
        run, district_estimates, survey_name=survey_name_of(manifest), programmes=programmes
    )
    logger.info("public set of run %s in %s", run.run_id, target)
    return out


AGGREGATE_TABLES: dict[str, str] = {
    "region_estimates.csv": "estimates",
    "segment_estimates.csv": "estimates",
    "production.csv": "estimates",
    "eradication.csv": "estimates",
    "programme_vs_other.csv": "programmes",
    "programme_series.csv": "programmes",
}
"""Derived tables of the run folder that are aggregates (district, programme or region), by
the policy part that publishes them. Household feedback reaches the public only through the
suppressed ``programme_change.csv``."""


def _public_eradication(restricted: Run, policy: PublicPolicy) -> pd.DataFrame | None:
    """The eradication table as the public set shows it (production hides what it hides)."""
    source = restricted.run_dir / "eradication.csv"
    if not source.is_file():
        return None
    return suppress_few_plots(read_csv_table(source, dtype={"district_id": str}), policy.min_plots)


def _aggregate_tables(
    restricted: Run, target: Path, policy: PublicPolicy, label: dict[str, Any]
) -> list[Path]:
    written = []
    for name, part in AGGREGATE_TABLES.items():
        source = restricted.run_dir / name
        if policy.shows(part) and source.is_file():
            table = read_csv_table(source, dtype={"district_id": str, "programme_id": str})
            if name == "eradication.csv":  # a district figure of one plot is that plot
                table = suppress_few_plots(table, policy.min_plots)
            if name == "production.csv":  # a mean yield of two plots is each one's
                table = suppress_thin_yields(table, policy.min_plots, _public_eradication(
                    restricted, policy))  # fmt: skip
            written.append(write_published_table(table, target / name, **label))
    return written


def _density_overlay(run_dir: Path, target: Path, class_map: Any, cell_km2: float) -> Overlay:
    """The class map generalised to ``cell_km2`` cells, as the public map's only raster."""
    import rasterio

    grid = cultivation_density(
        class_map, run_dir / f"density_{cell_km2:g}km2.tif", cell_km2=cell_km2
    )
    with rasterio.open(grid) as src:
        values = src.read(1, masked=True)
    top = float(values.max()) if values.count() else 0.0
    name = "overlay_density.png"
    bounds = write_overlay_png(grid, target / name, kind="density", vmax=top)
    return Overlay(name, bounds, top=top, cell_km2=cell_km2)
