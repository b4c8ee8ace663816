"""The admon command line: upload, token, estimate, and the ingest flow an upload triggers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def test_token_create_prints_a_token_once_and_stores_only_its_hash(tmp_path):
    result = runner.invoke(
        app, ["token", "create", "--team", "shan-north", "--role", "uploader", "-w", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    from models.store import open_store

    store = open_store(tmp_path / "store.gpkg")
    info = store.verify_token(token)
    assert info is not None and info.team == "shan-north" and info.role == "uploader"
    assert token.encode() not in (tmp_path / "store.gpkg").read_bytes()


def test_token_create_refuses_an_unknown_role(tmp_path):
    result = runner.invoke(
        app, ["token", "create", "--team", "t", "--role", "owner", "-w", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "use uploader, reviewer, admin, interpreter" in result.output


def test_upload_prints_the_report_and_a_repeat_is_stored_once(small_region, tmp_path):
    export = small_region.kobo_exports[2024]
    first = runner.invoke(app, ["upload", str(export), "--team", "shan-north", "-w", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "rows accepted" in first.output and "stored as upload" in first.output
    again = runner.invoke(app, ["upload", str(export), "--team", "shan-north", "-w", str(tmp_path)])
    assert again.exit_code == 0
    assert "already stored as" in again.output
    from models.store import open_store

    plots = open_store(tmp_path / "store.gpkg").get_plots()
    expected = len(pd.read_csv(export, sep=";"))
    assert len(plots) == expected


def test_upload_of_a_file_with_no_valid_row_exits_non_zero(tmp_path):
    bad = tmp_path / "plots.csv"
    bad.write_text("plot_id,crop,longitude,latitude\nA1,poppy,500,95\n", encoding="utf-8")
    result = runner.invoke(app, ["upload", str(bad), "--team", "t", "-w", str(tmp_path / "ws")])
    assert result.exit_code != 0
    assert "row" in result.output.lower()


@pytest.mark.slow
def test_estimate_prints_and_writes_the_table(serial_run, small_region, tmp_path):
    run_dir = Path(serial_run["results"][2024]["run_dir"])
    out = tmp_path / "estimates.csv"
    result = runner.invoke(
        app,
        [
            "estimate",
            "--map",
            str(run_dir / "classes.tif"),
            "--reference",
            str(run_dir / "reference_sample.gpkg"),
            "--zones",
            str(small_region.districts),
            "--zone-id",
            "district_id",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype={"district_id": str})
    published = pd.read_csv(run_dir / "district_estimates.csv", dtype={"district_id": str})
    merged = published.merge(written, on=["district_id", "crop"], suffixes=("", "_cli"))
    assert len(merged) == len(published)
    # The same map and the same labelled sample give the same estimates.
    assert (merged["area_ha"] - merged["area_ha_cli"]).abs().max() < 1e-6
    assert "Area estimates" in result.output and str(out.name) in result.output


@pytest.mark.slow
def test_the_ingest_flow_exports_the_uploaded_plots_for_the_annual_run(
    small_region, tmp_path, prefect_harness
):
    from flows.ingest import field_plots_path, ingest_upload
    from models.store import open_store

    store = open_store(tmp_path / "store.gpkg")
    export = small_region.kobo_exports[2025]
    result = store.ingest_upload(export.read_bytes(), export.name, "shan-south")
    assert result.accepted > 0
    outcome = ingest_upload(upload_id=result.upload_id, workspace=str(tmp_path))
    exported = gpd.read_file(field_plots_path(tmp_path, 2025))
    assert len(exported) == result.accepted
    assert outcome["files"] == {"2025": str(field_plots_path(tmp_path, 2025))}


def test_init_writes_a_survey_folder_whose_paths_all_resolve_inside_it(tmp_path):
    from flows.config import load_config

    folder = tmp_path / "shan-2025"
    result = runner.invoke(app, ["init", str(folder), "--name", 'Shan "north"', "--year", "2025"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "admon upload FILE --team TEAM --config" in said  # the next steps, in order
    assert said.index("admon upload") < said.index("admon check")
    config = load_config(folder / "survey.toml")
    assert config.survey.name == 'Shan "north"' and config.survey.years == [2025]
    paths = [config.path(config.inputs.districts), config.path(config.inputs.training_plots, 2025),
             config.workspace, *(config.path(p, 2025) for p in config.inputs.imagery),
             *(config.path(p, 2025) for p in config.inputs.orthomosaics + config.inputs.vhr)]  # fmt: skip
    for path in paths:
        assert path.resolve().is_relative_to(folder.resolve()), path
    # upload writes the file the run trains on
    assert (
        config.path(config.inputs.training_plots, 2025)
        == config.workspace / "field" / "2025" / "survey_plots.gpkg"
    )
    for sub in ("districts", "imagery/2025", "drone/2025", "vhr/2025", "field"):
        assert (folder / sub).is_dir() and sub.split("/")[0] in (folder / "README.md").read_text()
    again = runner.invoke(app, ["init", str(folder)])
    assert again.exit_code == 2 and "never overwrites" in again.output


def test_a_config_and_a_different_workspace_are_refused_together(tmp_path):
    runner.invoke(app, ["init", str(tmp_path / "s"), "--year", "2025"])
    config = str(tmp_path / "s" / "survey.toml")
    result = runner.invoke(app, ["token", "create", "--team", "t", "--role", "interpreter",
                                 "--config", config, "-w", str(tmp_path / "elsewhere")])  # fmt: skip
    assert result.exit_code == 2 and "is not the workspace of" in result.output
    made = runner.invoke(app, ["token", "create", "--team", "ann", "--role", "interpreter",
                               "--config", config])  # fmt: skip
    assert made.exit_code == 0, made.output
    from models.store import open_store

    with open_store(tmp_path / "s" / "workspace" / "store.gpkg") as store:
        assert store.verify_token(made.stdout.split()[-1]).role == "interpreter"


def test_serve_without_a_config_schedules_no_survey(tmp_path):
    from flows.deploy import build_deployments

    assert [d.name for d in build_deployments(None, tmp_path / "ws")] == ["ingest-upload"]


def test_upload_with_a_config_exports_the_years_plots_for_the_run(small_region, tmp_path):
    from flows.config import load_config
    from models.survey import load_plots

    runner.invoke(app, ["init", str(tmp_path / "s"), "--year", "2025"])
    config = tmp_path / "s" / "survey.toml"
    export = small_region.kobo_exports[2025]
    result = runner.invoke(
        app, ["upload", str(export), "--team", "shan-north", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    target = load_config(config).path(load_config(config).inputs.training_plots, 2025)
    assert f"field plots 2025: {target}" in result.output.replace("\n", "")
    plots, report = load_plots(target)  # what the run's classify stage reads
    assert len(plots) == len(pd.read_csv(export, sep=";")) and report.rejected == 0


def test_version_prints_the_installed_version():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"admon {version('admon')}"


@pytest.mark.parametrize("command", [[], ["demo"], ["run"], ["upload"], ["token", "create"]])
def test_help_texts_have_no_type_placeholders(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: admon" in result.output
    assert "<bool>" not in result.output and "BOOLEAN" not in result.output
    if command == ["demo"]:
        assert "--serial / --no-serial" in result.output and "Run without a Dask" in result.output


def test_commands_quiet_library_logging_before_dask_is_imported(monkeypatch):
    """The run configuration imports dask: its logging settings must already be set."""
    import os

    monkeypatch.delenv("DASK_DISTRIBUTED__LOGGING__DISTRIBUTED", raising=False)
    result = runner.invoke(app, ["token", "list", "--help"])
    assert result.exit_code == 0
    # --help exits before the callback; a real command runs it first
    runner.invoke(app, ["token", "list", "--store", "/nonexistent/dir/store.gpkg"])
    assert os.environ.get("DASK_DISTRIBUTED__LOGGING__DISTRIBUTED") == "warning"


@pytest.mark.parametrize(
    ("flags", "given"), [([], None), (["--serial"], True), (["--no-serial"], False)]
)
def test_serial_is_left_to_the_configuration_unless_given(
    flags, given, small_region, tmp_path, monkeypatch
):
    """Without --serial/--no-serial the command passes None, so ``dask.serial`` decides."""
    import flows.runner
    from flows.config import load_config
    from flows.runner import runner_settings
    from tests.flows.conftest import write_config

    config = write_config(small_region, tmp_path / "ws", **{"[dask]": "serial = true"})
    seen = {}

    def fake_run_survey(config_path, **options):
        seen.update(options)
        return []

    monkeypatch.setattr(flows.runner, "run_survey", fake_run_survey)
    result = runner.invoke(app, ["run", str(config), *flags])
    assert result.exit_code == 0, result.output
    assert seen["serial"] is given
    chosen = runner_settings(load_config(config), None, None, seen["serial"])
    assert chosen["serial"] is (True if given is None else given)
