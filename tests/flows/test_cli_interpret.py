"""``admon interpret``: status and agreement, the labelled sample as a file, CEO answers in."""

from __future__ import annotations

import geopandas as gpd
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.survey_folder import init_survey_folder
from models.interpretation import load_package
from models.store import open_store
from tests.web.interpretation_fixtures import RUN_ID, UTM, interpretation_workspace

runner = CliRunner()


@pytest.fixture
def survey(tmp_path):
    """A survey folder whose workspace holds a run with a drawn sample and its package."""
    init_survey_folder(tmp_path, years=[2025])
    workspace = interpretation_workspace(tmp_path / "workspace")
    run_dir = workspace / "runs" / "2025" / RUN_ID
    points = load_package(run_dir / "interpretation").points
    sample = gpd.GeoDataFrame(
        {"sample_id": points["sample_id"].to_numpy(), "district_id": "D01", "map_class": 4,
         "stratum": 4, "stratum_pixels": 3600, "stratum_area_ha": 36.0,
         "stratum_sample_size": len(points), "inclusion_probability": len(points) / 3600},
        geometry=gpd.points_from_xy(points["x"], points["y"]), crs=UTM,
    )  # fmt: skip
    sample.to_file(run_dir / "reference_sample.gpkg", layer="reference_sample")
    return tmp_path / "survey.toml", points


def _ceo_csv(rows) -> str:
    """CEO's sample data export (see tests/models/interpretation/test_ceo.py for its source)."""
    header = ("\ufeffplotid,sampleid,sample_internal_id,lon,lat,email,flagged,collection_time,"
              "analysis_duration,used_geodash,used_kml,imagery_title,imagery_attributions,"
              "sample_geom,confidence,confidence_comment,Land cover, Guest Interpreters")  # fmt: skip
    lines = [header]
    for plot, email, answer in rows:
        lines.append(f"{plot},1,{900 + plot},97.84,21.05,{email},false,2025-05-02 09:1{plot % 10},"
                     f"40.2 secs,false,false,Planet NICFI Public,,POINT(97.84 21.05),,,{answer},")  # fmt: skip
    return "\n".join(lines)


def test_ceo_answers_become_labels_and_the_status_reports_agreement(survey, tmp_path):
    config, points = survey
    answers = [(i, "ann@example.org", "Forest") for i in points["sample_id"]]
    answers += [(1, "ben@example.org", "Water"), (2, "ben@example.org", "Forest")]
    export = tmp_path / "ceo-sample-data.csv"
    export.write_text(_ceo_csv(answers), encoding="utf-8")

    imported = runner.invoke(app, ["interpret", "import-ceo", str(export), "--config", str(config)])
    assert imported.exit_code == 0, imported.output
    assert f"{len(answers)} labels stored for run {RUN_ID}" in imported.output
    with open_store(tmp_path / "workspace" / "store.gpkg") as store:
        labels = store.get_labels(RUN_ID)
    assert set(labels["source"]) == {"ceo"} and len(labels) == len(answers)

    status = runner.invoke(app, ["interpret", "status", "--config", str(config)])
    assert status.exit_code == 0, status.output
    assert f"{len(points)} of {len(points)} points labelled by 2 interpreters" in status.output
    assert "Agreement on 2 points: 50.0%" in status.output

    out = tmp_path / "labelled.gpkg"
    exported = runner.invoke(
        app, ["interpret", "export", "--config", str(config), "--out", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    labelled = gpd.read_file(out)
    assert len(labelled) == len(points) and set(labelled["reference_class"]) == {"forest"}
    assert {"stratum", "stratum_pixels", "inclusion_probability"} <= set(labelled.columns)


def test_ceo_plots_that_are_not_the_runs_points_are_refused(survey, tmp_path):
    config, _ = survey
    export = tmp_path / "other-project.csv"
    export.write_text(_ceo_csv([(501, "ann@example.org", "Forest")]), encoding="utf-8")
    result = runner.invoke(app, ["interpret", "import-ceo", str(export), "--config", str(config)])
    assert result.exit_code == 2 and "plots [501] are not points of run" in result.output
    with open_store(tmp_path / "workspace" / "store.gpkg") as store:
        assert store.get_labels(RUN_ID).empty


def test_without_a_sample_the_commands_say_to_run_the_survey_first(tmp_path):
    init_survey_folder(tmp_path, years=[2025])
    result = runner.invoke(app, ["interpret", "status", "--config", str(tmp_path / "survey.toml")])
    assert (
        result.exit_code == 2
        and "has a reference sample yet; run the survey first" in result.output
    )
