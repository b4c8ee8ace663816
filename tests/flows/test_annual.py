"""The annual survey flow end to end on a small synthetic region, under a Prefect test harness."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.io import sha256_file
from flows.demo import compare_with_truth

PUBLISHED_COLUMNS = [
    "district_id",
    "district_name",
    "year",
    "crop",
    "area_ha",
    "ci_low_ha",
    "ci_high_ha",
    "method",
    "n_reference",
]

pytestmark = pytest.mark.slow


def _estimates(serial_run) -> pd.DataFrame:
    return pd.concat(
        [
            pd.read_csv(r["district_estimates"], dtype={"district_id": str})
            for r in serial_run["results"].values()
        ],
        ignore_index=True,
    )


def test_every_stage_writes_its_outputs(serial_run, small_region):
    for year, result in serial_run["results"].items():
        run_dir = Path(result["run_dir"])
        assert run_dir.parent.name == str(year)
        for name in (
            "manifest.json",
            "classes.tif",
            "class_probability.tif",
            "model.joblib",
            "confusion_matrix.csv",
            "indices/ndvi_median.tif",
            "composite/median.tif",
            "reference_sample.gpkg",
            "district_estimates.csv",
            "district_estimates.gpkg",
            "programme_change.csv",
            "programme_change.gpkg",
            "map.html",
            "report.html",
        ):
            assert (run_dir / name).is_file(), f"{year}: {name} missing"
        assert not list(run_dir.rglob(".tmp-*")), "a temporary file was left behind"
    assert (serial_run["workspace"] / "published" / "public" / "index.html").is_file()
    assert (serial_run["workspace"] / "published" / "restricted" / "index.html").is_file()


def test_district_estimates_have_the_published_columns(serial_run, small_region):
    estimates = _estimates(serial_run)
    assert list(estimates.columns[: len(PUBLISHED_COLUMNS)]) == PUBLISHED_COLUMNS
    assert set(estimates["crop"]) == {"opium_poppy", "cannabis"}
    districts = {f"D{i:02d}" for i in range(1, 5)}
    for year in small_region.years:
        rows = estimates[(estimates["year"] == year) & estimates["district_id"].isin(districts)]
        assert len(rows) == 2 * len(districts), "one row per district and crop"
    estimated = estimates.dropna(subset=["area_ha"])
    assert (estimated["ci_low_ha"] <= estimated["area_ha"]).all()
    assert (estimated["area_ha"] <= estimated["ci_high_ha"]).all()
    assert (estimated["n_reference"] > 0).all()


def test_intervals_contain_the_true_hectares_for_most_district_years(serial_run, small_region):
    comparison = compare_with_truth(_estimates(serial_run), Path(small_region.truth))
    # 4 districts x 2 crops x 2 years; with honest 95% intervals, fewer than 12 of 16
    # covered has a binomial probability below 1e-3.
    assert comparison.total == 16
    assert comparison.covered >= 12, comparison.table.to_string()


def test_manifest_traces_inputs_parameters_versions_and_outcome(serial_run, small_region):
    result = serial_run["results"][small_region.years[0]]
    manifest = json.loads((Path(result["run_dir"]) / "manifest.json").read_text())
    assert manifest["outcome"] == "completed"
    assert manifest["synthetic"] is True
    assert [s["stage"] for s in manifest["stages"]] == [
        "ingest",
        "composite",
        "classify",
        "estimate",
        "link",
        "publish",
    ]
    roles = {record["role"] for record in manifest["inputs"]}
    assert {"imagery", "districts", "training_plots", "programmes"} <= roles
    some = next(r for r in manifest["inputs"] if r["role"] == "districts")
    assert not Path(some["path"]).is_absolute()  # relative to the workspace, no server paths
    assert some["sha256"] == sha256_file(serial_run["workspace"] / some["path"])
    assert str(serial_run["workspace"]) not in json.dumps(manifest)
    assert manifest["versions"]["prefect"] and manifest["versions"]["rasterio"]
    assert manifest["parameters"]["estimation"]["confidence"] == 0.95


def test_the_run_publishes_prefect_artifacts(serial_run, small_region):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def keys() -> set[str]:
        async with get_client() as client:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_="-"))
            )
            return {a.key for a in artifacts}

    import asyncio

    found = asyncio.run(keys())
    year = small_region.years[-1]
    assert {f"district-estimates-{year}", f"survey-summary-{year}", f"survey-map-{year}"} <= found
    assert f"programme-change-{year}" in found


def test_a_rerun_with_unchanged_inputs_recomputes_nothing(
    serial_run, small_region, serial_flow, monkeypatch
):
    """Every stage is cached, the scene checks and publishing included. The newest year
    is rerun: an older year's publishing depends on the estimates of the years after it
    (the multi-year history), which did not exist when it first ran."""
    import geo.classify
    import geo.composite
    import geo.estimation
    import geo.imagery
    import maps

    def must_not_run(*args, **kwargs):
        raise AssertionError("a cached stage was computed again")

    for module, name in (
        (geo.composite, "season_composite"),
        (geo.imagery, "read_scene"),  # the stages import what they compute with when they run
        (geo.classify, "train_classifier"),
        (geo.estimation, "district_estimates"),
        (maps, "publish_run"),
    ):
        monkeypatch.setattr(module, name, must_not_run)
    year = small_region.years[-1]
    again = serial_flow(config_path=str(serial_run["config"]), year=year)
    first = serial_run["results"][year]
    assert again["run_id"] == first["run_id"]
    pd.testing.assert_frame_equal(
        pd.read_csv(again["district_estimates"]), pd.read_csv(first["district_estimates"])
    )


def _stac_config(small_region, tmp_path, config_writer, **search: object) -> Path:
    """A run configuration that finds its scenes in a static STAC catalogue of the region."""
    import pystac

    catalog = pystac.Catalog(id="small-region", description="the small region's scenes")
    for path in sorted(Path(small_region.root).glob("imagery/*/*/*.json")):
        item = pystac.Item.from_file(str(path))
        item.make_asset_hrefs_absolute()
        catalog.add_item(item)
    catalog.normalize_hrefs(str(tmp_path / "catalog"))
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    config = config_writer(small_region, tmp_path / "ws")
    lines = [
        line
        for line in config.read_text().splitlines()
        if not line.startswith("imagery = ")  # scenes come from the search alone
    ]
    lines += ["", "[inputs.stac]", f'catalog = "{tmp_path / "catalog" / "catalog.json"}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in search.items()]
    config.write_text("\n".join(lines) + "\n")
    return config


def test_scenes_found_by_a_stac_search_give_the_same_estimates(
    small_region, tmp_path, config_writer, serial_flow, serial_run
):
    from flows.config import load_config
    from flows.plan import find_scenes

    year = small_region.years[0]
    config = _stac_config(small_region, tmp_path, config_writer)
    scenes = find_scenes(load_config(config), year)
    assert [Path(s).stem for s in scenes] == sorted(
        Path(s).stem for s in small_region.scenes[year]
    ), "the season's items, and only those of that season"
    result = serial_flow(config_path=str(config), year=year)
    pd.testing.assert_frame_equal(
        pd.read_csv(result["district_estimates"]),
        pd.read_csv(serial_run["results"][year]["district_estimates"]),
    )
    manifest = json.loads((Path(result["run_dir"]) / "manifest.json").read_text())
    fingerprinted = json.dumps(manifest["inputs"])
    assert f'"stac/{year}/' in fingerprinted  # the search's items, named relative to the workspace


def test_a_stac_search_that_finds_nothing_says_what_to_check(small_region, tmp_path, config_writer):
    from core.errors import ImageryError
    from flows.config import load_config
    from flows.plan import find_scenes

    config = _stac_config(small_region, tmp_path, config_writer, max_cloud_cover=0)
    with pytest.raises(ImageryError, match="STAC search .* found no item .* max_cloud_cover"):
        find_scenes(load_config(config), small_region.years[0])


def test_the_cache_keys_follow_the_input_files_and_every_runs_estimates(tmp_path):
    from flows.tasking import InputFiles, WorkspaceEstimates

    def key(policy):
        return policy.compute_key(task_ctx=None, inputs={}, flow_parameters={})

    assert key(InputFiles(digest="a")) != key(InputFiles(digest="b"))
    published = WorkspaceEstimates(workspace=str(tmp_path))
    empty = key(published)
    table = tmp_path / "runs" / "2024" / "2024-abc" / "district_estimates.csv"
    table.parent.mkdir(parents=True)
    table.write_text("district_id,area_ha\nD01,1.0\n")
    first = key(published)
    table.write_text("district_id,area_ha\nD01,2.0\n")
    assert len({empty, first, key(published)}) == 3


def test_a_list_of_tables_has_the_same_cache_key_when_read_back_from_the_cache():
    """Prefect's INPUTS hashes such a list by its pickle, which changes when the tables
    come back from the cache (they no longer share objects): the first rerun missed."""
    import pickle

    from prefect.cache_policies import INPUTS

    from flows.tasking import StableInputs

    dtype = pd.StringDtype()
    fresh = [
        pd.DataFrame({"district_id": pd.array([d], dtype=dtype), "area_ha": [a]})
        for d, a in (("D01", 1.5), ("D02", 2.5))
    ]
    read_back = [pickle.loads(pickle.dumps(table)) for table in fresh]

    def key(policy, tables):
        return policy.compute_key(task_ctx=None, inputs={"parts": tables}, flow_parameters={})

    assert key(INPUTS, fresh) != key(INPUTS, read_back), "the miss this policy is for"
    contents = StableInputs()
    assert key(contents, fresh) == key(contents, read_back)
    changed = [fresh[0], fresh[1].assign(area_ha=2.5000001)]
    assert key(contents, changed) != key(contents, fresh)


def test_the_flow_imports_none_of_the_libraries_only_its_stages_compute_with():
    """A rerun whose stages are all cached runs none of them: importing the flow (what
    every run does) must not cost the seconds of the estimators, the classifier, the
    maps, Dask, the store or Prefect's server code."""
    import subprocess
    import sys

    heavy = ["scipy", "sklearn", "matplotlib", "folium", "dask", "distributed", "xarray",
             "sqlalchemy", "prefect.server.api.server"]  # fmt: skip
    code = (
        "import sys, flows.runner, flows.annual; "
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules)); "
        "print('prefect' in sys.modules)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.splitlines()
    assert imported == ["", "True"], f"imported at start: {imported[0]}"


def test_a_rerun_after_the_run_folder_was_deleted_rebuilds_it(
    small_region, tmp_path, config_writer, serial_flow, serial_run
):
    """The stages' cached results name files in the run folder: when it is gone, the
    rerun computes the stages again instead of handing the next stage a missing file."""
    import shutil

    year = small_region.years[0]
    config = config_writer(small_region, tmp_path / "ws")
    first = serial_flow(config_path=str(config), year=year)
    run_dir = Path(first["run_dir"])
    shutil.rmtree(run_dir)

    again = serial_flow(config_path=str(config), year=year)
    assert again["run_id"] == first["run_id"]
    for name in ("features.tif", "classes.tif", "district_estimates.csv", "map.html"):
        assert (run_dir / name).is_file(), f"{name} was not rebuilt"
    pd.testing.assert_frame_equal(
        pd.read_csv(again["district_estimates"]),
        pd.read_csv(serial_run["results"][year]["district_estimates"]),
    )
