"""The figures of a published set, shared by the restricted and the public publication."""

from __future__ import annotations

import hashlib
import logging
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from core.io import atomic_path, atomic_write_json
from maps.change_map import change_verdict_png
from maps.charts import district_chart, programme_chart, programme_district_series
from maps.gallery import PUBLISH_RECORD
from maps.interactive import Overlay
from maps.layers import CROP_LABELS, METRICS, colour_scale
from maps.rasters import write_overlay_png
from maps.report import Figure, crop_totals
from maps.static import choropleth_png, raster_png, thumbnail_png

__all__ = [
    "Run",
    "DrawnFigures",
    "overlays_of",
    "choropleths",
    "raster_maps",
    "charts",
    "thumbnail",
    "record",
]

logger = logging.getLogger(__name__)


def _programme_names(programmes: pd.DataFrame | None) -> dict[str, str]:
    if programmes is None or "name" not in programmes:
        return {}
    return {
        str(p): str(n) for p, n in zip(programmes["programme_id"], programmes["name"], strict=True)
    }


@dataclass(frozen=True)
class Run:
    """The run being published: where its files go and what every figure is titled with."""

    run_dir: Path
    year: int
    run_id: str
    synthetic: bool


class DrawnFigures:
    """The figures drawn in one publication, each under a digest of everything it is drawn from.

    The public set is drawn after the restricted set, and most of its figures (the
    district maps, the district charts, the thumbnail) are drawn by the same function
    from the same arguments. :meth:`draw` then copies the restricted set's file instead
    of drawing it again: the drawing functions are deterministic (the same arguments give
    the same PNG bytes), so the copy is the file a second drawing would write.

    The key is the drawing function and every argument it receives but the output
    path, pickled whole (tables with every column, geometry and CRS), so a figure is
    copied only from a figure drawn from equal data. A public figure drawn from less
    than the restricted one (household cells suppressed, programmes left out) differs
    in its arguments and is drawn anew: restricted data cannot reach the public set
    through a copy. Figures of restricted data only (the class map, the NDVI) are not
    drawn through this at all.
    """

    def __init__(self) -> None:
        self._drawn: dict[str, Path] = {}
        self.drawn: list[Path] = []
        """Files drawn, in order."""
        self.copied: list[Path] = []
        """Files copied from an equal figure drawn before."""

    @staticmethod
    def key(draw: Callable[..., Path], args: tuple, kwargs: dict[str, Any]) -> str:
        """sha256 of the drawing function and its arguments (output path excluded)."""
        name = f"{draw.__module__}.{draw.__qualname__}"
        payload = pickle.dumps((name, args, sorted(kwargs.items())), protocol=5)
        return hashlib.sha256(payload).hexdigest()

    def draw(self, draw: Callable[..., Path], *args: Any, out: Path, **kwargs: Any) -> Path:
        """``draw(*args, out, **kwargs)``, or a copy of the same figure drawn before."""
        key = self.key(draw, args, kwargs)
        earlier = self._drawn.get(key)
        if earlier is not None and earlier.is_file() and earlier.resolve() != out.resolve():
            with atomic_path(out) as tmp:
                shutil.copyfile(earlier, tmp)
            self.copied.append(out)
            logger.debug("%s: copied from %s (same figure)", out, earlier)
            return out
        path = Path(draw(*args, out, **kwargs))
        self._drawn[key] = path
        self.drawn.append(path)
        return path


def _drawer(drawn: DrawnFigures | None) -> Callable[..., Path]:
    """``drawn.draw``, or drawing every figure when no record is kept."""
    if drawn is not None:
        return drawn.draw

    def draw(function: Callable[..., Path], *args: Any, out: Path, **kwargs: Any) -> Path:
        return Path(function(*args, out, **kwargs))

    return draw


def overlays_of(run: Run, class_map: Any, ndvi: Any) -> dict[str, Overlay]:
    """The class map and NDVI as PNG overlays for the interactive map."""
    overlays: dict[str, Overlay] = {}
    for kind, raster in (("classes", class_map), ("ndvi", ndvi)):
        if raster is not None:
            name = f"overlay_{kind}.png"
            overlays[kind] = Overlay(name, write_overlay_png(raster, run.run_dir / name, kind=kind))
    return overlays


_CHANGE_CAPTION = (
    "{} change since baseline (ha): fill is the verdict from the 95% interval, "
    "circle area the size of the change"
)


def choropleths(
    run: Run, table: gpd.GeoDataFrame, crops: list[str], drawn: DrawnFigures | None = None
) -> list[Figure]:
    """One print map per crop and metric that has values (``drawn``: see :class:`DrawnFigures`)."""
    draw = _drawer(drawn)
    figures = []
    for crop in crops:
        for metric in METRICS:
            column = f"{crop}_{metric.key}"
            if not table[column].notna().any():
                continue
            out = run.run_dir / f"map_{crop}_{metric.key}.png"
            label = {"year": run.year, "run_id": run.run_id, "synthetic": run.synthetic}
            if metric.key == "change_ha":  # verdict colours, circle size = how much
                png = draw(change_verdict_png, table, crop, out=out, **label)
                figures.append(Figure(png.name, _CHANGE_CAPTION.format(CROP_LABELS[crop])))
                continue
            scale = colour_scale(table[column], metric)
            png = draw(choropleth_png, table, crop, metric, scale, out=out, **label)
            caption = f"{CROP_LABELS[crop]} {run.year}: {metric.title.lower()} ({metric.units})"
            figures.append(Figure(png.name, caption))
    return figures


def raster_maps(run: Run, districts: gpd.GeoDataFrame, class_map: Any, ndvi: Any) -> list[Figure]:
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


def charts(
    run: Run,
    crops: list[str],
    district_estimates: pd.DataFrame,
    programme_change: pd.DataFrame | None,
    history: pd.DataFrame | None,
    programmes: pd.DataFrame | None,
    drawn: DrawnFigures | None = None,
) -> list[Figure]:
    """Hectares per district for each crop, and the programmes' series against baseline."""
    draw = _drawer(drawn)
    figures = []
    for crop in crops:
        png = draw(
            district_chart,
            district_estimates,
            crop,
            out=run.run_dir / f"chart_{crop}_districts.png",
            year=run.year,
            synthetic=run.synthetic,
        )
        caption = f"{CROP_LABELS[crop]} {run.year}: hectares per district, 95% intervals"
        figures.append(Figure(png.name, caption))
    if programme_change is not None and len(programme_change):
        series = programme_district_series(programme_change, history, district_estimates)
        png = draw(
            programme_chart,
            programme_change,
            series,
            out=run.run_dir / "chart_programmes.png",
            year=run.year,
            synthetic=run.synthetic,
            names=_programme_names(programmes),
        )
        figures.append(Figure(png.name, "AD programmes: cultivation per year and baseline"))
    return figures


def thumbnail(
    run: Run, table: gpd.GeoDataFrame, crops: list[str], drawn: DrawnFigures | None = None
) -> Path:
    """The gallery's thumbnail: the first crop's hectares per district."""
    first = f"{crops[0]}_area_ha" if crops else ""
    scale = colour_scale(table[first], METRICS[0]) if first else None
    return _drawer(drawn)(
        thumbnail_png,
        table,
        first,
        scale,
        out=run.run_dir / "thumbnail.png",
        title=f"{run.year} {run.run_id}",
        synthetic=run.synthetic,
        caption=f"{CROP_LABELS[crops[0]]} {run.year} (ha)" if crops else "",
    )


def record(
    run: Run,
    district_estimates: pd.DataFrame,
    *,
    survey_name: str = "",
    programmes: pd.DataFrame | None = None,
) -> Path:
    """The publish record the gallery reads: survey, run, year, totals, programmes, files."""
    totals = crop_totals(district_estimates)
    summary = [
        f"{CROP_LABELS[c]}: {t.area_ha:,.0f} ha (95% {t.ci_low_ha:,.0f}–{t.ci_high_ha:,.0f})"
        + (f", {t.n_not_estimable} districts not estimable" if t.n_not_estimable else "")
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
            "survey_name": survey_name,
            "summary": summary,
            "programmes": _programme_records(programmes),
            "published": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": files,
        },
    )


def _programme_records(programmes: pd.DataFrame | None) -> list[dict[str, str]]:
    """Id, name and agency of each programme: what the front page calls them."""
    if programmes is None or "programme_id" not in programmes:
        return []
    out = []
    for row in programmes.to_dict("records"):
        out.append(
            {
                key: str(row.get(key)) if pd.notna(row.get(key)) else ""
                for key in ("programme_id", "name", "agency")
            }
        )
    return out


def survey_name_of(manifest: dict) -> str:
    """``[survey] name`` of the run configuration, as recorded in the manifest."""
    survey = (manifest.get("parameters") or {}).get("survey") or {}
    return str(survey.get("name") or "")
