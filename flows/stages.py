"""The stages of the annual survey as Prefect tasks.

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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE, CachePolicy
from prefect.tasks import exponential_backoff

from geo.io import atomic_path

__all__ = [
    "check_scene",
    "season_products",
    "train_and_classify",
    "estimate_areas",
    "field_estimates",
    "link_programmes",
    "store_results",
    "publish_outputs",
    "COMPUTE_CACHE",
    "IO_RETRIES",
]

log = logging.getLogger(__name__)


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

_COMPUTE = {"cache_policy": COMPUTE_CACHE, "persist_result": True}


@contextlib.contextmanager
def cluster_compute() -> Iterator[None]:
    """Let dask graphs inside a task use the whole Dask cluster when the task runs on one.

    On a Dask worker (DaskTaskRunner, or ``--dask-address``), a task's dask arrays
    would otherwise be computed by that worker's threads alone.
    """
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        yield
        return
    from prefect_dask import get_dask_client

    with get_dask_client():
        yield


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


@task(name="season-products", **_COMPUTE)
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


@task(name="classify", **_COMPUTE)
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


@task(name="estimate", **_COMPUTE)
def estimate_areas(
    classes: str, districts_path: str, run_dir: str, year: int, spec: dict[str, Any]
) -> dict[str, Any]:
    """Mapped area per district, a stratified reference sample, and sample-based estimates with intervals."""
    from geo.area import district_estimates, zonal_class_area

    out = Path(run_dir)
    districts = gpd.read_file(districts_path)
    map_area = zonal_class_area(classes, districts, "district_id")
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
        "reference_sample": str(out / "reference_sample.gpkg"),
        "n_reference": int(len(sample)),
    }


@task(name="field-estimates", **_COMPUTE)
def field_estimates(
    classes: str,
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
        zonal_class_area,
    )

    out = Path(run_dir)
    districts = gpd.read_file(districts_path)
    estimates = pd.read_csv(out / "district_estimates.csv", dtype={"district_id": str})
    sample = gpd.read_file(out / "reference_sample.gpkg")
    map_area = zonal_class_area(classes, districts, "district_id")
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


# --- programmes ---------------------------------------------------------------------------------


@task(name="link-programmes", **_COMPUTE)
def link_programmes(
    programmes_path: str,
    estimates_path: str,
    baseline_estimates: dict[int, str],
    districts_path: str,
    run_dir: str,
    year: int,
    classes: str,
    feedback_path: str | None = None,
) -> dict[str, Any]:
    """Change since each AD programme's baseline, the multi-year series, and programme vs other districts.

    Farmer feedback (when a survey export is configured) is shown beside the change.
    """
    from models.change import programme_change, programme_series, programme_vs_other
    from models.change_output import write_programme_change
    from models.feedback import aggregate_feedback, feedback_beside_change, load_feedback
    from models.programme import load_programmes

    out = Path(run_dir)
    districts = gpd.read_file(districts_path)
    programmes, report = load_programmes(programmes_path, districts=districts)
    if report.rejected:
        log.warning(
            "%s: %d programme rows rejected: %s", programmes_path, report.rejected, report.errors
        )
    estimates = _read_estimates(estimates_path)
    earlier = {y: _read_estimates(p) for y, p in sorted(baseline_estimates.items())}
    change = programme_change(
        programmes,
        estimates,
        earlier or None,
        year=year,
        districts=districts,
        run_id=out.name,
        class_map=classes,
    )
    if feedback_path and Path(feedback_path).exists():
        feedback, feedback_report = load_feedback(feedback_path)
        if feedback_report.rejected:
            log.warning("%s: %d feedback rows rejected", feedback_path, feedback_report.rejected)
        summary = aggregate_feedback(feedback)
        write_table(summary, out / "programme_feedback.csv")
        change = feedback_beside_change(change, summary)
    written = write_programme_change(change, out, districts=districts, programmes=programmes)
    every_year = pd.concat([*earlier.values(), estimates], ignore_index=True)
    series = programme_series(every_year, programmes)
    write_table(series, out / "programme_series.csv")
    outputs = {
        "programme_change": str(written["csv"]),
        "programme_series": str(out / "programme_series.csv"),
    }
    baseline_years = sorted(y for y in earlier if y < year)
    if baseline_years:
        comparison = programme_vs_other(
            every_year, programmes, baseline_year=baseline_years[0], year=year, districts=districts
        )
        write_table(comparison, out / "programme_vs_other.csv")
        outputs["programme_vs_other"] = str(out / "programme_vs_other.csv")
    outputs["rows"] = int(len(change))
    return outputs


def _read_estimates(path: str | Path) -> pd.DataFrame:
    """District estimates of a run, tagged with the run that made them."""
    table = pd.read_csv(path, dtype={"district_id": str})
    table["run_id"] = Path(path).parent.name
    return table


# --- store -------------------------------------------------------------------------------------


@task(name="store-results", **IO_RETRIES)
def store_results(
    store_url: str,
    workspace: str,
    run_id: str,
    districts_path: str,
    estimates_path: str,
    programmes_path: str | None = None,
    change_path: str | None = None,
) -> dict[str, int]:
    """Record the run's districts, estimates and programme change in the store (GeoPackage or PostGIS).

    The service's ``/api/v1/estimates`` and the programme series read them from there.
    """
    from models.store import open_store

    store = open_store(store_url, workspace=workspace)
    try:
        districts = gpd.read_file(districts_path)
        store.put_districts(districts)
        estimates = pd.read_csv(estimates_path, dtype={"district_id": str})
        store.put_estimates(estimates, run_id)
        counts = {"estimates": len(estimates)}
        if programmes_path:
            from models.programme import load_programmes

            programmes, _ = load_programmes(programmes_path, districts=districts)
            store.put_programmes(programmes)
            counts["programmes"] = len(programmes)
        if change_path:
            change = pd.read_csv(change_path, dtype={"district_id": str})
            store.put_programme_change(change, run_id)
            counts["programme_change"] = len(change)
    finally:
        store.close()
    return counts


# --- publishing ---------------------------------------------------------------------------------


def _optional_frame(path: Path | None, **kwargs: Any) -> gpd.GeoDataFrame | None:
    if path is None or not Path(path).exists():
        return None
    return gpd.read_file(path, **kwargs)


@task(name="publish", **IO_RETRIES)
def publish_outputs(
    config_path: str,
    year: int,
    run_dir: str,
    classified: dict[str, Any],
    products: dict[str, str],
    estimated: dict[str, Any],
    linked: dict[str, Any],
) -> dict[str, Any]:
    """Interactive map, static maps and charts, report, downloads, and the gallery."""
    import maps
    from flows.config import load_config
    from flows.manifest import RunManifest

    config = load_config(config_path)
    out = Path(run_dir)
    districts = gpd.read_file(config.path(config.inputs.districts))
    districts = districts.rename(
        columns={
            config.inputs.district_id: "district_id",
            config.inputs.district_name: "district_name",
        }
    )
    estimates = pd.read_csv(estimated["district_estimates"], dtype={"district_id": str})
    change = (
        pd.read_csv(linked["programme_change"], dtype={"district_id": str})
        if linked.get("programme_change")
        else None
    )
    history = [
        pd.read_csv(p, dtype={"district_id": str})
        for p in sorted((config.workspace / "runs").glob("*/*/district_estimates.csv"))
    ]
    programmes = None
    if config.inputs.programmes:
        from models.programme import load_programmes

        programmes, _ = load_programmes(config.path(config.inputs.programmes), districts=districts)
    plots = None
    training = config.path(config.inputs.training_plots, year)
    if training is not None and training.exists():
        from models.survey import load_plots

        plots, _ = load_plots(training)
    manifest = RunManifest.read(out / "manifest.json")
    manifest["accuracy"] = {
        "holdout_accuracy": classified.get("holdout_accuracy"),
        "confusion_matrix": classified.get("confusion"),
    }
    paths = maps.publish_run(
        out,
        districts=districts,
        district_estimates=estimates,
        programme_change=change,
        class_map=Path(classified["classes"]),
        ndvi=Path(products["ndvi_median"]),
        plots=plots,
        segments=_optional_frame(config.path(config.inputs.segments, year)),
        programmes=programmes,
        manifest=manifest,
        synthetic=config.survey.synthetic,
        history=pd.concat(history, ignore_index=True) if history else None,
    )
    gallery = maps.build_gallery(config.workspace)
    published = {key: str(value) for key, value in paths.items() if isinstance(value, (str, Path))}
    published["gallery"] = str(gallery)
    return published
