"""The whole cycle of a real survey year, from an empty folder, on the small synthetic region.

``admon init`` → the region's files put in place → ``admon upload --config`` →
``admon check`` → ``admon run`` (phase 1: the sample is drawn, the run waits) →
interpreters label through the /interpret API (a blind second look for the
overlap share, a reviewer's third look at the disagreements) → ``admon run``
(phase 2: estimates) → the manifest and report say how far interpreters agreed.
The first interpreter reads the truth without error, the second errs at
``SECOND_ERROR_RATE``: their agreement must come out near ``1 - SECOND_ERROR_RATE``,
and the estimates must hold the truth as the demo's do.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from flows.cli import app as cli
from flows.demo import compare_with_truth
from geo.estimation.reference import SAMPLE_DESIGN_COLUMNS
from tests.flows.interpreter import TruthInterpreter
from web.app import create_app

pytestmark = pytest.mark.slow

YEAR = 2025
OVERLAP_SHARE = 0.3
SECOND_ERROR_RATE = 0.2

runner = CliRunner()


def _admon(*args: str):
    result = runner.invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, f"admon {' '.join(map(str, args))}:\n{result.output[-3000:]}"
    return result


def _fill_survey_folder(folder: Path, region) -> None:
    """What the README tells a new user to put where, done with the region's files."""
    root = Path(region.root)
    shutil.copy(root / "districts.gpkg", folder / "districts" / "districts.gpkg")
    for scene in (root / "imagery" / str(YEAR)).iterdir():
        shutil.copytree(scene, folder / "imagery" / str(YEAR) / scene.name)
    for ortho in (root / "drone" / str(YEAR)).glob("segment_*.tif"):
        shutil.copy(ortho, folder / "drone" / str(YEAR) / ortho.name)
    shutil.copy(region.kobo_exports[YEAR], folder / "field" / "kobo_export.csv")
    config = folder / "survey.toml"
    text = config.read_text()
    assert "overlap_share = 0.1" in text
    config.write_text(text.replace("overlap_share = 0.1", f"overlap_share = {OVERLAP_SHARE}"))


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


@pytest.fixture(scope="module")
def cycle(small_region, tmp_path_factory, prefect_harness):
    from prefect.settings import PREFECT_API_URL

    os.environ["PREFECT_API_URL"] = PREFECT_API_URL.value()  # admon run reports to the harness
    try:
        folder = tmp_path_factory.mktemp("cycle") / "shan-2025"
        _admon("init", folder, "--name", "Cycle test", "--year", YEAR)
        _fill_survey_folder(folder, small_region)
        config = folder / "survey.toml"
        _admon(
            "upload",
            folder / "field" / "kobo_export.csv",
            "--team",
            "shan-north",
            "--config",
            config,
        )
        checked = _admon("check", config)
        phase_1 = _admon("run", config, "--serial")
        run_dir = next((folder / "workspace" / "runs" / str(YEAR)).iterdir())
        classes_mtime = (run_dir / "classes.tif").stat().st_mtime_ns
        estimated_early = (run_dir / "district_estimates.csv").exists()
        again = _admon("run", config, "--serial")
        waiting = _manifest(run_dir)

        tokens = {
            name: _admon("token", "create", "--config", config, "--team", name, "--role", role).stdout.split()[-1]
            for name, role in (("alice", "interpreter"), ("bob", "interpreter"), ("rev", "reviewer"))
        }  # fmt: skip
        truth = Path(small_region.landcover[YEAR])
        service = create_app(folder / "workspace")
        with TestClient(service) as client:
            first = TruthInterpreter(client, tokens["alice"], truth, error_rate=0.0, seed=1)
            second = TruthInterpreter(client, tokens["bob"], truth, SECOND_ERROR_RATE, seed=2)
            first.label_all(run_dir.name)
            progress = second.label_all(run_dir.name)
            settled = TruthInterpreter(client, tokens["rev"], truth).settle(run_dir.name)
        service.state.store.close()

        phase_2 = _admon("run", config, "--serial")
        yield {
            "folder": folder, "run_dir": run_dir, "checked": checked.output,
            "phase_1": phase_1.output, "again": again.output, "waiting": waiting,
            "classes_mtime": classes_mtime, "estimated_early": estimated_early, "first": first, "second": second,
            "progress": progress, "settled": settled, "phase_2": phase_2.output,
        }  # fmt: skip
    finally:
        os.environ.pop("PREFECT_API_URL", None)


def test_the_new_folder_checks_clean_once_filled(cycle):
    assert "No problem found" in cycle["checked"]
    plots = cycle["folder"] / "workspace" / "field" / str(YEAR) / "survey_plots.gpkg"
    assert len(gpd.read_file(plots)) > 50  # admon upload --config wrote the training plots


def test_phase_1_draws_the_sample_stops_and_says_what_to_do(cycle):
    run_dir, waiting = cycle["run_dir"], cycle["waiting"]
    assert waiting["outcome"] == "awaiting_reference" and waiting["failure"] is None
    assert "awaiting reference labels (0 of" in cycle["phase_1"]
    assert "/interpret" in cycle["phase_1"] and "import-ceo" in cycle["phase_1"]
    sample = gpd.read_file(run_dir / "reference_sample.gpkg")
    for column in ("sample_id", "district_id", "map_class", *SAMPLE_DESIGN_COLUMNS):
        assert column in sample.columns, column
    assert (run_dir / "interpretation" / "package.json").is_file()
    assert not cycle["estimated_early"]
    package = json.loads((run_dir / "interpretation" / "package.json").read_text())
    assert len(package["overlap"]) == math.ceil(OVERLAP_SHARE * len(sample))
    assert any(s["kind"] == "drone" for s in package["sources"])


def test_a_rerun_before_the_labels_exist_does_not_recompute_the_map(cycle):
    stages = {s["stage"]: s for s in cycle["waiting"]["stages"]}
    assert all(stages[name].get("reused") for name in ("ingest", "composite", "classify", "sample"))
    assert "awaiting reference labels" in cycle["again"]
    assert (cycle["run_dir"] / "classes.tif").stat().st_mtime_ns == cycle["classes_mtime"]


def test_phase_2_estimates_from_the_labels_on_the_same_map_and_holds_the_truth(cycle, small_region):
    run_dir = cycle["run_dir"]
    manifest = _manifest(run_dir)
    assert manifest["outcome"] == "completed"
    assert (run_dir / "classes.tif").stat().st_mtime_ns == cycle["classes_mtime"]
    labelled = gpd.read_file(run_dir / "reference_labelled.gpkg").set_index("sample_id")
    sample = gpd.read_file(run_dir / "reference_sample.gpkg")
    assert len(labelled) == len(sample)
    # the first look was right everywhere and the third looks settled the second's errors
    assert labelled["reference_class"].to_dict() == cycle["first"].sent
    estimates = pd.read_csv(run_dir / "district_estimates.csv", dtype={"district_id": str})
    comparison = compare_with_truth(estimates, Path(small_region.truth))
    # 4 districts x 2 crops; with honest 95% intervals fewer than 6 of 8 has probability 0.006
    assert comparison.total == 8
    assert comparison.covered >= 6, comparison.table.to_string()
    assert "Published gallery" in cycle["phase_2"]


def test_the_agreement_in_manifest_and_report_matches_the_error_injected(cycle):
    first, second = cycle["first"].sent, cycle["second"].sent
    both = sorted(set(first) & set(second))
    package = json.loads((cycle["run_dir"] / "interpretation" / "package.json").read_text())
    assert both == sorted(package["overlap"])  # the second interpreter saw only the overlap
    pairs = [(first[i], second[i]) for i in both]
    agree = sum(a == b for a, b in pairs) / len(pairs)
    state = _manifest(cycle["run_dir"])["results"]["interpretation"]
    agreement = state["agreement"]

    assert agreement["n_points"] == len(pairs)
    assert agreement["overall"] == pytest.approx(agree)
    assert agreement["kappa"] == pytest.approx(cohen_kappa_score(*zip(*pairs, strict=True)))
    se = math.sqrt(SECOND_ERROR_RATE * (1 - SECOND_ERROR_RATE) / len(pairs))
    assert abs(agreement["overall"] - (1 - SECOND_ERROR_RATE)) < 3.5 * se
    assert agreement["n_disagreements"] == len(cycle["settled"]) == sum(a != b for a, b in pairs)
    assert state["n_unresolved_disagreements"] == 0 and state["adjudicated"] == len(
        cycle["settled"]
    )
    report = (cycle["run_dir"] / "report.html").read_text()
    assert f"agreed on <b>{100 * agree:.1f}%</b>" in report


@pytest.fixture(scope="module")
def relabelled(cycle, small_region, prefect_harness):
    """After phase 2, a reviewer changes the label of one poppy point; the survey is run again."""
    from prefect.settings import PREFECT_API_URL

    run_dir = cycle["run_dir"]
    before = pd.read_csv(run_dir / "district_estimates.csv", dtype={"district_id": str})
    labelled = gpd.read_file(run_dir / "reference_labelled.gpkg")
    point = labelled[labelled["reference_class"] == "opium_poppy"].iloc[0]
    from models.store import open_store

    with open_store(cycle["folder"] / "workspace" / "store.gpkg") as store:
        store.put_label(run_dir.name, int(point["sample_id"]), "rev", "forest", kind="adjudication")
    os.environ["PREFECT_API_URL"] = PREFECT_API_URL.value()
    try:
        _admon("run", cycle["folder"] / "survey.toml", "--serial")
    finally:
        os.environ.pop("PREFECT_API_URL", None)
    after = pd.read_csv(run_dir / "district_estimates.csv", dtype={"district_id": str})
    return {"before": before, "after": after, "district": point["district_id"]}


def test_a_label_changed_after_phase_2_changes_the_estimates_of_the_next_run(relabelled, cycle):
    key = ["district_id", "crop"]
    both = relabelled["before"].merge(relabelled["after"], on=key, suffixes=("_before", "_after"))
    poppy = both[(both["district_id"] == relabelled["district"]) & (both["crop"] == "opium_poppy")]
    assert poppy["area_ha_after"].iloc[0] < poppy["area_ha_before"].iloc[0]  # one poppy point less
    others = both[both["district_id"] != relabelled["district"]]
    assert (others["area_ha_after"] - others["area_ha_before"]).abs().max() < 1e-9
    assert (cycle["run_dir"] / "classes.tif").stat().st_mtime_ns == cycle["classes_mtime"]
