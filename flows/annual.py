"""The annual survey flow: a season of imagery and the field data in, hectares per district out.

``annual_survey`` is the parent flow; its stages (ingest, composite & indices,
classify, estimate, link, publish) are the tasks of ``flows.stages`` and
``flows.outputs``, each submitted to the flow's task runner: on a Dask cluster they
run on the workers, and the dask arrays inside them use the whole cluster. The
per-scene checks and the per-district map areas (batches of districts) are mapped
tasks that run side by side. It runs
the same under a Prefect server (scheduled deployments) and without one
(``admon run``/``admon demo`` start a temporary server by themselves).
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from prefect import flow, get_run_logger, unmapped
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from flows import outputs, stages
from flows.config import RunConfig, load_config
from flows.manifest import RunManifest, fingerprint_inputs
from geo.io import clean_partial
from models.errors import ConfigError, ImageryError

__all__ = [
    "annual_survey",
    "RunPlan",
    "plan_run",
    "find_scenes",
    "check_inputs",
    "latest_finished_year",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunPlan:
    """Where one survey year's run writes, and what it reads."""

    run_id: str
    year: int
    run_dir: Path
    scenes: list[str]
    inputs_digest: str


def find_scenes(config: RunConfig, year: int) -> list[str]:
    """The scenes of ``year``: the configured patterns expanded, plus a STAC search's items.

    Items found by ``[inputs.stac]`` are saved (asset links made absolute) under
    ``<workspace>/stac/<year>/``, so the run's manifest fingerprints exactly the items
    it used and a rerun reads the same files.
    """
    found: set[str] = set()
    for pattern in config.inputs.imagery:
        resolved = config.path(pattern, year)
        found.update(glob.glob(str(resolved)))
    if config.inputs.stac is not None:
        found.update(_stac_scenes(config, year))
    if not found:
        searched = []
        if config.inputs.imagery:
            searched.append(
                f"no scene matches inputs.imagery {config.inputs.imagery} "
                f"(searched from {config.base_dir}; check the patterns and the {{year}} "
                "placeholder)"
            )
        if config.inputs.stac is not None:
            searched.append(
                f"the STAC search of {config.inputs.stac.catalog} found no item over the "
                "districts in the season (check collections, max_cloud_cover and the season)"
            )
        raise ImageryError(f"no imagery for {year}: " + "; ".join(searched))
    return sorted(found)


def _stac_scenes(config: RunConfig, year: int) -> list[str]:
    from geo.imagery import search_scenes
    from geo.io import atomic_write_json

    stac = config.inputs.stac
    assert stac is not None
    catalog = stac.catalog if "://" in stac.catalog else str(config.path(stac.catalog))
    districts = gpd.read_file(config.path(config.inputs.districts))
    bbox = tuple(float(v) for v in districts.to_crs(4326).total_bounds)
    first, last = config.survey.season(year)
    items = search_scenes(
        catalog,
        bbox,
        first.isoformat(),
        last.isoformat(),
        max_cloud_cover=stac.max_cloud_cover,
        collections=stac.collections,
        limit=stac.limit,
    )
    folder = config.workspace / "stac" / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in items:
        item.make_asset_hrefs_absolute()
        payload = item.to_dict(include_self_link=False, transform_hrefs=False)
        path = folder / f"{item.id}.json"
        if not path.exists() or json.loads(path.read_text()) != payload:
            atomic_write_json(path, payload)
        paths.append(str(path))
    for stale in set(folder.glob("*.json")) - {Path(p) for p in paths}:
        stale.unlink()  # the folder is fingerprinted: it holds this search's items only
    log.info("STAC search of %s: %d items for %d", catalog, len(paths), year)
    return paths


def _input_files(config: RunConfig, year: int, scenes: list[str]) -> dict[str, list[Path]]:
    """Every file a run of ``year`` reads, by role (a scene's files sit in its folder)."""
    roles: dict[str, list[Path]] = {
        "imagery": sorted({Path(s).parent if Path(s).is_file() else Path(s) for s in scenes}),
        "districts": [config.path(config.inputs.districts)],
        "training_plots": [config.path(config.inputs.training_plots, year)],
    }
    optional = {
        "programmes": config.inputs.programmes,
        "reference": config.inputs.reference,
        "truth_landcover": config.inputs.truth_landcover,
    }
    for role, template in optional.items():
        if template:
            roles[role] = [config.path(template, year)]
    for role, paths in roles.items():
        for path in paths:
            if not path.exists():
                raise ConfigError(f"inputs.{role}: {path} does not exist")
    return roles


def check_inputs(config: RunConfig, year: int) -> None:
    """Raise a clear error now if a configured input of ``year`` is missing."""
    _input_files(config, year, find_scenes(config, year))


def _parameters(config: RunConfig) -> dict[str, Any]:
    """The parameters that shape the numbers (not where outputs go or how they are computed)."""
    return {
        "survey": config.survey.model_dump(mode="json"),
        "grid": config.grid.model_dump(mode="json"),
        "classification": config.classification.model_dump(mode="json"),
        "estimation": config.estimation.model_dump(mode="json"),
        "reference_interpreter": config.inputs.reference_interpreter,
    }


def plan_run(config: RunConfig, year: int) -> tuple[RunPlan, RunManifest]:
    """Fingerprint the inputs, name the run after them, and open its manifest.

    The run id is derived from the input checksums and the parameters, so a rerun with
    the same inputs reuses the run folder (and Prefect's cache) instead of starting over.
    """
    scenes = find_scenes(config, year)
    records, digest = fingerprint_inputs(_input_files(config, year, scenes))
    parameters = _parameters(config)
    named = hashlib.sha256((digest + json.dumps(parameters, sort_keys=True)).encode()).hexdigest()
    run_id = f"{year}-{named[:10]}"
    run_dir = config.workspace / "runs" / str(year) / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    removed = clean_partial(run_dir)
    if removed:
        log.warning(
            "removed %d partial files left by an interrupted run in %s", len(removed), run_dir
        )
    manifest = RunManifest(
        path=run_dir / "manifest.json",
        run_id=run_id,
        year=year,
        parameters=parameters,
        inputs=records,
        synthetic=config.survey.synthetic,
    )
    previous = run_dir / "manifest.json"
    if previous.exists():
        manifest.created = RunManifest.read(previous).get("created", manifest.created)
    manifest.save()
    return RunPlan(run_id, year, run_dir, scenes, digest), manifest


def _baseline_estimates(config: RunConfig, year: int, current_run: Path) -> dict[int, str]:
    """District estimates of earlier years (newest run of each), for baselines and series."""
    found: dict[int, str] = {}
    runs_root = config.workspace / "runs"
    for candidate in sorted(
        runs_root.glob("*/*/district_estimates.csv"), key=lambda p: p.stat().st_mtime
    ):
        run_year = int(candidate.parent.parent.name)
        if run_year < year and candidate.parent != current_run:
            found[run_year] = str(candidate)
    return found


def normalised_districts(config: RunConfig, run_dir: Path) -> str:
    """Write the run's districts with admon's column names (``district_id``, ``district_name``).

    Every stage reads this copy, so real zone files with other id and name columns work,
    and the run folder keeps the zones its numbers refer to.
    """
    source = config.path(config.inputs.districts)
    districts = gpd.read_file(source)
    columns = {
        config.inputs.district_id: "district_id",
        config.inputs.district_name: "district_name",
    }
    missing = [c for c in columns if c not in districts.columns]
    if missing:
        raise ConfigError(
            f"inputs.districts {source}: no column {missing}; its columns are "
            f"{[c for c in districts.columns if c != 'geometry']}; set inputs.district_id / "
            "inputs.district_name"
        )
    districts = districts.rename(columns=columns)[["district_id", "district_name", "geometry"]]
    districts["district_id"] = districts["district_id"].astype(str)
    if districts["district_id"].duplicated().any():
        dup = districts.loc[districts["district_id"].duplicated(), "district_id"].iloc[0]
        raise ConfigError(f"inputs.districts {source}: district id {dup!r} appears twice")
    return str(stages.write_table(districts, run_dir / "districts.gpkg", layer="districts"))


def _grid_for(config: RunConfig, districts_path: Path) -> Any:
    from geo.grid import AnalysisGrid

    districts = gpd.read_file(districts_path)
    crs = config.grid.crs or districts.crs
    bounds = tuple(districts.to_crs(crs).total_bounds)
    return AnalysisGrid.from_bounds(bounds, crs=crs, resolution=config.grid.resolution_m)


def _summary_markdown(
    year: int, run_id: str, estimates: pd.DataFrame, region: pd.DataFrame, synthetic: bool
) -> str:
    lines = [f"# Annual survey {year} ({run_id})", ""]
    if synthetic:
        lines += ["**SYNTHETIC demo data: not a real survey.**", ""]
    for crop, districts in estimates.groupby("crop"):
        totals = region[region["crop"] == crop]
        total = totals.iloc[0] if len(totals) else None
        if total is not None:
            lines.append(
                f"- **{crop}**: {total.area_ha:,.1f} ha (95% CI {total.ci_low_ha:,.1f} to {total.ci_high_ha:,.1f}) "
                f"over {len(districts)} districts"
            )
        else:
            lines.append(
                f"- **{crop}**: {districts.area_ha.sum():,.1f} ha summed over {len(districts)} districts"
            )
    return "\n".join(lines)


def latest_finished_year(config: RunConfig, today: date | None = None) -> int:
    """The survey year whose season ended most recently (what a scheduled run should do)."""
    today = today or date.today()
    _, end = config.survey.season(today.year)
    return today.year if today >= end else today.year - 1


def estimation_spec(config: RunConfig, year: int) -> dict[str, Any]:
    """What the estimate stage needs from the configuration, as a small dict."""
    return {
        "interpreter": config.inputs.reference_interpreter,
        "truth_landcover": str(config.path(config.inputs.truth_landcover, year) or ""),
        "reference": str(config.path(config.inputs.reference, year) or ""),
        "n_per_stratum": dict(config.estimation.n_per_stratum),
        "buffer_px": config.estimation.buffer_px,
        "seed": config.estimation.sample_seed + year,
        "min_per_stratum": config.estimation.min_per_stratum,
        "confidence": config.estimation.confidence,
    }


def _estimate(
    config: RunConfig, year: int, plan: RunPlan, classes: str, districts_path: str
) -> dict[str, Any]:
    """The estimate stage: map area per batch of districts (in parallel), then the
    sample-based estimates, then what the field data add."""
    spec = estimation_spec(config, year)
    map_area_parts = stages.district_map_area.map(
        unmapped(classes), unmapped(districts_path), stages.district_batches(districts_path)
    )
    estimated = stages.estimate_areas.submit(
        classes,
        districts_path,
        str(plan.run_dir),
        year,
        spec,
        [part.result() for part in map_area_parts],
    ).result()
    estimated.update(
        stages.field_estimates.submit(
            estimated["map_area"],
            districts_path,
            str(plan.run_dir),
            year,
            str(config.path(config.inputs.training_plots, year)),
            str(config.path(config.inputs.segments, year) or "") or None,
            config.inputs.segment_frame_sizes,
            config.estimation.confidence,
        ).result()
    )
    return estimated


@flow(name="annual-survey", log_prints=True)
def annual_survey(config_path: str, year: int | None = None) -> dict[str, Any]:
    """Run the annual survey for one year of a configuration.

    Parameters
    ----------
    config_path
        The run configuration (TOML).
    year
        The survey (harvest) year; default the year whose season ended most recently,
        which is what the scheduled deployment runs.

    Returns
    -------
    dict
        run_id, run_dir and the paths of the main outputs.
    """
    logger = get_run_logger()
    config = load_config(config_path)
    year = year or latest_finished_year(config)
    plan, manifest = plan_run(config, year)
    logger.info("run %s: %d scenes, outputs in %s", plan.run_id, len(plan.scenes), plan.run_dir)
    stage = "ingest"
    try:
        started = time.monotonic()
        districts_path = normalised_districts(config, plan.run_dir)
        grid = _grid_for(config, Path(districts_path))
        first, last = config.survey.season(year)
        checks = stages.check_scene.map(
            plan.scenes, grid=unmapped(grid), season=unmapped((first.isoformat(), last.isoformat()))
        )
        records = [c.result() for c in checks]
        usable = [r["source"] for r in records if r["usable"]]
        for skipped in (r for r in records if not r["usable"]):
            logger.warning("skipping scene %s: %s", skipped["source"], skipped.get("reason"))
        if not usable:
            raise ImageryError(
                f"none of the {len(records)} scenes of {year} is usable over the districts"
            )
        manifest.stage_done(stage, time.monotonic() - started, scenes=records)

        stage, started = "composite", time.monotonic()
        products = stages.season_products.submit(usable, grid, str(plan.run_dir)).result()
        manifest.stage_done(stage, time.monotonic() - started, outputs=products)

        stage, started = "classify", time.monotonic()
        training = str(config.path(config.inputs.training_plots, year))
        classified = stages.train_and_classify.submit(
            products["features"],
            training,
            str(plan.run_dir),
            config.classification.seed,
            config.classification.holdout_fraction,
        ).result()
        manifest.stage_done(stage, time.monotonic() - started, outputs=classified)

        stage, started = "estimate", time.monotonic()
        estimated = _estimate(config, year, plan, classified["classes"], districts_path)
        manifest.stage_done(stage, time.monotonic() - started, outputs=estimated)
        estimates = pd.read_csv(estimated["district_estimates"], dtype={"district_id": str})

        linked: dict[str, Any] = {}
        if config.inputs.programmes:
            stage, started = "link", time.monotonic()
            linked = outputs.link_programmes.submit(
                str(config.path(config.inputs.programmes)),
                estimated["district_estimates"],
                _baseline_estimates(config, year, plan.run_dir),
                districts_path,
                str(plan.run_dir),
                year,
                classified["classes"],
                str(config.path(config.inputs.feedback, year) or "") or None,
            ).result()
            manifest.stage_done(stage, time.monotonic() - started, outputs=linked)

        stored = outputs.store_results.submit(
            config.store_url,
            str(config.workspace),
            plan.run_id,
            districts_path,
            estimated["district_estimates"],
            str(config.path(config.inputs.programmes)) if config.inputs.programmes else None,
            linked.get("programme_change"),
        ).result()
        manifest.results["stored"] = stored

        stage, started = "publish", time.monotonic()
        published = outputs.publish_outputs.submit(
            config_path, year, str(plan.run_dir), classified, products, estimated, linked
        ).result()
        manifest.stage_done(stage, time.monotonic() - started, outputs=published)
    except Exception as exc:
        manifest.fail(stage, f"{type(exc).__name__}: {exc}")
        logger.error("run %s failed in stage %s: %s", plan.run_id, stage, exc)
        raise

    manifest.complete(district_estimates=estimated["district_estimates"], map=published.get("map"))
    create_table_artifact(
        key=f"district-estimates-{year}",
        table=estimates.round(2).to_dict(orient="records"),
        description=f"Hectares per district with 95% intervals, {year} ({plan.run_id})",
    )
    create_markdown_artifact(
        key=f"survey-summary-{year}",
        markdown=_summary_markdown(
            year,
            plan.run_id,
            estimates,
            pd.read_csv(estimated["region_estimates"]),
            config.survey.synthetic,
        ),
    )
    if linked.get("programme_change"):
        from models.change_output import artifact_table

        change = pd.read_csv(linked["programme_change"], dtype={"district_id": str})
        create_table_artifact(
            key=f"programme-change-{year}",
            table=artifact_table(change),
            description=f"Change since AD programme baselines, {year}",
        )
    if published.get("map"):
        create_link_artifact(
            key=f"survey-map-{year}",
            link=Path(published["map"]).resolve().as_uri(),
            description=f"Interactive map of the {year} survey",
        )
    return {
        "run_id": plan.run_id,
        "run_dir": str(plan.run_dir),
        **published,
        "district_estimates": estimated["district_estimates"],
    }
