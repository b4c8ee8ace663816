"""The interpretation package: written by phase 1, read back by /interpret, blind by design."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from core.errors import InvalidInputError, NotFoundError
from models.interpretation import ChipSource, load_package, write_package


def _write(folder, sample, share=0.25):
    sources = [
        ChipSource("composite_true", "composite", "/data/median.tif", "true colour", (3, 2, 1),
                   240.0, 48, (0.0, 0.25)),
        ChipSource("drone_1", "drone", "/data/seg <1>.tif", "Drone seg <1>.tif"),
    ]  # fmt: skip
    covered = np.zeros(len(sample), bool)
    covered[[0, 3]] = True
    profiles = pd.DataFrame({"sample_id": [1, 1, 2], "date": ["2024-11-15", "2025-01-14", "2024-11-15"],
                             "ndvi": [0.21, np.nan, 0.55]})  # fmt: skip
    write_package(folder, run_id="2025-abc", year=2025, sample=sample, sources=sources,
                  coverage={"drone_1": covered}, profiles=profiles, pixel_size_m=10.0,
                  overlap_share=share, seed=3)  # fmt: skip


def test_a_package_reads_back_as_written(tmp_path, sample):
    _write(tmp_path / "interpretation", sample)

    package = load_package(tmp_path / "interpretation")

    assert (package.run_id, package.year, package.n_points) == ("2025-abc", 2025, 12)
    assert sorted(package.order) == sample["sample_id"].tolist()
    assert package.order != sample["sample_id"].tolist()  # shuffled, so strata are not in runs
    assert len(package.overlap) == math.ceil(0.25 * 12) and package.overlap <= set(range(1, 13))
    assert package.chip_names(1) == ["composite_true", "drone_1"]
    assert package.chip_names(2) == ["composite_true"]
    assert package.sources["composite_true"].stretch == (0.0, 0.25)
    assert package.profile(1) == [{"date": "2024-11-15", "ndvi": 0.21},
                                  {"date": "2025-01-14", "ndvi": None}]  # fmt: skip
    assert [c["key"] for c in package.classes] == ["1", "2", "3", "4", "5", "6"]
    point = package.points.loc[4]
    assert point["lon"] == pytest.approx(sample.to_crs(4326).geometry.iloc[3].x, abs=1e-6)


def test_the_points_file_holds_nothing_that_would_unblind_the_interpreter(tmp_path, sample):
    _write(tmp_path, sample)
    columns = pd.read_csv(tmp_path / "points.csv").columns
    assert list(columns) == ["sample_id", "order", "lon", "lat", "x", "y", "sources"]


def test_the_same_seed_gives_the_same_overlap_and_order(tmp_path, sample):
    _write(tmp_path / "a", sample)
    _write(tmp_path / "b", sample)
    a, b = load_package(tmp_path / "a"), load_package(tmp_path / "b")
    assert a.overlap == b.overlap and a.order == b.order


def test_a_missing_package_or_point_is_not_found(tmp_path, sample):
    with pytest.raises(NotFoundError, match="no interpretation package"):
        load_package(tmp_path)
    _write(tmp_path, sample)
    with pytest.raises(NotFoundError, match="no sample point 99"):
        load_package(tmp_path).profile(99)


@pytest.mark.parametrize("field", ["crs", "overlap", "sources"])
def test_a_package_json_without_a_field_names_the_file_and_the_field(tmp_path, sample, field):
    _write(tmp_path, sample)
    manifest = json.loads((tmp_path / "package.json").read_text(encoding="utf-8"))
    del manifest[field]
    (tmp_path / "package.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(InvalidInputError, match=rf"package\.json: no '{field}'.*write_package"):
        load_package(tmp_path)


def test_a_points_file_without_sample_ids_is_refused_by_name(tmp_path, sample):
    _write(tmp_path, sample)
    points = pd.read_csv(tmp_path / "points.csv").drop(columns="sample_id")
    points.to_csv(tmp_path / "points.csv", index=False)
    with pytest.raises(InvalidInputError, match=r"points\.csv: no column 'sample_id'"):
        load_package(tmp_path)
