"""Run configuration: every key validated, errors that name the key and the fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.errors import ConfigError
from flows.config import load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "example_run.toml"

MINIMAL = """
[survey]
years = [2025]
[inputs]
districts = "districts.gpkg"
imagery = ["imagery/{year}/*/*.json"]
training_plots = "plots/{year}.geojson"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_example_is_valid():
    config = load_config(EXAMPLE)
    assert config.survey.years
    assert config.estimation.confidence == 0.95


def test_paths_resolve_against_the_config_folder_with_the_year(tmp_path):
    config = load_config(_write(tmp_path, MINIMAL))
    assert config.path(config.inputs.training_plots, 2025) == tmp_path / "plots" / "2025.geojson"
    assert config.workspace == tmp_path / "workspace"
    assert config.store_url == str(tmp_path / "workspace" / "store.gpkg")


def test_season_spans_the_dry_season_before_harvest(tmp_path):
    config = load_config(_write(tmp_path, MINIMAL))
    assert config.survey.season(2025) == (date(2024, 10, 1), date(2025, 4, 15))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: t.replace('training_plots = "plots/{year}.geojson"\n', ""),
            "inputs.training_plots: is required",
        ),
        (lambda t: t.replace("years = [2025]", "years = [1025]"), "survey.years"),
        (lambda t: t + "\n[grid]\nresolution_m = -10\n", "grid.resolution_m"),
        (
            lambda t: t + "\n[estimation]\nconfidnce = 0.9\n",
            "estimation.confidnce: is not a known key",
        ),
        (
            lambda t: t.replace("[survey]", '[survey]\nseason_start = "13-01"'),
            "survey.season_start",
        ),
        (
            lambda t: t + '\nreference_interpreter = "synthetic_truth"\n',
            "needs inputs.truth_landcover",
        ),
        (
            lambda t: t.replace('imagery = ["imagery/{year}/*/*.json"]\n', ""),
            "inputs: Value error, no imagery: give inputs.imagery",
        ),
        (
            lambda t: t + '\n[inputs.stac]\ncatalog = "c.json"\nmax_cloud_cover = 120\n',
            "inputs.stac.max_cloud_cover",
        ),
    ],
)
def test_invalid_configs_name_the_key(tmp_path, edit, expected):
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, edit(MINIMAL)))
    assert expected in str(caught.value)
    assert str(tmp_path / "run.toml") in str(caught.value)


def test_not_toml_and_missing_file_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[survey\nyears = "))
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "absent.toml")


def test_missing_input_files_fail_before_any_server_starts_all_named_at_once(tmp_path):
    from flows.plan import check_inputs

    config = load_config(_write(tmp_path, MINIMAL))
    with pytest.raises(ConfigError, match="no scene matches inputs.imagery") as raised:
        check_inputs(config, 2025)
    assert "inputs.districts" in str(raised.value) and "inputs.training_plots" in str(raised.value)


def test_districts_with_their_own_column_names_are_normalised_for_the_run(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    from flows.plan import normalised_districts

    gpd.GeoDataFrame(
        {"TS_PCODE": ["MMR014001", "MMR014002"], "TS_NAME": ["Lashio", "Hseni"]},
        geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
        crs="EPSG:32647",
    ).to_file(tmp_path / "townships.gpkg")
    text = MINIMAL.replace('districts = "districts.gpkg"', 'districts = "townships.gpkg"')
    config = load_config(_write(tmp_path, text + 'district_id = "TS_PCODE"\n'))
    with pytest.raises(ConfigError, match="no column \\['district_name'\\]"):
        normalised_districts(config, tmp_path)
    config = load_config(
        _write(tmp_path, text + 'district_id = "TS_PCODE"\ndistrict_name = "TS_NAME"\n')
    )
    written = gpd.read_file(normalised_districts(config, tmp_path))
    assert list(written.columns) == ["district_id", "district_name", "geometry"]
    assert list(written["district_id"]) == ["MMR014001", "MMR014002"]


def test_the_example_trains_on_the_file_admon_upload_writes():
    from flows.ingest import field_plots_path

    config = load_config(EXAMPLE)
    assert config.path(config.inputs.training_plots, 2025) == field_plots_path(
        config.workspace, 2025
    )
    assert config.inputs.reference is None and config.interpretation.overlap_share == 0.1
