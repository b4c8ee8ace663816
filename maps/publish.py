"""Publish a run: interactive map, PNG maps and charts, report, downloads, thumbnail."""

from __future__ import annotations

import html
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from geo.io import atomic_write_json
from maps.charts import district_chart, programme_chart, programme_series
from maps.downloads import write_downloads
from maps.gallery import PUBLISH_RECORD
from maps.interactive import Overlay, build_interactive_map
from maps.layers import CROP_LABELS, METRICS, colour_scale, crops_present, district_table
from maps.rasters import write_overlay_png
from maps.report import Figure, build_report, crop_totals
from maps.static import choropleth_png, raster_png, thumbnail_png
from models.errors import InvalidInputError

__all__ = ["publish_run", "programme_areas"]

logger = logging.getLogger(__name__)


def _district_ids(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(",", ";").split(";") if v.strip()]
    return [str(v) for v in value]


def _fmt(value: Any) -> str:
    try:
        return f"{float(value):,.1f}" if pd.notna(value) else "–"
    except (TypeError, ValueError):
        return html.escape(str(value))


def _popup(programme: dict[str, Any], change: pd.DataFrame) -> str:
    name = html.escape(str(programme.get("name", programme["programme_id"])))
    lines = [f"<div><b>{name}</b> ({html.escape(str(programme['programme_id']))})</div>"]
    if len(change):
        lines.append(
            '<table style="border-collapse:collapse;font-size:12px">'
            "<tr><th>district</th><th>crop</th><th>baseline</th><th>current (95%)</th>"
            "<th>change (95%)</th><th>verdict</th></tr>"
        )
        for r in change.to_dict("records"):
            lines.append(
                f"<tr><td>{html.escape(str(r.get('district_id')))}</td>"
                f"<td>{CROP_LABELS.get(r.get('crop'), r.get('crop'))}</td>"
                f"<td>{_fmt(r.get('baseline_ha'))} ha ({r.get('baseline_year')}"
                f"{', ' + html.escape(str(r['baseline_source'])) if r.get('baseline_source') else ''})</td>"
                f"<td>{_fmt(r.get('area_ha'))} ha ({_fmt(r.get('ci_low_ha'))} to "
                f"{_fmt(r.get('ci_high_ha'))}), {r.get('year')}</td>"
                f"<td>{_fmt(r.get('change_ha'))} ({_fmt(r.get('change_ci_low_ha'))} to "
                f"{_fmt(r.get('change_ci_high_ha'))})</td>"
                f"<td>{html.escape(str(r.get('verdict', '')))}</td></tr>"
            )
        lines.append("</table>")
    else:
        for crop in CROP_LABELS:
            if pd.notna(programme.get(f"baseline_{crop}_ha")):
                lines.append(
                    f"<div>baseline {programme.get('baseline_year')}: {CROP_LABELS[crop]} "
                    f"{_fmt(programme[f'baseline_{crop}_ha'])} ha (no current comparison)</div>"
                )
    facts = [
        f"{label} {html.escape(_fact(programme[key]))}"
        for key, label in BASELINE_FACTS
        if key in programme and not _missing(programme[key])
    ]
    if facts:
        lines.append(f'<div style="color:#444">baseline: {"; ".join(facts)}</div>')
    return "".join(lines)


BASELINE_FACTS = (
    ("households", "households"),
    ("population", "population"),
    ("income_per_capita_usd", "income per person (USD)"),
    ("alternative_crops", "alternative crops"),
    ("land_tenure_status", "land tenure"),
)
"""Programme baseline facts (``models/programme.py`` columns) shown in the popup."""


def _fact(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return str(value)


def _missing(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return not value
    return value is None or (not isinstance(value, str) and bool(pd.isna(value))) or value == ""


def programme_areas(
    programmes: pd.DataFrame, districts: gpd.GeoDataFrame, programme_change: pd.DataFrame | None
) -> gpd.GeoDataFrame:
    """One polygon per AD programme (its own area, else the union of its districts) with a popup.

    Returns
    -------
    GeoDataFrame
        ``programme_id, name, popup_html, geometry`` in the district CRS;
        programmes with neither an area nor known districts are left out.
    """
    by_id = districts.set_index("district_id").geometry
    rows = []
    has_geometry = (
        isinstance(programmes, gpd.GeoDataFrame) and programmes.geometry.name in programmes
    )
    source = programmes.to_crs(districts.crs) if has_geometry and programmes.crs else programmes
    for programme in source.to_dict("records"):
        geometry = programme.get("geometry") if has_geometry else None
        if geometry is None or shapely.is_empty(geometry):
            ids = [i for i in _district_ids(programme.get("district_ids")) if i in by_id.index]
            geometry = shapely.union_all(by_id.loc[ids].to_numpy()) if ids else None
        if geometry is None:
            logger.warning(
                "programme %s has no area and no known district; not mapped",
                programme["programme_id"],
            )
            continue
        change = pd.DataFrame()
        if programme_change is not None and len(programme_change):
            change = programme_change[programme_change["programme_id"] == programme["programme_id"]]
        rows.append(
            {
                "programme_id": programme["programme_id"],
                "name": programme.get("name", ""),
                "popup_html": _popup(programme, change),
                "geometry": geometry,
            }
        )
    return gpd.GeoDataFrame(
        rows,
        columns=["programme_id", "name", "popup_html", "geometry"],
        geometry="geometry",
        crs=districts.crs,
    )


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
    year = int(manifest.get("year", district_estimates["year"].max()))
    run_id = str(manifest.get("run_id", run_dir.name))
    table = district_table(
        districts, district_estimates, programme_change=programme_change, history=history
    )
    crops = crops_present(district_estimates)
    out: dict[str, Any] = {"pngs": [], "charts": [], "overlays": []}
    overlays: dict[str, Overlay] = {}
    for kind, raster in (("classes", class_map), ("ndvi", ndvi)):
        if raster is not None:
            name = f"overlay_{kind}.png"
            overlays[kind] = Overlay(name, write_overlay_png(raster, run_dir / name, kind=kind))
            out["overlays"].append(run_dir / name)
    areas = (
        programme_areas(programmes, districts, programme_change) if programmes is not None else None
    )
    out["map"] = build_interactive_map(
        run_dir,
        table,
        year=year,
        run_id=run_id,
        synthetic=synthetic,
        class_overlay=overlays.get("classes"),
        ndvi_overlay=overlays.get("ndvi"),
        plots=plots,
        segments=segments,
        programme_areas=areas,
    )
    maps_figures: list[Figure] = []
    for crop in crops:
        for metric in METRICS:
            column = f"{crop}_{metric.key}"
            if table[column].notna().any():
                png = choropleth_png(
                    table,
                    crop,
                    metric,
                    colour_scale(table[column], metric),
                    run_dir / f"map_{crop}_{metric.key}.png",
                    year=year,
                    run_id=run_id,
                    synthetic=synthetic,
                )
                out["pngs"].append(png)
                maps_figures.append(
                    Figure(
                        png.name,
                        f"{CROP_LABELS[crop]} {year}: {metric.title.lower()} ({metric.units})",
                    )
                )
    for kind, raster, caption in (
        ("classes", class_map, "Class map"),
        ("ndvi", ndvi, "NDVI season composite"),
    ):
        if raster is not None:
            png = raster_png(
                Path(raster),
                kind,
                districts,
                run_dir / f"map_{kind}.png",
                year=year,
                run_id=run_id,
                synthetic=synthetic,
            )
            out["pngs"].append(png)
            maps_figures.append(Figure(png.name, f"{caption} {year}"))
    chart_figures: list[Figure] = []
    for crop in crops:
        png = district_chart(
            district_estimates,
            crop,
            run_dir / f"chart_{crop}_districts.png",
            year=year,
            synthetic=synthetic,
        )
        chart_figures.append(
            Figure(png.name, f"{CROP_LABELS[crop]} {year}: hectares per district, 95% intervals")
        )
    if programme_change is not None and len(programme_change):
        series = programme_series(programme_change, history, district_estimates)
        png = programme_chart(
            programme_change,
            series,
            run_dir / "chart_programmes.png",
            year=year,
            synthetic=synthetic,
            names=_programme_names(programmes),
        )
        chart_figures.append(Figure(png.name, "AD programmes: cultivation per year and baseline"))
    out["charts"] = [run_dir / f.file for f in chart_figures]
    downloads = write_downloads(run_dir, districts, district_estimates)
    out.update(downloads)
    first = f"{crops[0]}_area_ha" if crops else ""
    scale = colour_scale(table[first], METRICS[0]) if first else None
    out["thumbnail"] = thumbnail_png(
        table,
        first,
        scale,
        run_dir / "thumbnail.png",
        title=f"{year} {run_id}",
        synthetic=synthetic,
    )
    out["report"] = build_report(
        run_dir,
        district_estimates=district_estimates,
        year=year,
        run_id=run_id,
        maps=maps_figures,
        charts=chart_figures,
        downloads=downloads,
        programme_change=programme_change,
        manifest=manifest,
        synthetic=synthetic,
    )
    totals = crop_totals(district_estimates)
    summary = [
        f"{CROP_LABELS[c]}: {t.area_ha:,.0f} ha (95% {t.ci_low_ha:,.0f}–{t.ci_high_ha:,.0f})"
        for c, t in totals.iterrows()
    ]
    out["record"] = atomic_write_json(
        run_dir / PUBLISH_RECORD,
        {
            "run_id": run_id,
            "year": year,
            "synthetic": synthetic,
            "summary": summary,
            "published": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": sorted(
                p.name for p in run_dir.iterdir() if p.is_file() and not p.name.startswith(".")
            ),
        },
    )
    logger.info("published run %s (%d) in %s", run_id, year, run_dir)
    return out
