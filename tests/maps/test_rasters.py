"""Raster previews: decimated reads, legend colours, overlay bounds."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest
import rasterio
from rasterio.warp import transform_bounds

from maps.rasters import class_rgba, ndvi_rgba, read_preview, write_overlay_png
from tests.maps.builders import write_cog


@pytest.fixture
def class_cog(tmp_path):
    # 100 rows x 150 cols: columns 0-4 no data, then codes 1..6 in bands of 25 px
    codes = np.repeat(np.arange(1, 7, dtype=np.uint8), 25)[None, :].repeat(100, axis=0)
    codes[:, :5] = 0
    return write_cog(tmp_path / "classes.tif", codes, dtype="uint8", nodata=0), codes


def test_full_size_preview_returns_the_codes(class_cog):
    path, codes = class_cog
    preview = read_preview(path, categorical=True, max_size=500)
    np.testing.assert_array_equal(preview.values, codes)
    with rasterio.open(path) as src:
        assert preview.bounds == pytest.approx(tuple(src.bounds))


def test_decimated_preview_keeps_classes_and_bounds(class_cog):
    path, _ = class_cog
    preview = read_preview(path, categorical=True, max_size=30)
    assert preview.values.shape == (20, 30)  # long side 150 -> 30, aspect kept
    # nearest neighbour: only legend codes, and each band of 25 px becomes 5 columns
    assert set(np.unique(preview.values)) == {0, 1, 2, 3, 4, 5, 6}
    assert preview.values[0, -1] == 6 and preview.values[0, 0] == 0


def test_ndvi_preview_averages_and_keeps_nodata(tmp_path):
    ndvi = np.full((100, 150), 0.5, dtype="float32")
    ndvi[:50, :] = np.nan
    ndvi[50:, :75] = 0.1
    path = write_cog(tmp_path / "ndvi.tif", ndvi, dtype="float32", nodata=np.nan)
    preview = read_preview(path, categorical=False, max_size=30)
    assert np.isnan(preview.values[:10]).all()
    assert preview.values[10:, :15] == pytest.approx(0.1)
    assert preview.values[10:, 15:] == pytest.approx(0.5)


def test_a_decimated_preview_reads_the_finest_overview_that_is_fine_enough(tmp_path):
    """The overviews hold 1 and the full resolution 2 (written after them): a preview at a
    third of the size comes from the factor-2 overview, one at full size from the pixels."""
    from rasterio.enums import Resampling
    from rasterio.transform import from_origin

    path = tmp_path / "classes.tif"
    profile = {"driver": "GTiff", "width": 600, "height": 300, "count": 1, "dtype": "uint8",
               "crs": "EPSG:32647", "transform": from_origin(380_000, 2_330_000, 10, 10),
               "nodata": 0, "tiled": True, "blockxsize": 128, "blockysize": 128}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.ones((1, 300, 600), dtype=np.uint8))
        dst.build_overviews([2, 4], Resampling.nearest)
    with rasterio.open(path, "r+") as dst:
        dst.write(np.full((1, 300, 600), 2, dtype=np.uint8))
    assert set(np.unique(read_preview(path, categorical=True, max_size=200).values)) == {1}
    assert set(np.unique(read_preview(path, categorical=True, max_size=600).values)) == {2}
    assert set(np.unique(read_preview(path, categorical=True, max_size=400).values)) == {2}


def test_class_and_ndvi_colours():
    rgba = class_rgba(np.array([[0, 1, 2, 6]], dtype=np.uint8))
    assert rgba[0, 0, 3] == 0  # no data transparent
    assert rgba[0, 1].tolist() == [0xD7, 0x30, 0x1F, 255]  # opium poppy #d7301f
    assert rgba[0, 2].tolist() == [0x7B, 0x32, 0x94, 255]  # cannabis #7b3294
    assert rgba[0, 3].tolist() == [0x2C, 0x7B, 0xB6, 255]  # water #2c7bb6
    green = ndvi_rgba(np.array([[np.nan, -0.2, 0.9]]))
    assert green[0, 0, 3] == 0
    assert green[0, 1, 0] > green[0, 1, 1]  # low NDVI reddish
    assert green[0, 2, 1] > green[0, 2, 0]  # high NDVI green


def test_overlay_png_covers_the_raster_footprint(class_cog, tmp_path):
    path, _ = class_cog
    (south, west), (north, east) = write_overlay_png(path, tmp_path / "o.png", kind="classes")
    with rasterio.open(path) as src:
        expected = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    # the warped grid adds at most a pixel (40 m, ~0.0004 degree) around the footprint
    assert (west, south, east, north) == pytest.approx(expected, abs=6e-4)
    image = matplotlib.image.imread(tmp_path / "o.png")
    assert image.shape[2] == 4 and max(image.shape[:2]) <= 1600
    assert image[image.shape[0] // 2, 1, 3] == 0  # the no-data strip on the west is transparent
    assert image[image.shape[0] // 2, -3, 3] == 1.0


def test_unknown_overlay_kind_is_refused(class_cog, tmp_path):
    with pytest.raises(ValueError, match="kind"):
        write_overlay_png(class_cog[0], tmp_path / "x.png", kind="rgb")


def test_cultivation_density_counts_mapped_hectares_per_km2_with_padded_edge_cells(tmp_path):
    """40 m pixels on 1 km cells (25 px): hand-counted shares, edge cells partly outside."""
    import rasterio

    from maps.rasters import cultivation_density
    from tests.maps.builders import write_cog

    codes = np.full((110, 160), 4, dtype="uint8")  # forest
    codes[:, 80:] = 1  # opium poppy from column 80
    codes[:, 150:] = 2  # cannabis in the last 10 columns (a padded edge cell)
    codes[100:, :] = 0  # no data in the last 10 rows (another padded edge)
    grid = cultivation_density(
        write_cog(tmp_path / "classes.tif", codes, dtype="uint8", nodata=0), tmp_path / "d.tif"
    )
    with rasterio.open(grid) as src:
        density = src.read(1)
        assert src.res == (1000.0, 1000.0)
    assert density.shape == (5, 7)
    # cell column 3 holds pixel columns 75-99: 5 forest, 20 poppy -> 80 ha per km2
    np.testing.assert_allclose(density[0], [0, 0, 0, 80, 100, 100, 100])
    assert np.isnan(density[4]).all()  # rows 100-109 are no data: nothing to say, not zero
