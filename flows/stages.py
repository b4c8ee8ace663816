"""The computing stages of the annual survey as Prefect tasks (``flows.outputs`` has the rest).

Each task is a thin wrapper: it calls plain functions from ``geo``, ``models``
and ``maps``, writes its outputs into the run folder (atomically), and returns
paths and small tables, never large arrays. I/O tasks retry with exponential
backoff; compute tasks are cached on their inputs and their source code, so a
run that died resumes after the last finished stage and a rerun with unchanged
inputs recomputes nothing.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import geopandas as gpd
import pandas as pd
from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE, CachePolicy
from prefect.tasks import exponential_backoff

from geo.io import atomic_path, release_memory

__all__ = [
    "check_scene",
    "season_products",
    "train_and_classify",
    "district_batches",
    "district_map_area",
    "estimate_areas",
    "field_estimates",
    "computes_in_process",
    "COMPUTE_CACHE",
    "COMPUTE_OPTIONS",
    "IO_RETRIES",
    "write_table",
]

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class AdmonCode(CachePolicy):
    """Cache key part: a hash of admon's own code (every ``.py`` of geo, models, maps, flows).

    Prefect's ``TASK_SOURCE`` sees only a task's own lines; a stage's numbers also
    depend on the library code it calls, so a change there must invalidate the cache.
    """

    def compute_key(self, task_ctx: Any, inputs: Any, flow_parameters: Any, **kwargs: Any) -> str:
        return admon_code_hash()


@functools.cache
def admon_code_hash() -> str:
    """sha256 over the source files of admon's packages (computed once per process)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in ("geo", "models", "maps", "flows"):
        for source in sorted((root / package).rglob("*.py")):
            digest.update(source.relative_to(root).as_posix().encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()


COMPUTE_CACHE = INPUTS + TASK_SOURCE + AdmonCode()
"""Cache compute stages on what they are given, on their code and on the code they call."""

IO_RETRIES = {"retries": 3, "retry_delay_seconds": exponential_backoff(backoff_factor=2)}
"""Reading inputs can fail for passing reasons (network mounts, object stores)."""

COMPUTE_OPTIONS = {"cache_policy": COMPUTE_CACHE, "persist_result": True}
"""Task options of a compute stage: cached, with its result persisted for resumed runs."""


@contextlib.contextmanager
def cluster_compute() -> Iterator[None]:
    """Let dask graphs inside a task use the whole Dask cluster when the task runs on one.

    On a Dask worker (DaskTaskRunner, or ``--dask-address``), a task's dask arrays
    would otherwise be computed by that worker's threads alone. On the way out, the
    memory the stage freed is handed back (``geo.io.release_memory``), so a long run
    does not carry each stage's high-water mark into the next.
    """
    try:
        with _cluster_client():
            yield
    finally:
        release_memory()


def _cluster_client() -> contextlib.AbstractContextManager[Any]:
    """The Dask client of the cluster this task runs on, or nothing outside a worker."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return contextlib.nullcontext()
    from prefect_dask import get_dask_client

    return get_dask_client()


def computes_in_process(function: Callable[P, R]) -> Callable[P, R]:
    """Run a small stage's dask computations on the threads of its own process.

    Inside a task on a Dask worker, ``dask.compute`` would otherwise send each small
    graph to the cluster and wait for it while holding the worker's thread; small
    window reads gain nothing from the cluster (district batches at 16x on 2 workers:
    23 s that way, 13 s in process). Freed memory is handed back at the end, as after
    every stage.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import dask

        try:
            with dask.config.set(scheduler="threads"):
                return function(*args, **kwargs)
        finally:
            release_memory()

    return wrapper


def write_table(table: pd.DataFrame, path: Path, *, layer: str | None = None) -> Path:
    """Write a table (CSV, or GeoPackage/GeoJSON when it has geometry) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            frame = table.drop(columns="geometry", errors="ignore")
            pd.DataFrame(frame).to_csv(tmp, index=False)
        else:
            driver = "GPKG" if path.suffix == ".gpkg" else "GeoJSON"
            gpd.GeoDataFrame(table).to_file(
                tmp, driver=driver, layer=layer or path.stem, engine="pyogrio"
            )
    return path


# --- ingest -------------------------------------------------------------------------------------


@task(name="check-scene", **IO_RETRIES)
def check_scene(source: str, grid: Any, season: tuple[str, str]) -> dict[str, Any]:
    """Open one scene lazily on the analysis grid and measure its usable share.

    Returns a small record; ``usable`` is false (with the reason) for a scene outside
    the season, outside the area, or with no valid pixel, so the run warns and skips it.
    """
    from geo.imagery import read_scene
    from models.errors import ImageryError

    record: dict[str, Any] = {"source": source, "usable": False}
    try:
        scene = read_scene(source, grid=grid)
    except ImageryError as exc:
        if "does not intersect" in str(exc) or "no valid" in str(exc):
            record["reason"] = str(exc)
            return record
        raise
    when = pd.Timestamp(scene["time"].values).tz_localize(None)
    record["datetime"] = when.isoformat()
    if not (pd.Timestamp(season[0]) <= when <= pd.Timestamp(season[1]) + pd.Timedelta(days=1)):
        record["reason"] = f"acquired {when.date()}, outside the season {season[0]}..{season[1]}"
        return record
    with cluster_compute():
        valid_share = float(scene["valid"].mean().compute())
    record["valid_share"] = round(valid_share, 4)
    if valid_share == 0:
        record["reason"] = "no valid pixel over the area (all cloud or no data)"
        return record
    record["usable"] = True
    return record


# --- composite, indices, features ---------------------------------------------------------------


@task(name="season-products", **COMPUTE_OPTIONS)
def season_products(scenes: list[str], grid: Any, run_dir: str) -> dict[str, str]:
    """Season composite, vegetation indices, seasonal metrics and the classifier's features.

    Everything is read lazily and written chunk by chunk as Cloud Optimized GeoTIFFs.
    """
    from geo import composite, indices
    from geo.classify import build_features
    from geo.imagery import read_season

    out = Path(run_dir)
    season = read_season(scenes, grid)
    products: dict[str, str] = {}
    with cluster_compute():
        median = composite.season_composite(season, method="median")
        products["composite_median"] = str(
            composite.write_cog(
                median.drop_vars("valid_count", errors="ignore"), out / "composite" / "median.tif"
            )
        )
        products["valid_count"] = str(
            composite.write_cog(median["valid_count"], out / "composite" / "valid_count.tif")
        )
        ndvi_stack = indices.compute(season, ["NDVI"])["NDVI"]
        ndvi = composite.season_composite(ndvi_stack.to_dataset(name="ndvi"), method="median")[
            "ndvi"
        ]
        products["ndvi_median"] = str(
            composite.write_cog(ndvi, out / "indices" / "ndvi_median.tif")
        )
        p90 = composite.season_composite(ndvi_stack.to_dataset(name="ndvi"), method="p90")["ndvi"]
        products["ndvi_p90"] = str(composite.write_cog(p90, out / "indices" / "ndvi_p90.tif"))
        metrics = composite.seasonal_metrics(ndvi_stack)
        for name in metrics.data_vars:
            products[f"ndvi_{name}"] = str(
                composite.write_cog(metrics[name], out / "indices" / f"ndvi_{name}.tif")
            )
        features = build_features(season)
        products["features"] = str(composite.write_cog(features, out / "features.tif"))
    return products


# --- classification -----------------------------------------------------------------------------


@task(name="classify", **COMPUTE_OPTIONS)
def train_and_classify(
    features_path: str, training_path: str, run_dir: str, seed: int, holdout_fraction: float
) -> dict[str, Any]:
    """Train the classifier on the field plots (split by plot) and map the whole area."""
    import rioxarray

    from geo.classify import classify, save_model, train_classifier
    from models.survey import load_plots

    out = Path(run_dir)
    features = rioxarray.open_rasterio(features_path, chunks={"x": 1024, "y": 1024})
    names = list(features.attrs.get("long_name") or [])
    features = features.rename({"band": "feature"})
    if names and len(names) == features.sizes["feature"]:
        features = features.assign_coords(feature=names)
    training, report = load_plots(training_path)
    if report.rejected:
        log.warning(
            "%s: %d training rows rejected, first: %s",
            training_path,
            report.rejected,
            report.errors[:1],
        )
    with cluster_compute():
        trained = train_classifier(features, training, seed=seed, holdout_fraction=holdout_fraction)
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
    classes: str, districts: gpd.GeoDataFrame, spec: dict[str, Any]
) -> gpd.GeoDataFrame:
    """Draw the stratified reference sample on the map and label it.

    Labels come from a labelled reference file (a real survey: interpreters label the
    drawn points on very-high-resolution imagery and return the file) or, for the
    synthetic demo only, from the generator's true land cover standing in for them.
    """
    from geo.area import draw_reference_sample

    if spec["interpreter"] == "synthetic_truth":
        from geo.synthetic import interpret_reference

        sample = draw_reference_sample(
            classes,
            districts,
            "district_id",
            n_per_stratum=spec["n_per_stratum"],
            seed=spec["seed"],
            buffer_px=spec["buffer_px"],
        )
        return interpret_reference(sample, Path(spec["truth_landcover"]))
    labelled = gpd.read_file(spec["reference"])
    return _attach_map_class(labelled, classes, districts)


def _attach_map_class(
    labelled: gpd.GeoDataFrame, classes: str, districts: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Give each labelled reference point its map class (the stratum) and district."""
    import rasterio

    with rasterio.open(classes) as src:
        points = labelled.to_crs(src.crs)
        coords = [(geom.x, geom.y) for geom in points.geometry.centroid]
        points["map_class"] = [int(v[0]) for v in src.sample(coords)]
    joined = gpd.sjoin(
        points, districts[["district_id", "geometry"]].to_crs(points.crs), how="left"
    )
    joined = joined.rename(columns={"district_id": "zone_id"}).drop(columns="index_right")
    if "reference_class" not in joined.columns:
        for column in ("land_cover", "crop"):
            if column in joined.columns:
                joined["reference_class"] = joined[column]
                break
    return joined


DISTRICTS_PER_TASK = 8
"""Districts measured by one ``district-map-area`` task (192 districts: 24 parallel tasks)."""


def district_batches(districts_path: str, size: int = DISTRICTS_PER_TASK) -> list[list[str]]:
    """The run's district ids in batches of ``size``, in file order."""
    ids = gpd.read_file(districts_path, columns=["district_id"])["district_id"].astype(str)
    return [ids[i : i + size].tolist() for i in range(0, len(ids), size)]


@task(name="district-map-area", **COMPUTE_OPTIONS)
@computes_in_process
def district_map_area(classes: str, districts_path: str, district_ids: list[str]) -> pd.DataFrame:
    """Hectares of each map class in a batch of districts (a small table).

    Batches run in parallel on the cluster; each reads only its districts' windows of
    the class map.
    """
    from geo.area import zone_class_rows

    districts = gpd.read_file(districts_path)
    batch = districts[districts["district_id"].astype(str).isin(district_ids)]
    return zone_class_rows(classes, batch, "district_id")


@task(name="estimate", **COMPUTE_OPTIONS)
@computes_in_process
def estimate_areas(
    classes: str,
    districts_path: str,
    run_dir: str,
    year: int,
    spec: dict[str, Any],
    map_area_parts: list[pd.DataFrame],
) -> dict[str, Any]:
    """Mapped area per district, a stratified reference sample, and sample-based estimates with intervals.

    ``map_area_parts`` are the ``district-map-area`` tables of every batch of districts.
    """
    from geo.area import combine_zone_class_rows, district_estimates
    from geo.area_inputs import check_overlap, open_class_map

    out = Path(run_dir)
    districts = gpd.read_file(districts_path)
    class_map = open_class_map(classes)
    check_overlap(districts.to_crs(class_map.rio.crs), class_map)
    map_area = combine_zone_class_rows(map_area_parts, districts, "district_id")
    write_table(map_area, out / "map_area.csv")
    sample = _reference_sample(classes, districts, spec)
    write_table(sample, out / "reference_sample.gpkg", layer="reference_sample")
    estimates = district_estimates(
        map_area,
        sample,
        districts,
        zone_id="district_id",
        zone_name="district_name",
        year=year,
        min_per_stratum=spec["min_per_stratum"],
        confidence=spec["confidence"],
    )
    write_table(estimates, out / "district_estimates.csv")
    with_geometry = districts[["district_id", "geometry"]].merge(estimates, on="district_id")
    write_table(with_geometry, out / "district_estimates.gpkg", layer="district_estimates")
    write_table(with_geometry.to_crs(4326), out / "district_estimates.geojson")
    return {
        "district_estimates": str(out / "district_estimates.csv"),
        "map_area": str(out / "map_area.csv"),
        "reference_sample": str(out / "reference_sample.gpkg"),
        "n_reference": int(len(sample)),
    }


@task(name="field-estimates", **COMPUTE_OPTIONS)
@computes_in_process
def field_estimates(
    map_area_path: str,
    districts_path: str,
    run_dir: str,
    year: int,
    plots_path: str,
    segments_path: str | None,
    frame_sizes: dict[str, int] | None,
    confidence: float,
) -> dict[str, str]:
    """What the field data add: region totals, area-frame (segment) estimates, eradication, production."""
    from geo.area import (
        eradication_by_district,
        production_estimates,
        region_estimate,
        segment_estimate,
    )

    out = Path(run_dir)
    districts = gpd.read_file(districts_path)
    estimates = pd.read_csv(out / "district_estimates.csv", dtype={"district_id": str})
    sample = gpd.read_file(out / "reference_sample.gpkg")
    map_area = pd.read_csv(map_area_path, dtype={"district_id": str})
    region = region_estimate(map_area, sample, districts, year=year, confidence=confidence)
    outputs = {"region_estimates": str(write_table(region, out / "region_estimates.csv"))}
    plots = gpd.read_file(plots_path)
    eradication = eradication_by_district(
        plots, districts, estimates=estimates, confidence=confidence
    )
    outputs["eradication"] = str(write_table(eradication, out / "eradication.csv"))
    production = production_estimates(
        estimates, plots, zones=districts, eradication=eradication, confidence=confidence
    )
    outputs["production"] = str(write_table(production, out / "production.csv"))
    if segments_path and Path(segments_path).exists() and frame_sizes:
        segments = gpd.read_file(segments_path)
        rows = []
        for crop in ("opium_poppy", "cannabis"):
            frame = segment_estimate(segments, frame_sizes, crop, seed=year, confidence=confidence)
            rows.append(
                {
                    "year": year,
                    "crop": crop,
                    "area_ha": frame.total_ha,
                    "ci_low_ha": frame.ci_low_ha,
                    "ci_high_ha": frame.ci_high_ha,
                    "se_ha": frame.se_ha,
                    "method": frame.method,
                    "n_segments": frame.n_segments,
                }
            )
        outputs["segment_estimates"] = str(
            write_table(pd.DataFrame(rows), out / "segment_estimates.csv")
        )
    return outputs
