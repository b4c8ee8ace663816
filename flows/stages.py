"""The computing stages of the annual survey as Prefect tasks (``flows.outputs`` has the rest).

Each task is a thin wrapper: it calls plain functions from ``geo`` and ``models``,
writes its outputs into the run folder (atomically), and returns paths and small
tables, never large arrays. Every stage receives the year's
:class:`~flows.plan.RunContext`; how stages are cached, retried and computed is
``flows.tasking``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import task

from core.errors import EstimationError, ImageryError, NoOverlapError
from core.io import read_csv_table, write_table
from core.legend import code_of
from flows.plan import RunContext
from flows.tasking import COMPUTE_OPTIONS, IO_RETRIES, cluster_compute, computes_in_process

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from geo.grid import AnalysisGrid

# The libraries a stage computes with are imported inside it: a rerun whose stages are
# all cached runs none of them and should not spend seconds importing them.

__all__ = [
    "check_scene",
    "season_products",
    "train_and_classify",
    "district_batches",
    "district_map_area",
    "estimate_areas",
    "field_estimates",
    "DISTRICTS_PER_TASK",
]

log = logging.getLogger(__name__)


# --- ingest -------------------------------------------------------------------------------------


@task(name="check-scene", **IO_RETRIES)
def check_scene(source: str, grid: AnalysisGrid, season: tuple[str, str]) -> dict[str, Any]:
    """Open one scene lazily on the analysis grid and measure its usable share from its mask.

    Returns a small record; ``usable`` is false (with the reason) for a scene outside
    the season, outside the area, or with no valid pixel, so the run warns and skips it.
    """
    import pandas as pd

    from geo.imagery import describe_source, read_scene, valid_share

    record: dict[str, Any] = {"source": source, "usable": False}
    spec = describe_source(source)  # the scene's metadata, parsed once for both reads below
    try:
        scene = read_scene(spec, grid=grid, require_clear=False)
    except NoOverlapError as exc:
        record["reason"] = str(exc)
        return record
    when = pd.Timestamp(scene["time"].values).tz_localize(None)
    record["datetime"] = when.isoformat()
    record["sensor"] = scene.attrs.get("sensor")
    if scene.attrs.get("processing_baseline"):
        record["processing_baseline"] = scene.attrs["processing_baseline"]
    # what the reader could not read from the product itself, kept in the manifest
    record["assumptions"] = list(scene.attrs.get("assumptions", []))
    if not (pd.Timestamp(season[0]) <= when <= pd.Timestamp(season[1]) + pd.Timedelta(days=1)):
        record["reason"] = f"acquired {when.date()}, outside the season {season[0]}..{season[1]}"
        return record
    with cluster_compute():
        share = valid_share(spec, grid)  # the mask alone, no reflectance band
    record["valid_share"] = round(share, 4)
    if share == 0:
        record["reason"] = "no valid pixel over the area (all cloud or no data)"
        return record
    record["usable"] = True
    return record


def usable_scenes(records: list[dict[str, Any]], year: int) -> list[str]:
    """The scenes the checks found usable; an error naming the year when there is none."""
    usable = [r["source"] for r in records if r["usable"]]
    for skipped in (r for r in records if not r["usable"]):
        log.warning("skipping scene %s: %s", skipped["source"], skipped.get("reason"))
    if not usable:
        raise ImageryError(
            f"none of the {len(records)} scenes of {year} is usable over the districts"
        )
    return usable


# --- composite, indices, features ---------------------------------------------------------------


def season_product_files() -> dict[str, str]:
    """Where each season product is written in the run folder (other stages read these)."""
    from geo.season import SEASON_LAYERS

    return {
        "composite_median": "composite/median.tif",
        "valid_count": "composite/valid_count.tif",
        **{key: f"indices/{key}.tif" for key in SEASON_LAYERS if key.startswith("ndvi_")},
        "features": "features.tif",
    }


@task(name="season-products", **COMPUTE_OPTIONS)
def season_products(context: RunContext, scenes: list[str], grid: AnalysisGrid) -> dict[str, str]:
    """Season composite, vegetation indices, seasonal metrics and the classifier's features.

    Everything is read lazily and written together block by block as Cloud Optimized
    GeoTIFFs: each scene block is read once and every product computed from it once.
    """
    from geo.cog import write_cogs
    from geo.imagery import read_season
    from geo.season import season_layers

    out = Path(context.run_dir)
    season = read_season(scenes, grid)
    layers = season_layers(season)
    files = season_product_files()
    with cluster_compute():
        # features.tif is read back only whole, at full resolution (classify): no overviews
        paths = write_cogs(
            {out / files[key]: layer for key, layer in layers.items()},
            internal=[out / files["features"]],
        )
    return {key: str(path) for key, path in zip(layers, paths, strict=True)}


# --- classification -----------------------------------------------------------------------------


@task(name="classify", **COMPUTE_OPTIONS)
def train_and_classify(context: RunContext, features_path: str) -> dict[str, Any]:
    """Train the classifier on the field plots (split by plot) and map the whole area."""
    import rioxarray

    from geo.classify import classify, save_model, train_classifier
    from models.survey import load_plots

    out = Path(context.run_dir)
    # Blocks of the file's own 512 px tiles: every block as large as any other at any
    # area (1024 px blocks left the 1x demo one full block, 16x many), so the stage's
    # peak is that of a few tiles whatever the area.
    features = rioxarray.open_rasterio(features_path, chunks={"x": 512, "y": 512})
    names = list(features.attrs.get("long_name") or [])
    features = features.rename({"band": "feature"})
    if names and len(names) == features.sizes["feature"]:
        features = features.assign_coords(feature=names)
    training, report = load_plots(context.training_plots)
    if report.rejected:
        log.warning(
            "%s: %d training rows rejected, first: %s",
            context.training_plots,
            report.rejected,
            report.errors[:1],
        )
    with cluster_compute():
        trained = train_classifier(
            features, training, seed=context.seed, holdout_fraction=context.holdout_fraction
        )
        outputs = classify(features, trained, out)
    save_model(trained, out / "model.joblib")
    return {
        "classes": str(outputs.classes),
        "probability": str(outputs.probability),
        "confusion": str(outputs.confusion),
        "model": str(out / "model.joblib"),
        "holdout_accuracy": float(trained.holdout_accuracy),
        "n_train_plots": int(trained.n_train_plots),
        "n_holdout_plots": int(trained.n_holdout_plots),
    }


# --- estimation ---------------------------------------------------------------------------------


def _reference_sample(
    classes: str, districts: gpd.GeoDataFrame, context: RunContext, labelled: str | None
) -> gpd.GeoDataFrame:
    """The labelled reference sample the estimates come from.

    In a real survey it is the sample drawn in phase 1 with the labels interpreters
    made since (``flows.reference.collect_labels`` wrote it). For the synthetic demo
    only, the sample is drawn here and labelled from the generator's true land
    cover, standing in for the interpreters.
    """
    import geopandas as gpd

    from flows.reference import draw

    if labelled is not None:
        return gpd.read_file(labelled)
    if context.estimation.interpreter != "synthetic_truth":
        raise EstimationError(
            f"run {context.run_id}: no labelled reference sample to estimate from"
        )
    from synthetic import interpret_reference  # the demo's stand-in interpreter only

    sample = draw(classes, districts, context)
    return interpret_reference(sample, Path(context.estimation.truth_landcover))


DISTRICTS_PER_TASK = 8
"""Districts measured by one ``district-map-area`` task (192 districts: 24 parallel tasks)."""


def district_batches(districts_path: str, size: int = DISTRICTS_PER_TASK) -> list[list[str]]:
    """The run's district ids in batches of ``size``, in file order."""
    import geopandas as gpd

    ids = gpd.read_file(districts_path, columns=["district_id"])["district_id"].astype(str)
    return [ids[i : i + size].tolist() for i in range(0, len(ids), size)]


@task(name="district-map-area", **COMPUTE_OPTIONS)
@computes_in_process
def district_map_area(classes: str, districts_path: str, district_ids: list[str]) -> pd.DataFrame:
    """Hectares of each map class in a batch of districts (a small table).

    Batches run in parallel on the cluster; each reads only its districts' windows of
    the class map.
    """
    import geopandas as gpd

    from geo.estimation import zone_class_rows

    districts = gpd.read_file(districts_path)
    batch = districts[districts["district_id"].astype(str).isin(district_ids)]
    return zone_class_rows(classes, batch, "district_id")


@task(name="estimate", **COMPUTE_OPTIONS)
@computes_in_process
def estimate_areas(
    context: RunContext,
    classes: str,
    map_area_parts: list[pd.DataFrame],
    labelled: str | None = None,
) -> dict[str, Any]:
    """Mapped area per district and sample-based estimates with intervals.

    ``map_area_parts`` are the ``district-map-area`` tables of every batch of districts;
    ``labelled`` is the labelled sample of a survey labelled by people (None for the demo,
    whose sample is drawn and labelled here).
    """
    import geopandas as gpd

    from geo.estimation import (
        check_overlap,
        combine_zone_class_rows,
        district_estimates,
        open_class_map,
    )

    out = Path(context.run_dir)
    spec = context.estimation
    districts = gpd.read_file(context.districts)
    class_map = open_class_map(classes)
    check_overlap(districts.to_crs(class_map.rio.crs), class_map)
    map_area = combine_zone_class_rows(map_area_parts, districts, "district_id")
    write_table(map_area, out / "map_area.csv")
    sample = _reference_sample(classes, districts, context, labelled)
    sample_path = Path(labelled) if labelled else out / "reference_sample.gpkg"
    if labelled is None:
        write_table(sample, sample_path, layer="reference_sample")
    estimates = district_estimates(
        map_area,
        sample,
        districts,
        zone_id="district_id",
        zone_name="district_name",
        year=context.year,
        min_per_stratum=spec.min_per_stratum,
        confidence=spec.confidence,
    )
    write_table(estimates, out / "district_estimates.csv")
    with_geometry = districts[["district_id", "geometry"]].merge(estimates, on="district_id")
    write_table(with_geometry, out / "district_estimates.gpkg", layer="district_estimates")
    write_table(with_geometry.to_crs(4326), out / "district_estimates.geojson")
    return {
        "district_estimates": str(out / "district_estimates.csv"),
        "map_area": str(out / "map_area.csv"),
        "reference_sample": str(sample_path),
        "n_reference": int(len(sample)),
    }


SEGMENT_TARGET = 0.20
"""Relative half-width the segment rows plan for (``segments_needed``: Neyman, same variance)."""


def _segment_rows(context: RunContext, segments, map_area: pd.DataFrame, out: Path) -> list:
    """Expansion and, with this run's class map, map-assisted difference estimates per crop.

    The difference estimator's frame total is the map's crop area over the districts (the
    area frame's segments tile the region). With the whole frame configured
    (``inputs.segment_frame``), the map's crop area of every frame segment gives both
    estimators the larger of the design and Isaki's map-ratio variance. ``recommended``
    marks the difference row where there is one and the whole frame gives it that
    variance (the narrower interval at 90%+ coverage, tests/benchmarks/README.md), else
    the expansion row: on the design variance alone the difference interval covered
    about 86% of the time, the expansion one about 91%. ``segments_needed``
    is how many segments of the frame the same estimator would need for ±``SEGMENT_TARGET``
    (``geo.estimation.allocation.segments_for_precision``; NaN where no crop was seen).
    """
    import geopandas as gpd

    from geo.estimation import segment_estimate, segment_map_area
    from geo.estimation.allocation import segments_for_precision

    crops, year = ("opium_poppy", "cannabis"), context.year
    classes = out / "classes.tif"
    whole_frame = None
    if classes.exists():
        segments = segment_map_area(classes, segments, crops)
        if context.segment_frame and Path(context.segment_frame).exists():
            whole_frame = segment_map_area(classes, gpd.read_file(context.segment_frame), crops)
        elif context.segment_frame:
            log.warning("inputs.segment_frame %s does not exist: segment estimates use the "
                        "design variance", context.segment_frame)  # fmt: skip
    rows = []
    for crop in crops:
        for estimator in ("expansion", "difference"):
            if estimator == "difference" and f"{crop}_map_ha" not in segments.columns:
                continue
            map_total = float(map_area.loc[map_area["class"] == code_of(crop), "area_ha"].sum())
            frame = segment_estimate(segments, context.segment_frame_sizes, crop, seed=year,
                                     confidence=context.estimation.confidence,
                                     estimator=estimator, map_total_ha=map_total,
                                     frame=whole_frame)  # fmt: skip
            planned = segments_for_precision(
                segments, context.segment_frame_sizes, crop, half_width=SEGMENT_TARGET,
                estimator=estimator, confidence=context.estimation.confidence, frame=whole_frame,
                map_total_ha=map_total,
            )["n_needed"].sum(min_count=len(context.segment_frame_sizes))  # fmt: skip
            note = frame.note
            if frame.total_ha < 0:  # the map's area plus a negative mean difference
                note = "; ".join(filter(None, [note, f"the difference estimate was "
                                 f"{frame.total_ha:.1f} ha, below zero: published as 0"]))  # fmt: skip
            rows.append({"year": year, "crop": crop, "area_ha": max(frame.total_ha, 0.0),
                         "ci_low_ha": frame.ci_low_ha, "ci_high_ha": frame.ci_high_ha,
                         "se_ha": frame.se_ha, "method": frame.method,
                         "n_segments": frame.n_segments, "note": note,
                         "variance": frame.variance, "target_half_width": SEGMENT_TARGET,
                         "segments_needed": planned,
                         "recommended": estimator == _recommended(segments, crop,
                                                                  whole_frame)})  # fmt: skip
    return rows


def _recommended(segments, crop: str, whole_frame) -> str:
    """The segment estimator to read: map-assisted where the map and the whole frame allow."""
    mapped = f"{crop}_map_ha" in segments.columns
    return "difference" if mapped and whole_frame is not None else "expansion"


@task(name="field-estimates", **COMPUTE_OPTIONS)
@computes_in_process
def field_estimates(context: RunContext, map_area_path: str, sample_path: str) -> dict[str, str]:
    """What the field data add: region totals, area-frame (segment) estimates, eradication, production."""
    import geopandas as gpd
    import pandas as pd

    from geo.estimation import eradication_by_district, production_estimates, region_estimate

    out = Path(context.run_dir)
    year, confidence = context.year, context.estimation.confidence
    districts = gpd.read_file(context.districts)
    estimates = read_csv_table(out / "district_estimates.csv", dtype={"district_id": str})
    sample = gpd.read_file(sample_path)
    map_area = read_csv_table(map_area_path, dtype={"district_id": str})
    region = region_estimate(map_area, sample, districts, year=year, confidence=confidence)
    outputs = {"region_estimates": str(write_table(region, out / "region_estimates.csv"))}
    plots = gpd.read_file(context.training_plots)
    eradication = eradication_by_district(
        plots, districts, estimates=estimates, confidence=confidence
    )
    outputs["eradication"] = str(write_table(eradication, out / "eradication.csv"))
    production = production_estimates(
        estimates, plots, zones=districts, eradication=eradication, confidence=confidence
    )
    outputs["production"] = str(write_table(production, out / "production.csv"))
    if context.segments and Path(context.segments).exists() and context.segment_frame_sizes:
        rows = _segment_rows(context, gpd.read_file(context.segments), map_area, out)
        outputs["segment_estimates"] = str(
            write_table(pd.DataFrame(rows), out / "segment_estimates.csv")
        )
    return outputs
