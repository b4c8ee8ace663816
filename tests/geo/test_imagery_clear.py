"""The single-scene clear-pixel check stops early and agrees with the full check."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import AllMaskedError
from geo.grid import AnalysisGrid
from geo.imagery import describe_source, read_scene
from geo.readers.base import any_clear, clear_check
from tests.geo.fixtures_imagery import LEFT, TOP, s2_arrays, write_s2_folder

SCENE_ID = "S2B_MSIL2A_20250112T040519_N0511_R004_T47QNA_20250112T071523"
SHAPE10 = (64, 64)  # SCL 32 x 32 at 20 m: 64 mask blocks of 4 px


def _folder(tmp_path, scl):
    arrays = s2_arrays(SHAPE10, seed=3)
    arrays["scl"] = scl
    return write_s2_folder(tmp_path, SCENE_ID, arrays, with_stac=False)


def _grid():
    return AnalysisGrid.from_bounds((LEFT, TOP - 640, LEFT + 640, TOP), "EPSG:32647", 10)


@pytest.mark.parametrize("seed", range(6))
def test_any_clear_agrees_with_the_whole_mask(tmp_path, seed):
    rng = np.random.default_rng(seed)
    scl = np.full((32, 32), 8, np.uint8)  # all cloud
    n_clear = [0, 1, 1, 3, 0, 50][seed]
    rows, cols = rng.integers(0, 32, n_clear), rng.integers(0, 32, n_clear)
    scl[rows, cols] = 4  # vegetation: clear
    folder = _folder(tmp_path, scl)
    spec = describe_source(folder, ["red", "nir"])
    expected = bool(np.isin(scl, (4, 5, 6, 7, 11)).any())  # independent of the reader
    assert expected == (n_clear > 0)
    assert any_clear(spec, _grid(), chunk_px=4) is expected
    assert bool(clear_check(spec, _grid(), chunk_px=4).compute()) is expected


def test_a_clear_pixel_in_the_last_block_is_found(tmp_path):
    scl = np.full((32, 32), 9, np.uint8)  # cloud high probability
    scl[31, 31] = 5  # one clear 20 m pixel, in the last of 64 blocks
    folder = _folder(tmp_path, scl)
    scene = read_scene(folder, ["red", "nir"], chunk_px=4)
    valid = scene["valid"].values
    assert valid.sum() == 4 and valid[62:, 62:].all()
    scl[31, 31] = 9
    with pytest.raises(AllMaskedError, match="no clear pixel"):
        read_scene(_folder(tmp_path / "cloud", scl), ["red", "nir"], chunk_px=4)
