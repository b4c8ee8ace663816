"""Block reads keep their files open between blocks, and notice a file replaced on disk."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import Resampling

import geo.readers.blocks as blocks
from core.errors import ImageryError

UTM = "EPSG:32647"
TRANSFORM = Affine(10, 0, 500_000, 0, -10, 2_000_000)


def _write(path, value):
    with rasterio.open(
        path, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint16", crs=UTM,
        transform=TRANSFORM,
    ) as dst:  # fmt: skip
        dst.write(np.full((8, 8), value, dtype="uint16"), 1)


def _read(path):
    return blocks.read_raw(str(path), 1, rasterio.crs.CRS.from_string(UTM), TRANSFORM, 8, 8,
                           Resampling.nearest)[0]  # fmt: skip


def test_a_file_stays_open_until_it_changes(tmp_path, monkeypatch):
    path = tmp_path / "band.tif"
    _write(path, 7)
    opened = []
    original = rasterio.open
    monkeypatch.setattr(
        blocks.rasterio, "open", lambda p, *a, **k: opened.append(p) or original(p, *a, **k)
    )
    assert (_read(path) == 7).all() and (_read(path) == 7).all()
    reads = [p for p in opened if isinstance(p, str)]  # _write opens a Path to write
    assert len(reads) == 1  # the second block reused the open file
    path.unlink()
    _write(path, 9)  # the same name, another file
    assert (_read(path) == 9).all()
    assert len([p for p in opened if isinstance(p, str)]) == 2


def test_open_files_are_bounded_and_a_missing_file_is_an_imagery_error(tmp_path, monkeypatch):
    monkeypatch.setattr(blocks, "OPEN_FILES_PER_THREAD", 3)
    paths = [tmp_path / f"band{i}.tif" for i in range(5)]
    for i, path in enumerate(paths):
        _write(path, i)
        assert (_read(path) == i).all()
    assert len(blocks._open_files.files) == 3
    with pytest.raises(ImageryError, match="missing.tif"):
        _read(tmp_path / "missing.tif")
