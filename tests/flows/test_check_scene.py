"""The check-scene stage puts what a reader had to assume into the scene record (the manifest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flows.stages import check_scene
from geo.grid import AnalysisGrid
from tests.geo.real_products import real_item, stac_scene

NAME = "s2/planetary_computer_S2B_MSIL2A_20240419T095549_R122_T47XML_20240419T123458.json"


def _bands_and_grid():
    """Clear 40 m x 40 m bands of the real item's assets (SCL 4: vegetation) and a 10 m grid."""
    left, top = real_item(NAME)["assets"]["B04"]["proj:transform"][2::3][:2]
    sizes = {"B02": 4, "B03": 4, "B04": 4, "B08": 4, "B01": 1, "SCL": 2}
    keys = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12", "SCL"]
    arrays = {
        k: np.full(
            (sizes.get(k, 2),) * 2, 4 if k == "SCL" else 1500, np.uint8 if k == "SCL" else np.uint16
        )
        for k in keys
    }
    return arrays, AnalysisGrid.from_bounds((left, top - 40, left + 40, top), "EPSG:32647", 10)


def test_scene_record_carries_the_readers_assumptions(tmp_path):
    """A real Planetary Computer item (baseline 05.10, no raster:bands): the offset is assumed."""
    arrays, grid = _bands_and_grid()
    path = stac_scene(tmp_path, NAME, arrays)
    record = check_scene.fn(str(path), grid, ("2024-04-01", "2024-04-30"))
    assert record["usable"] and record["valid_share"] == 1.0
    assert record["processing_baseline"] == "05.10" and record["sensor"] == "Sentinel-2B"
    assert len(record["assumptions"]) == 1
    assert "from processing baseline 05.10" in record["assumptions"][0]


def test_valid_share_is_read_from_the_mask_alone(tmp_path, monkeypatch):
    """One cloudy SCL pixel (20 m) of four: a quarter of the 10 m grid masked, no band read."""
    import geo.readers.blocks

    arrays, grid = _bands_and_grid()
    arrays["SCL"][0, 1] = 9  # cloud, high probability
    path = stac_scene(tmp_path, NAME, arrays)
    read = []
    original = geo.readers.blocks.read_raw

    def recorded(file, *args):
        read.append(Path(file).name)
        return original(file, *args)

    monkeypatch.setattr(geo.readers.blocks, "read_raw", recorded)
    record = check_scene.fn(str(path), grid, ("2024-04-01", "2024-04-30"))
    on_grid = np.repeat(np.repeat(arrays["SCL"], 2, axis=0), 2, axis=1)  # 20 m -> 10 m
    assert record["usable"]
    assert record["valid_share"] == pytest.approx(float(np.mean(on_grid != 9)))  # 0.75
    assert read and all("_SCL_" in file for file in read), read


def test_scene_metadata_is_parsed_once(tmp_path, monkeypatch):
    """The check reads the item's metadata once, for the record and the mask read alike."""
    import geo.imagery

    arrays, grid = _bands_and_grid()
    path = stac_scene(tmp_path, NAME, arrays)
    described = []
    original = geo.imagery.describe_source

    def counted(source, bands=None):
        described.append(str(source))
        return original(source, bands)

    monkeypatch.setattr(geo.imagery, "describe_source", counted)
    record = check_scene.fn(str(path), grid, ("2024-04-01", "2024-04-30"))
    assert record["usable"] and record["valid_share"] == 1.0
    assert described == [str(path)]
    # the same record as reading the source itself twice (the metadata as a reader has it)
    monkeypatch.setattr(geo.imagery, "describe_source", original)
    scene = geo.imagery.read_scene(str(path), grid=grid, require_clear=False)
    assert record["sensor"] == scene.attrs["sensor"]
    assert record["assumptions"] == list(scene.attrs["assumptions"])
    assert record["valid_share"] == round(geo.imagery.valid_share(str(path), grid), 4)
