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
    assert "use uploader, reviewer or admin" in result.output


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
