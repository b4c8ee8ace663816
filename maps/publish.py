"""Publish a run twice: the restricted set in the run folder, the public set in ``public/``.

The run folder gets everything the working group reviews (interactive map with
survey plots and segments, full-resolution class map and NDVI, every table).
``<run>/public/`` gets what :class:`maps.public.PublicPolicy` allows (see
:mod:`maps.public_site`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from core.errors import InvalidInputError
from maps.downloads import write_downloads
from maps.figures import (
    DrawnFigures,
    Run,
    charts,
    choropleths,
    overlays_of,
    raster_maps,
    record,
    survey_name_of,
    thumbnail,
)
from maps.interactive import build_interactive_map
from maps.layers import crops_present, district_table
from maps.programme_areas import programme_areas
from maps.public import PublicPolicy
from maps.public_site import publish_public
from maps.report import build_report

__all__ = ["publish_run", "programme_areas"]

logger = logging.getLogger(__name__)


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
    public: PublicPolicy | None = PublicPolicy(),  # noqa: B008 - frozen, shared safely
) -> dict[str, Any]:
    """Write every published output of one run into ``run_dir``, and the public set.

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
    public
        What the public publication in ``run_dir/public/`` shows; ``None`` writes none.

    Returns
    -------
    dict
        ``map, report, thumbnail, csv, gpkg, geojson, record`` (Path),
        ``pngs``, ``charts``, ``overlays`` (lists of Path), and ``public``: the
        public set's files (when written; ``copied`` lists its figures copied from
        the restricted set's equal figures, :class:`maps.figures.DrawnFigures`).

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
    run = Run(
        run_dir,
        year=int(manifest.get("year", district_estimates["year"].max())),
        run_id=str(manifest.get("run_id", run_dir.name)),
        synthetic=synthetic,
    )
    table = district_table(
        districts, district_estimates, programme_change=programme_change, history=history
    )
    crops = crops_present(district_estimates)
    overlays = overlays_of(run, class_map, ndvi)
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
        survey_name=survey_name_of(manifest),
    )
    drawn = DrawnFigures()  # the public set copies what it would draw the same
    map_figures = choropleths(run, table, crops, drawn)
    map_figures += raster_maps(run, districts, class_map, ndvi)
    out["pngs"] = [run_dir / f.file for f in map_figures]
    chart_figures = charts(
        run, crops, district_estimates, programme_change, history, programmes, drawn
    )
    out["charts"] = [run_dir / f.file for f in chart_figures]
    downloads = write_downloads(run_dir, districts, district_estimates)
    out.update(downloads)
    out["thumbnail"] = thumbnail(run, table, crops, drawn)
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
    out["record"] = record(
        run, district_estimates, survey_name=survey_name_of(manifest), programmes=programmes
    )
    if public is not None:
        out["public"] = publish_public(
            run,
            public,
            districts=districts,
            district_estimates=district_estimates,
            programme_change=programme_change,
            class_map=class_map,
            programmes=programmes,
            manifest=manifest,
            history=history,
            drawn=drawn,
        )
    logger.info("published run %s (%d) in %s", run.run_id, run.year, run_dir)
    return out
