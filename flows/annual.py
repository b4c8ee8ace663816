"""The annual survey flow: a season of imagery and the field data in, hectares per district out.

``annual_survey`` is the parent flow and reads as its list of stages: ingest,
composite, classify, sample and labels (a survey labelled by people), estimate,
link (with programmes), publish. A year whose sample is not labelled yet stops
after ``labels`` in the state ``awaiting_reference`` (``flows.phases``). Each stage is a
task of ``flows.stages`` or ``flows.outputs`` submitted to the flow's task runner
(on a Dask cluster it runs on a worker, and the dask arrays inside it use the
whole cluster); ``manifest.stage`` records its time, outputs or failure. The
per-scene checks and the per-district map areas are mapped tasks that run side by
side. It runs the same under a Prefect server (scheduled deployments) and without
one (``admon run``/``admon demo`` start a temporary server by themselves).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import Task, flow, get_run_logger, unmapped
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from core.io import read_csv_table
from flows import outputs, reference, stages
from flows.config import RunConfig, load_config
from flows.manifest import StageRecord
from flows.phases import next_steps
from flows.plan import (
    RunContext,
    RunPlan,
    baseline_estimates,
    grid_for,
    latest_finished_year,
    normalised_districts,
    plan_run,
    run_context,
)
from flows.tasking import COMPUTE_CACHE, InputFiles, WorkspaceEstimates
from geo.grid import AnalysisGrid

__all__ = ["annual_survey", "summary_markdown", "STAGE_MODULES"]

log = logging.getLogger(__name__)

STAGE_MODULES = (
    "flows.ingest",
    "geo.imagery",
    "geo.season",
    "geo.classify",
    "geo.estimation",
    "maps.publish",
)
"""The modules the stages import when they first run (scikit-learn, matplotlib, the store):
``admon run`` imports them while the Prefect server starts, so no stage waits for them."""


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
        run_id, run_dir, outcome (``completed`` or ``awaiting_reference``, then with
        ``reference``: the state of the interpretation) and the paths of the main outputs.
    """
    logger = get_run_logger()
    config = load_config(config_path)
    year = year or latest_finished_year(config)
    plan, manifest = plan_run(config, year)
    frozen = plan.frozen
    logger.info("run %s: %d scenes, outputs in %s", plan.run_id, len(plan.scenes), plan.run_dir)

    with manifest.stage("ingest") as stage:
        context = run_context(config_path, config, plan, normalised_districts(config, plan.run_dir))
        grid = grid_for(config, context.districts)
        scenes = stage.outputs(
            stage.reused(frozen, "ingest") or _usable_scenes(stage, plan, grid, config, year)
        )
    with manifest.stage("composite") as stage:
        products = stage.outputs(
            stage.reused(frozen, "composite")
            or _computed(stages.season_products, context, scenes, grid)
        )
    with manifest.stage("classify") as stage:
        classified = stage.outputs(
            stage.reused(frozen, "classify")
            or _computed(stages.train_and_classify, context, products["features"])
        )
    labelled: str | None = None
    if context.estimation.interpreter == "file":
        with manifest.stage("sample") as stage:
            drawn = stage.outputs(
                stage.reused(frozen, "sample")
                or _computed(
                    reference.draw_sample,
                    context,
                    classified["classes"],
                    products["composite_median"],
                    scenes,
                    grid,
                )
            )
        with manifest.stage("labels") as stage:
            state = stage.outputs(
                reference.collect_labels.submit(context, drawn, classified["classes"]).result()
            )
            manifest.results["interpretation"] = state
        if not state["complete"]:
            manifest.await_reference()
            steps = next_steps(config_path, year, state)
            logger.info(steps)
            create_markdown_artifact(
                key=f"awaiting-reference-{year}", markdown=f"```\n{steps}\n```"
            )
            return {"run_id": plan.run_id, "year": year, "run_dir": str(plan.run_dir),
                    "outcome": manifest.outcome, "reference": state}  # fmt: skip
        labelled = state["labelled_sample"]
        context = replace(context, reference_sha256=state["labelled_sha256"])
    with manifest.stage("estimate") as stage:
        estimated = stage.outputs(_estimate(context, classified["classes"], labelled))
    linked: dict[str, Any] = {}
    if context.programmes:
        with manifest.stage("link") as stage:
            earlier = baseline_estimates(config, year, plan.run_dir)
            linked = stage.outputs(
                _computed(
                    outputs.link_programmes,
                    context,
                    estimated["district_estimates"],
                    earlier,
                    classified["classes"],
                )
            )
    with manifest.stage("publish") as stage:
        manifest.results["stored"] = outputs.store_results.submit(
            context, estimated["district_estimates"], linked.get("programme_change")
        ).result()
        published = stage.outputs(_publish(context, classified, products, estimated, linked))

    manifest.complete(district_estimates=estimated["district_estimates"], map=published.get("map"))
    _publish_artifacts(context, estimated, linked, published)
    return {
        "run_id": plan.run_id,
        "year": year,
        "run_dir": str(plan.run_dir),
        "outcome": manifest.outcome,
        **published,
        "district_estimates": estimated["district_estimates"],
    }


def _usable_scenes(
    stage: StageRecord, plan: RunPlan, grid: AnalysisGrid, config: RunConfig, year: int
) -> list[str]:
    """Check every scene of the year on the grid (in parallel) and keep the usable ones."""
    season = tuple(day.isoformat() for day in config.survey.season(year))
    check = stages.check_scene.with_options(
        cache_policy=COMPUTE_CACHE + InputFiles(digest=plan.inputs_digest), persist_result=True
    )
    checks = check.map(plan.scenes, grid=unmapped(grid), season=unmapped(season))
    records = [check.result() for check in checks]
    stage.note(scenes=records)
    return stages.usable_scenes(records, year)


def _publish(context: RunContext, *stage_outputs: dict[str, Any]) -> dict[str, Any]:
    """The publish stage, cached on its inputs and on every run's estimates in the workspace.

    A cached result whose files are gone (a published folder deleted by hand) is
    published again (``_computed``).
    """
    cached = outputs.publish_outputs.with_options(
        cache_policy=COMPUTE_CACHE + WorkspaceEstimates(workspace=context.workspace),
        persist_result=True,
    )
    return _computed(cached, context, *stage_outputs)


def _computed(stage: Task, *args: Any) -> Any:
    """``stage``'s result for ``args``; computed again when a cached result names files
    that are gone (a run folder deleted by hand), so a rerun rebuilds them."""
    result = stage.submit(*args).result()
    values = result.values() if isinstance(result, dict) else [result]
    gone = [
        v for v in values if isinstance(v, str) and Path(v).is_absolute() and not Path(v).exists()
    ]
    if not gone:
        return result
    log.info("%s: cached result names %d missing files (%s); computing it again",
             stage.name, len(gone), gone[0])  # fmt: skip
    return stage.with_options(refresh_cache=True).submit(*args).result()


def _estimate(context: RunContext, classes: str, labelled: str | None) -> dict[str, Any]:
    """The estimate stage: map area per batch of districts (in parallel), then the
    sample-based estimates, then what the field data add."""
    map_area_parts = stages.district_map_area.map(
        unmapped(classes), unmapped(context.districts), stages.district_batches(context.districts)
    )
    parts = [part.result() for part in map_area_parts]
    estimated = _computed(stages.estimate_areas, context, classes, parts, labelled)
    estimated.update(
        _computed(
            stages.field_estimates, context, estimated["map_area"], estimated["reference_sample"]
        )
    )
    return estimated


def _publish_artifacts(
    context: RunContext, estimated: dict[str, Any], linked: dict[str, Any], published: dict
) -> None:
    """The run's Prefect artifacts: the district table, a summary, programme change, the map."""
    year = context.year
    estimates = read_csv_table(estimated["district_estimates"], dtype={"district_id": str})
    create_table_artifact(
        key=f"district-estimates-{year}",
        table=estimates.round(2).to_dict(orient="records"),
        description=f"Hectares per district with 95% intervals, {year} ({context.run_id})",
    )
    region = read_csv_table(estimated["region_estimates"])
    create_markdown_artifact(
        key=f"survey-summary-{year}",
        markdown=summary_markdown(year, context.run_id, estimates, region, context.synthetic),
    )
    if linked.get("programme_change"):
        from models.change import artifact_table

        change = read_csv_table(linked["programme_change"], dtype={"district_id": str})
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


def summary_markdown(
    year: int, run_id: str, estimates: pd.DataFrame, region: pd.DataFrame, synthetic: bool
) -> str:
    """The run summary shown as a Prefect artifact: totals per crop with their intervals."""
    lines = [f"# Annual survey {year} ({run_id})", ""]
    if synthetic:
        lines += ["**SYNTHETIC demo data: not a real survey.**", ""]
    for crop, districts in estimates.groupby("crop"):
        totals = region[region["crop"] == crop]
        total = totals.iloc[0] if len(totals) else None
        if total is not None:
            lines.append(
                f"- **{crop}**: {total.area_ha:,.1f} ha (95% CI {total.ci_low_ha:,.1f} to "
                f"{total.ci_high_ha:,.1f}) over {len(districts)} districts"
            )
        else:
            lines.append(
                f"- **{crop}**: {districts.area_ha.sum():,.1f} ha summed over "
                f"{len(districts)} districts"
            )
    return "\n".join(lines)
