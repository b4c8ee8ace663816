"""The stages of the annual survey that link, store and publish what the computing stages made."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
from prefect import task

from core.io import read_csv_table, write_table
from flows.manifest import RunManifest
from flows.plan import RunContext
from flows.tasking import COMPUTE_OPTIONS, IO_RETRIES, computes_in_process

if TYPE_CHECKING:
    from maps.public import PublicPolicy

# The maps and models a stage uses are imported inside it: a rerun whose stages are all
# cached runs none of them and should not spend seconds importing them.

__all__ = ["link_programmes", "store_results", "publish_outputs"]

log = logging.getLogger(__name__)


# --- programmes ---------------------------------------------------------------------------------


@task(name="link-programmes", **COMPUTE_OPTIONS)
@computes_in_process
def link_programmes(
    context: RunContext, estimates_path: str, baseline_estimates: dict[int, str], classes: str
) -> dict[str, Any]:
    """Change since each AD programme's baseline, the multi-year series, and programme vs other districts.

    ``baseline_estimates`` are the district estimates of earlier years (newest run of
    each). Farmer feedback (when a survey export is configured) is shown beside the change.
    """
    from models.change import (
        programme_change,
        programme_series,
        programme_vs_other,
        write_programme_change,
    )
    from models.feedback import aggregate_feedback, feedback_beside_change, load_feedback
    from models.programme import load_programmes

    out, year = Path(context.run_dir), context.year
    districts = gpd.read_file(context.districts)
    programmes, report = load_programmes(context.programmes, districts=districts)
    if report.rejected:
        log.warning(
            "%s: %d programme rows rejected: %s", context.programmes, report.rejected, report.errors
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
    if context.feedback and Path(context.feedback).exists():
        feedback, feedback_report = load_feedback(context.feedback)
        if feedback_report.rejected:
            log.warning("%s: %d feedback rows rejected", context.feedback, feedback_report.rejected)
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
    table = read_csv_table(path, dtype={"district_id": str})
    table["run_id"] = Path(path).parent.name
    return table


# --- store -------------------------------------------------------------------------------------


@task(name="store-results", **IO_RETRIES)
@computes_in_process
def store_results(
    context: RunContext, estimates_path: str, change_path: str | None = None
) -> dict[str, int]:
    """Record the run's districts, estimates and programme change in the store (GeoPackage or PostGIS).

    The service's ``/api/v1/estimates`` and the programme series read them from there.
    """
    from models.programme import load_programmes
    from models.store import open_store

    store = open_store(context.store_url, workspace=context.workspace)
    try:
        districts = gpd.read_file(context.districts)
        store.put_districts(districts)
        estimates = read_csv_table(estimates_path, dtype={"district_id": str})
        store.put_estimates(estimates, context.run_id)
        counts = {"estimates": len(estimates)}
        if context.programmes:
            programmes, _ = load_programmes(context.programmes, districts=districts)
            store.put_programmes(programmes)
            counts["programmes"] = len(programmes)
        if change_path:
            change = read_csv_table(change_path, dtype={"district_id": str})
            store.put_programme_change(change, context.run_id)
            counts["programme_change"] = len(change)
    finally:
        store.close()
    return counts


# --- publishing ---------------------------------------------------------------------------------


def _public_policy(publish: dict[str, Any] | None) -> PublicPolicy:
    """``[publish]`` of the configuration as the maps layer's policy."""
    from maps.public import PublicPolicy

    if not publish:
        return PublicPolicy()
    return PublicPolicy(
        show=tuple(publish.get("public", PublicPolicy().show)),
        min_households=int(publish.get("min_households", 5)),
        density_cell_km2=float(publish.get("density_cell_km2", 1.0)),
        min_plots=int(publish.get("min_plots", 3)),
    )


def _optional_frame(path: str | None, **kwargs: Any) -> gpd.GeoDataFrame | None:
    if path is None or not Path(path).exists():
        return None
    return gpd.read_file(path, **kwargs)


@task(name="publish", **IO_RETRIES)
@computes_in_process
def publish_outputs(
    context: RunContext,
    classified: dict[str, Any],
    products: dict[str, str],
    estimated: dict[str, Any],
    linked: dict[str, Any],
) -> dict[str, Any]:
    """Interactive map, static maps and charts, report, downloads, and the gallery."""
    import maps
    from models.programme import load_programmes
    from models.survey import load_plots

    out, workspace = Path(context.run_dir), Path(context.workspace)
    districts = gpd.read_file(out / "districts.gpkg")
    estimates = read_csv_table(estimated["district_estimates"], dtype={"district_id": str})
    change = (
        read_csv_table(linked["programme_change"], dtype={"district_id": str})
        if linked.get("programme_change")
        else None
    )
    history = [
        read_csv_table(p, dtype={"district_id": str})
        for p in sorted((workspace / "runs").glob("*/*/district_estimates.csv"))
    ]
    programmes = None
    if context.programmes:
        programmes, _ = load_programmes(context.programmes, districts=districts)
    plots = None
    if Path(context.training_plots).exists():
        plots, _ = load_plots(context.training_plots)
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
        segments=_optional_frame(context.segments),
        programmes=programmes,
        manifest=manifest,
        synthetic=context.synthetic,
        history=pd.concat(history, ignore_index=True) if history else None,
        public=_public_policy(context.publish),
    )
    gallery = maps.build_gallery(workspace)
    published = {key: str(value) for key, value in paths.items() if isinstance(value, (str, Path))}
    published["gallery"] = str(gallery)
    return published
