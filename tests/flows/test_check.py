"""``admon check``: every input checked up front, every problem listed in one go."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import Point, box
from typer.testing import CliRunner

from flows.check import check_survey
from flows.cli import app
from flows.survey_folder import init_survey_folder

runner = CliRunner()


def _problems(findings) -> dict[str, str]:
    return {f.key: f.message for f in findings if f.problem}


def test_an_empty_survey_folder_lists_each_missing_input_once(tmp_path):
    init_survey_folder(tmp_path, years=[2025])

    problems = _problems(check_survey(tmp_path / "survey.toml"))

    assert set(problems) == {
        "inputs.districts",
        "inputs.imagery (2025)",
        "inputs.training_plots (2025)",
    }
    assert "put the districts (zones) file there" in problems["inputs.districts"]
    assert "admon upload FILE --team TEAM --config" in problems["inputs.training_plots (2025)"]
    result = runner.invoke(app, ["check", str(tmp_path / "survey.toml")])
    assert result.exit_code == 1 and "3 problems" in result.output


def test_bad_districts_an_undesigned_reference_and_a_missing_file_show_together(tmp_path):
    init_survey_folder(tmp_path, years=[2025])
    gpd.GeoDataFrame(
        {"district_id": ["D01", "D01", "D03"], "name": ["a", "b", "c"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs="EPSG:32647",
    ).to_file(tmp_path / "districts" / "districts.gpkg")  # fmt: skip
    (tmp_path / "reference" / "2025").mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame({"reference_class": ["forest"]}, geometry=[Point(0.5, 0.5)],
                     crs="EPSG:32647").to_file(tmp_path / "reference" / "2025" / "labels.gpkg")  # fmt: skip
    text = (tmp_path / "survey.toml").read_text()
    text = text.replace('# reference = "reference/{year}/reference_labelled.gpkg"',
                        'reference = "reference/{year}/labels.gpkg"')  # fmt: skip
    text = text.replace(
        '# programmes = "programmes/programmes.csv"', 'programmes = "programmes/none.csv"'
    )
    (tmp_path / "survey.toml").write_text(text)

    problems = _problems(check_survey(tmp_path / "survey.toml"))

    assert "no column 'district_name'" in problems["inputs.district_name"]
    assert "ids ['D01'] appear more than once" in problems["inputs.district_id"]
    assert (
        "no sampling design (missing ['stratum', 'stratum_pixels'])"
        in problems["inputs.reference (2025)"]
    )
    assert "programmes/none.csv does not exist" in problems["inputs.programmes"]
    assert "inputs.imagery (2025)" in problems and "inputs.training_plots (2025)" in problems


def test_an_invalid_configuration_is_one_finding_with_every_key(tmp_path):
    (tmp_path / "survey.toml").write_text('[survey]\nyears = [1900]\n[inputs]\nimagery = ["x"]\n')
    (finding,) = check_survey(tmp_path / "survey.toml")
    assert (
        finding.problem
        and "survey.years" in finding.message
        and "inputs.districts" in finding.message
    )
