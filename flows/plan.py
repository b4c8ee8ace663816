"""Planning one survey year: its scenes, its fingerprinted inputs, its run folder and grid.

``plan_run`` names the run after the checksums of its inputs and its parameters
(a rerun with the same inputs reuses the folder and the stage cache) and opens its
manifest; ``run_context`` gathers what every stage needs into one record.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd

from core.digests import DigestCache
from core.errors import ConfigError, ImageryError
from core.io import atomic_write_json, clean_partial, write_table
from flows.config import RunConfig
from flows.manifest import RunManifest, fingerprint_inputs
from flows.phases import InterpretationSpec, frozen_stages, interpretation_spec
from flows.run_grid import MIN_GRID_PIXELS, grid_for, require_crs

__all__ = [
    "RunPlan",
    "RunContext",
    "EstimationSpec",
    "find_scenes",
    "check_inputs",
    "plan_run",
    "run_context",
    "estimation_spec",
    "normalised_districts",
    "grid_for",
    "MIN_GRID_PIXELS",
    "baseline_estimates",
    "latest_finished_year",
]

log = logging.getLogger(__name__)

DIGEST_CACHE = ".admon/input-digests.json"
"""Where a workspace remembers its inputs' digests: a rerun reads only what changed."""


@dataclass(frozen=True)
class RunPlan:
    """Where one survey year's run writes, and what it reads."""

    run_id: str
    year: int
    run_dir: Path
    scenes: list[str]
    inputs_digest: str
    frozen: dict[str, Any] = field(default_factory=dict)
    """Outputs of this run's phase 1 that phase 2 reuses (``flows.phases.frozen_stages``)."""


def find_scenes(config: RunConfig, year: int) -> list[str]:
    """The scenes of ``year``: the configured patterns expanded, plus a STAC search's items.

    Items found by ``[inputs.stac]`` are saved (asset links made absolute) under
    ``<workspace>/stac/<year>/``, so the run's manifest fingerprints exactly the items
    it used and a rerun reads the same files.
    """
    found: set[str] = set()
    for pattern in config.inputs.imagery:
        found.update(glob.glob(str(config.path(pattern, year))))
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
    from geo.imagery import search_scenes  # with its readers: dask, xarray

    stac = config.inputs.stac
    assert stac is not None
    catalog = stac.catalog if "://" in stac.catalog else str(config.path(stac.catalog))
    districts = gpd.read_file(config.path(config.inputs.districts))
    require_crs(districts, config.path(config.inputs.districts))
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
    for role in ("programmes", "reference", "truth_landcover"):  # required when configured
        if getattr(config.inputs, role):
            roles[role] = [config.path(getattr(config.inputs, role), year)]
    for role in ("segments", "segment_frame", "feedback"):  # read when there, not required
        path = config.path(getattr(config.inputs, role), year)
        if path is not None and path.exists():
            roles[role] = [path]
    if "reference" in roles and not roles["reference"][0].exists():
        # not labelled yet: this run draws the sample (phase 1)
        log.info("inputs.reference %s does not exist (yet)", roles.pop("reference")[0])
    missing = [f"inputs.{role}: {p} does not exist" for role, ps in roles.items() for p in ps
               if not p.exists()]  # fmt: skip
    if missing:
        raise ConfigError("; ".join(missing))
    return roles


def check_inputs(config: RunConfig, year: int) -> None:
    """Raise one clear error now naming every configured input of ``year`` that is missing."""
    problems = []
    try:
        scenes = find_scenes(config, year)
    except ImageryError as exc:
        problems.append(str(exc))
        scenes = []
    try:
        _input_files(config, year, scenes)
    except ConfigError as exc:
        problems.append(str(exc))
    if problems:
        kind = ImageryError if len(problems) == 1 and not scenes else ConfigError
        raise kind("; ".join(problems) + " ('admon check CONFIG' checks every input of every year)")


def _parameters(config: RunConfig) -> dict[str, Any]:
    """The parameters that shape the numbers (not where outputs go or how they are computed)."""
    return {
        "survey": config.survey.model_dump(mode="json"),
        "grid": config.grid.model_dump(mode="json"),
        "classification": config.classification.model_dump(mode="json"),
        "estimation": config.estimation.model_dump(mode="json"),
        "reference_interpreter": config.inputs.reference_interpreter,
        "segment_frame_sizes": config.inputs.segment_frame_sizes,
    }


def plan_run(config: RunConfig, year: int) -> tuple[RunPlan, RunManifest]:
    """Fingerprint the inputs, name the run after them, and open its manifest.

    Named after the input checksums and parameters: a rerun of the same inputs reuses its folder.
    """
    scenes = find_scenes(config, year)
    _refresh_field_export(config, year)
    # the labelled sample is made on this run's map: it does not name the run
    digests = DigestCache(config.workspace / DIGEST_CACHE)
    records, digest = fingerprint_inputs(
        _input_files(config, year, scenes), outside_digest=("reference",), digests=digests
    )
    digests.save()
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
        root=config.workspace,
    )
    previous = RunManifest.read(run_dir / "manifest.json") if manifest.path.exists() else None
    if previous:
        manifest.created = previous.get("created", manifest.created)
    frozen = frozen_stages(previous, config.inputs.reference_interpreter, config.workspace)
    manifest.save()
    return RunPlan(run_id, year, run_dir, scenes, digest, frozen), manifest


def _refresh_field_export(config: RunConfig, year: int) -> None:
    """When the run trains on the store's field export, rebuild it from the store first:
    the store holds every accepted upload, the export only what was written last."""
    from flows.ingest import export_field_plots, is_field_export
    from models.store import open_store

    plots = config.path(config.inputs.training_plots, year)
    if plots is None or not is_field_export(plots, config.workspace, year):
        return
    with open_store(config.store_url, workspace=config.workspace) as store:
        export_field_plots(store, config.workspace, [year])


def baseline_estimates(config: RunConfig, year: int, current_run: Path) -> dict[int, str]:
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
    return str(write_table(districts, run_dir / "districts.gpkg", layer="districts"))


def latest_finished_year(config: RunConfig, today: date | None = None) -> int:
    """The survey year whose season ended most recently (what a scheduled run should do)."""
    today = today or date.today()
    _, end = config.survey.season(today.year)
    return today.year if today >= end else today.year - 1


@dataclass(frozen=True)
class EstimationSpec:
    """How the estimate stage draws, labels and uses the reference sample."""

    interpreter: str
    """Who labels the sample: ``file`` (interpreters' labelled file) or ``synthetic_truth``."""
    reference: str | None
    """The labelled reference file, when the interpreter is ``file``."""
    truth_landcover: str | None
    """The synthetic region's true land cover (``synthetic_truth`` only)."""
    n_per_stratum: dict[str, int]
    """Reference points per stratum within a district."""
    buffer_px: int
    """Width of the ``<class>_near_crops`` strata, in pixels."""
    seed: int
    """Seed of this year's sample (``estimation.sample_seed + year``)."""
    min_per_stratum: int
    """Fewer labelled points than this in a stratum borrow the region's proportions."""
    confidence: float
    """Confidence level of every interval."""


def estimation_spec(config: RunConfig, year: int) -> EstimationSpec:
    """What the estimate stage needs from the configuration."""
    return EstimationSpec(
        interpreter=config.inputs.reference_interpreter,
        reference=_optional_path(config, config.inputs.reference, year),
        truth_landcover=_optional_path(config, config.inputs.truth_landcover, year),
        n_per_stratum=dict(config.estimation.n_per_stratum),
        buffer_px=config.estimation.buffer_px,
        seed=config.estimation.sample_seed + year,
        min_per_stratum=config.estimation.min_per_stratum,
        confidence=config.estimation.confidence,
    )


def _optional_path(config: RunConfig, template: str | None, year: int) -> str | None:
    path = config.path(template, year)
    return str(path) if path is not None else None


@dataclass(frozen=True)
class RunContext:
    """What every stage of one survey year reads and where it writes, as plain values.

    The one record the stages receive (instead of long lists of positional paths);
    it travels to Dask workers, so it holds strings, numbers and small dicts only.
    """

    config_path: str
    """The run configuration (TOML)."""
    year: int
    """The survey (harvest) year."""
    run_id: str
    """``<year>-<hash of inputs and parameters>``."""
    run_dir: str
    """``<workspace>/runs/<year>/<run_id>``: every output of the run goes here."""
    workspace: str
    """The workspace (store, runs, published site)."""
    store_url: str
    """The store: a GeoPackage path or a ``postgresql://`` URL."""
    districts: str
    """The run's own ``districts.gpkg`` (admon's column names)."""
    training_plots: str
    """Field plots the classifier is trained on."""
    programmes: str | None
    """AD programme baselines, if configured."""
    feedback: str | None
    """Household feedback survey export of the year, if configured."""
    segments: str | None
    """Drone segment footprints of the year, if configured."""
    segment_frame_sizes: dict[str, int] | None
    """Segments in the area frame per stratum, with ``segments``."""
    seed: int
    """Classifier seed."""
    holdout_fraction: float
    """Share of field plots held out for the classifier's confusion matrix."""
    estimation: EstimationSpec
    """How the reference sample is drawn, labelled and used."""
    interpretation: InterpretationSpec
    """What interpreters are shown, and how much of the sample must be labelled."""
    synthetic: bool
    """The built-in demo: every output is labelled SYNTHETIC."""
    reference_sha256: str | None = None
    """sha256 of the labelled sample the estimates use, set once the labels are collected.

    People's labels can change within one run folder (a third look after phase 2), so
    the stages after ``labels`` carry it: a changed label is a changed input to them."""
    publish: dict[str, Any] | None = None
    """``[publish]`` of the configuration: what the public site shows."""
    segment_frame: str | None = None
    """Every segment of the area frame (footprints, ``stratum``), if configured."""


def run_context(
    config_path: str | Path, config: RunConfig, plan: RunPlan, districts: str
) -> RunContext:
    """The :class:`RunContext` of one planned year of the configuration at ``config_path``."""
    year = plan.year
    return RunContext(
        config_path=str(config_path),
        year=year,
        run_id=plan.run_id,
        run_dir=str(plan.run_dir),
        workspace=str(config.workspace),
        store_url=config.store_url,
        districts=districts,
        training_plots=str(config.path(config.inputs.training_plots, year)),
        programmes=_optional_path(config, config.inputs.programmes, year),
        feedback=_optional_path(config, config.inputs.feedback, year),
        segments=_optional_path(config, config.inputs.segments, year),
        segment_frame_sizes=config.inputs.segment_frame_sizes,
        segment_frame=_optional_path(config, config.inputs.segment_frame, year),
        seed=config.classification.seed,
        holdout_fraction=config.classification.holdout_fraction,
        estimation=estimation_spec(config, year),
        interpretation=interpretation_spec(config, year),
        synthetic=config.survey.synthetic,
        publish=config.publish.model_dump(mode="json"),
    )
