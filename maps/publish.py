"""Publish a run: interactive map, PNG maps and charts, report, downloads, thumbnail."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from core.errors import InvalidInputError
from core.io import atomic_write_json
from maps.charts import district_chart, programme_chart, programme_district_series
from maps.downloads import write_downloads
from maps.gallery import PUBLISH_RECORD
from maps.interactive import Overlay, build_interactive_map
from maps.layers import CROP_LABELS, METRICS, colour_scale, crops_present, district_table
from maps.programme_areas import programme_areas
from maps.rasters import write_overlay_png
from maps.report import Figure, build_report, crop_totals
from maps.static import choropleth_png, raster_png, thumbnail_png

__all__ = ["publish_run", "programme_areas"]

logger = logging.getLogger(__name__)


def _programme_names(programmes: pd.DataFrame | None) -> dict[str, str]:
    if programmes is None or "name" not in programmes:
        return {}
    return {
        str(p): str(n) for p, n in zip(programmes["programme_id"], programmes["name"], strict=True)
    }


def _load_manifest(run_dir: Path, manifest: dict[str, Any] | None) -> dict[str, Any]:
    if manifest is not None:
        return manifest
    path = run_dir / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def publish_run(
    run_dir: str | Path,
    *,
    districts: gpd.GeoDataFrame,
    district_estimates: pd.DataFrame,
    programme_change: pd.DataFrame | None = None,
    class_map: str | Path | None = None,
    ndvi: str | Path | None = None,
    plots: gpd.GeoDataFrame | None = None,
    segments: gpd.GeoDataFrame | None = None,
    programmes: pd.DataFrame | None = None,
    manifest: dict[str, Any] | None = None,
    synthetic: bool = False,
    history: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Write every published output of one run into ``run_dir``.

    Parameters
    ----------
    run_dir
        ``runs/<year>/<run_id>/``.
    districts
        ``district_id, district_name, geometry`` (projected CRS).
    district_estimates
        Published estimates (``district_id, district_name, year, crop, area_ha,
        ci_low_ha, ci_high_ha, method, n_reference, se_ha``).
    programme_change
        ``programme_change.csv`` table; drives the change layer, popups and charts.
    class_map, ndvi
        COGs (uint8 legend codes / float NDVI) shown as overlays and PNG maps.
    plots, segments
        Survey plots (``crop``, ``status``) and drone segment footprints.
    programmes
        AD programmes (``programme_id, name, district_ids``, optional geometry).
    manifest
        ``manifest.json`` content; read from ``run_dir`` when ``None``.
    synthetic
        Mark every output as SYNTHETIC demo data.
    history
        Estimates of all stored years, for time series and the change baseline.

    Returns
    -------
    dict
        ``map, report, thumbnail, csv, gpkg, geojson, record`` (Path) and
        ``pngs``, ``charts``, ``overlays`` (lists of Path).

    Raises
    ------
    InvalidInputError
        Empty or inconsistent estimates / districts (the message names the column).

    Examples
    --------
    >>> paths = publish_run(run_dir, districts=d, district_estimates=e)  # doctest: +SKIP
    >>> paths["map"].name
    'map.html'
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if district_estimates is None or not len(district_estimates):
        raise InvalidInputError(f"{run_dir}: no district estimates to publish")
    manifest = _load_manifest(run_dir, manifest)
    run = _Run(
        run_dir,
        year=int(manifest.get("year", district_estimates["year"].max())),
        run_id=str(manifest.get("run_id", run_dir.name)),
        synthetic=synthetic,
    )
    table = district_table(
        districts, district_estimates, programme_change=programme_change, history=history
    )
    crops = crops_present(district_estimates)
    overlays = _overlays(run, class_map, ndvi)
    out: dict[str, Any] = {"overlays": [run_dir / o.filename for o in overlays.values()]}
    areas = (
        programme_areas(programmes, districts, programme_change) if programmes is not None else None
    )
    out["map"] = build_interactive_map(
        run_dir,
        table,
        year=run.year,
        run_id=run.run_id,
        synthetic=synthetic,
        class_overlay=overlays.get("classes"),
        ndvi_overlay=overlays.get("ndvi"),
        plots=plots,
        segments=segments,
        programme_areas=areas,
    )
    map_figures = _choropleths(run, table, crops) + _raster_maps(run, districts, class_map, ndvi)
    out["pngs"] = [run_dir / f.file for f in map_figures]
    chart_figures = _charts(run, crops, district_estimates, programme_change, history, programmes)
    out["charts"] = [run_dir / f.file for f in chart_figures]
    downloads = write_downloads(run_dir, districts, district_estimates)
    out.update(downloads)
    out["thumbnail"] = _thumbnail(run, table, crops)
    out["report"] = build_report(
        run_dir,
        district_estimates=district_estimates,
        year=run.year,
        run_id=run.run_id,
        maps=map_figures,
        charts=chart_figures,
        downloads=downloads,
        programme_change=programme_change,
        manifest=manifest,
        synthetic=synthetic,
    )
    out["record"] = _record(run, district_estimates)
    logger.info("published run %s (%d) in %s", run.run_id, run.year, run_dir)
    return out


@dataclass(frozen=True)
class _Run:
    """The run being published: where its files go and what every figure is titled with."""

    run_dir: Path
    year: int
    run_id: str
    synthetic: bool


def _overlays(run: _Run, class_map: Any, ndvi: Any) -> dict[str, Overlay]:
    """The class map and NDVI as PNG overlays for the interactive map."""
    overlays: dict[str, Overlay] = {}
    for kind, raster in (("classes", class_map), ("ndvi", ndvi)):
        if raster is not None:
            name = f"overlay_{kind}.png"
            overlays[kind] = Overlay(name, write_overlay_png(raster, run.run_dir / name, kind=kind))
    return overlays


def _choropleths(run: _Run, table: gpd.GeoDataFrame, crops: list[str]) -> list[Figure]:
    """One print map per crop and metric that has values."""
    figures = []
    for crop in crops:
        for metric in METRICS:
            column = f"{crop}_{metric.key}"
            if not table[column].notna().any():
                continue
            png = choropleth_png(
                table,
                crop,
                metric,
                colour_scale(table[column], metric),
                run.run_dir / f"map_{crop}_{metric.key}.png",
                year=run.year,
                run_id=run.run_id,
                synthetic=run.synthetic,
            )
            caption = f"{CROP_LABELS[crop]} {run.year}: {metric.title.lower()} ({metric.units})"
            figures.append(Figure(png.name, caption))
    return figures


def _raster_maps(run: _Run, districts: gpd.GeoDataFrame, class_map: Any, ndvi: Any) -> list[Figure]:
    """Print maps of the class map and the NDVI season composite."""
    figures = []
    for kind, raster, caption in (
        ("classes", class_map, "Class map"),
        ("ndvi", ndvi, "NDVI season composite"),
    ):
        if raster is not None:
            png = raster_png(
                Path(raster),
                kind,
                districts,
                run.run_dir / f"map_{kind}.png",
                year=run.year,
                run_id=run.run_id,
                synthetic=run.synthetic,
            )
            figures.append(Figure(png.name, f"{caption} {run.year}"))
    return figures


def _charts(
    run: _Run,
    crops: list[str],
    district_estimates: pd.DataFrame,
    programme_change: pd.DataFrame | None,
    history: pd.DataFrame | None,
    programmes: pd.DataFrame | None,
) -> list[Figure]:
    """Hectares per district for each crop, and the programmes' series against baseline."""
    figures = []
    for crop in crops:
        png = district_chart(
            district_estimates,
            crop,
            run.run_dir / f"chart_{crop}_districts.png",
            year=run.year,
            synthetic=run.synthetic,
        )
        caption = f"{CROP_LABELS[crop]} {run.year}: hectares per district, 95% intervals"
        figures.append(Figure(png.name, caption))
    if programme_change is not None and len(programme_change):
        series = programme_district_series(programme_change, history, district_estimates)
        png = programme_chart(
            programme_change,
            series,
            run.run_dir / "chart_programmes.png",
            year=run.year,
            synthetic=run.synthetic,
            names=_programme_names(programmes),
        )
        figures.append(Figure(png.name, "AD programmes: cultivation per year and baseline"))
    return figures


def _thumbnail(run: _Run, table: gpd.GeoDataFrame, crops: list[str]) -> Path:
    """The gallery's thumbnail: the first crop's hectares per district."""
    first = f"{crops[0]}_area_ha" if crops else ""
    scale = colour_scale(table[first], METRICS[0]) if first else None
    return thumbnail_png(
        table,
        first,
        scale,
        run.run_dir / "thumbnail.png",
        title=f"{run.year} {run.run_id}",
        synthetic=run.synthetic,
    )


def _record(run: _Run, district_estimates: pd.DataFrame) -> Path:
    """The publish record the gallery reads: run, year, totals, files."""
    totals = crop_totals(district_estimates)
    summary = [
        f"{CROP_LABELS[c]}: {t.area_ha:,.0f} ha (95% {t.ci_low_ha:,.0f}–{t.ci_high_ha:,.0f})"
        for c, t in totals.iterrows()
    ]
    files = sorted(
        p.name for p in run.run_dir.iterdir() if p.is_file() and not p.name.startswith(".")
    )
    return atomic_write_json(
        run.run_dir / PUBLISH_RECORD,
        {
            "run_id": run.run_id,
            "year": run.year,
            "synthetic": run.synthetic,
            "summary": summary,
            "published": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": files,
        },
    )
