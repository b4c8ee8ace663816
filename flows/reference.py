"""The reference stages of a survey year labelled by people: draw the sample, collect its labels.

``draw_sample`` (phase 1) draws the stratified sample on the map and writes the
interpretation package; ``collect_labels`` gathers the labels made since
(the store's, from ``/interpret`` or a Collect Earth Online import, or a
labelled file named by ``inputs.reference``) and says whether there are
enough to estimate (phase 2). Agreement between interpreters goes into the
manifest and the report.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
from prefect import task

from core.errors import EstimationError
from core.io import write_table
from flows.plan import RunContext
from flows.tasking import COMPUTE_OPTIONS, IO_RETRIES, cluster_compute, computes_in_process

if TYPE_CHECKING:
    from geo.grid import AnalysisGrid
    from models.interpretation import ChipSource

# What a stage computes with is imported inside it: a rerun whose stages are all cached
# runs none of them and should not spend seconds importing them.

__all__ = ["draw_sample", "collect_labels", "draw", "LABELLED_FILE"]

log = logging.getLogger(__name__)

LABELLED_FILE = "reference_labelled.gpkg"
"""The labelled sample phase 2 estimates from, in the run folder."""

_COMPOSITE_VIEWS = (
    ("composite_true", "Season composite, true colour (red, green, blue)", ("red", "green", "blue"), (0.0, 0.25)),
    ("composite_false", "Season composite, false colour (NIR, red, green)", ("nir", "red", "green"), (0.0, 0.5)),
)  # fmt: skip
"""Chips of the season's median composite: name, caption, bands, reflectance stretch."""

COMPOSITE_CHIP_PX = 24
"""Half the composite chips' edge in map pixels (48 x 48 pixels shown)."""


def draw(classes: str, districts: gpd.GeoDataFrame, context: RunContext) -> gpd.GeoDataFrame:
    """The stratified reference sample of the run's map (the same draw for people and the demo)."""
    from geo.estimation import draw_reference_sample

    spec = context.estimation
    return draw_reference_sample(
        classes,
        districts,
        "district_id",
        n_per_stratum=spec.n_per_stratum,
        seed=spec.seed,
        buffer_px=spec.buffer_px,
    )


@task(name="reference-sample", **COMPUTE_OPTIONS)
def draw_sample(
    context: RunContext, classes: str, composite: str, scenes: list[str], grid: AnalysisGrid
) -> dict[str, Any]:
    """Phase 1: draw the sample on the map and write its interpretation package."""
    from geo.chips import point_profiles
    from geo.imagery import read_season
    from models.interpretation import PACKAGE_DIR, write_package

    out = Path(context.run_dir)
    districts = gpd.read_file(context.districts)
    sample = draw(classes, districts, context)
    write_table(sample, out / "reference_sample.gpkg", layer="reference_sample")
    with cluster_compute():
        profiles = point_profiles(read_season(scenes, grid, bands=["red", "nir"]), grid, sample)
    sources, coverage = _chip_sources(context, sample, composite, grid.resolution)
    write_package(
        out / PACKAGE_DIR,
        run_id=context.run_id,
        year=context.year,
        sample=sample,
        sources=sources,
        coverage=coverage,
        profiles=profiles,
        pixel_size_m=float(grid.resolution),
        overlap_share=context.interpretation.overlap_share,
        seed=context.estimation.seed,
    )
    return {
        "reference_sample": str(out / "reference_sample.gpkg"),
        "package": str(out / PACKAGE_DIR),
        "n_points": int(len(sample)),
        "chip_sources": len(sources),
    }


def _chip_sources(
    context: RunContext, sample: gpd.GeoDataFrame, composite: str, pixel_m: float
) -> tuple[list[ChipSource], dict[str, Any]]:
    """The composite's true and false colour views, and each drone/VHR image covering a point."""
    import rasterio

    from geo.chips import covering_rasters
    from models.interpretation import ChipSource

    with rasterio.open(composite) as src:
        band_of = {name: i for i, name in enumerate(src.descriptions, 1) if name}
    sources = [
        ChipSource(name, "composite", composite, caption, tuple(band_of[b] for b in bands),
                   COMPOSITE_CHIP_PX * pixel_m, 2 * COMPOSITE_CHIP_PX, stretch)
        for name, caption, bands, stretch in _COMPOSITE_VIEWS
        if all(b in band_of for b in bands)
    ]  # fmt: skip
    spec = context.interpretation
    coverage: dict[str, Any] = {}
    for kind, label, paths in (("drone", "Drone orthomosaic", spec.orthomosaics),
                               ("vhr", "Very-high-resolution image", spec.vhr)):  # fmt: skip
        for index, (path, inside) in enumerate(covering_rasters(sample.geometry, paths).items()):
            name = f"{kind}_{index + 1}"
            sources.append(
                ChipSource(name, kind, path, f"{label} {Path(path).name}",
                           half_width_m=spec.detail_chip_m / 2, size_px=256)
            )  # fmt: skip
            coverage[name] = inside
    log.info(
        "interpretation package: %d chip sources, %d points covered by drone/VHR",
        len(sources),
        int(sum(v.sum() for v in coverage.values())),
    )
    return sources, coverage


@task(name="collect-labels", **IO_RETRIES)
@computes_in_process
def collect_labels(context: RunContext, drawn: dict[str, Any], classes: str) -> dict[str, Any]:
    """Phase 2 when there are enough labels: write the labelled sample the estimates use.

    Returns the state of the interpretation: points labelled, whether that is
    ``complete``, the agreement between interpreters, and ``labelled_sample`` (path)
    when complete.
    """
    from models.interpretation import interpreter_agreement, labelled_sample, load_package, progress
    from models.store import open_store

    out = Path(context.run_dir)
    spec = context.estimation
    if spec.reference and Path(spec.reference).exists():
        return _from_file(context, classes)
    sample = gpd.read_file(drawn["reference_sample"])
    store = open_store(context.store_url, workspace=context.workspace)
    try:
        labels = store.get_labels(context.run_id)
    finally:
        store.close()
    labelled = labelled_sample(sample, labels, min_share=context.interpretation.min_labelled_share)
    agreement = interpreter_agreement(labels)
    state: dict[str, Any] = {
        "source": "store",
        **labelled.summary(),
        **{k: v for k, v in progress(load_package(drawn["package"]), labels).items()
           if k in ("overlap_total", "overlap_done", "interpreters", "adjudicated")},
        "agreement": agreement.to_dict(),
        "reference_sample": drawn["reference_sample"],
        "package": drawn["package"],
    }  # fmt: skip
    if labelled.complete:
        target = write_table(labelled.frame, out / LABELLED_FILE, layer="reference_labelled")
        state["labelled_sample"] = str(target)
        state["labelled_sha256"] = _content_digest(labelled.frame)
    return state


def _content_digest(frame: gpd.GeoDataFrame) -> str:
    """sha256 of a labelled sample's content (a GeoPackage's bytes also hold its write time)."""
    table = frame.drop(columns=frame.geometry.name).assign(wkb=frame.geometry.to_wkb())
    return hashlib.sha256(
        pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes()
    ).hexdigest()


def _from_file(context: RunContext, classes: str) -> dict[str, Any]:
    """A labelled file named by ``inputs.reference``: its units on this map and their design."""
    from geo.estimation import open_class_map, reference_units
    from geo.estimation.reference import SAMPLE_DESIGN_COLUMNS

    reference = context.estimation.reference
    labelled = gpd.read_file(reference)
    missing = [c for c in ("stratum", "stratum_pixels") if c not in labelled.columns]
    if missing:
        raise EstimationError(
            f"inputs.reference {reference}: no sampling design (columns {missing} are missing; "
            f"admon's samples carry {list(SAMPLE_DESIGN_COLUMNS)}). Without them admon cannot "
            "tell how the points were chosen and will not estimate from them as if they were "
            "stratified by this map. Label this run's own sample (reference_sample.gpkg, "
            "/interpret or Collect Earth Online), or add the design columns."
        )
    districts = gpd.read_file(context.districts)
    units, column = reference_units(labelled, open_class_map(classes), districts, "district_id")
    target = write_table(units, Path(context.run_dir) / LABELLED_FILE, layer="reference_labelled")
    log.info("%s: %d labelled units (class from %r)", reference, len(units), column)
    return {
        "source": "file",
        "file": str(reference),
        "n_points": int(len(labelled)),
        "n_labelled": int(len(units)),
        "complete": True,
        "labelled_sample": str(target),
        "labelled_sha256": _content_digest(units),
    }
