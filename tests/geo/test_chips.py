"""Chips centred on a sample point, and the NDVI profile of its pixel, checked against known pixels."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import Point

from geo.chips import ChipSpec, chip_png, covering_rasters, point_profiles, render_chip
from geo.grid import AnalysisGrid

UTM = "EPSG:32647"
X0, Y0 = 380000.0, 2329000.0  # top-left of the test orthomosaic, in UTM 47N


@pytest.fixture
def ortho(tmp_path):
    """A 20 m x 20 m RGB orthomosaic at 0.1 m: red west half, blue east half, a green 1 m
    square centred at (X0 + 10, Y0 - 10)."""
    rgb = np.zeros((3, 200, 200), dtype="uint8")
    rgb[0, :, :100] = 200
    rgb[2, :, 100:] = 200
    rgb[:, 95:105, 95:105] = 0
    rgb[1, 95:105, 95:105] = 255
    path = tmp_path / "segment_7.tif"
    with rasterio.open(path, "w", driver="GTiff", width=200, height=200, count=3, dtype="uint8",
                       crs=UTM, transform=from_origin(X0, Y0, 0.1, 0.1)) as dst:  # fmt: skip
        dst.write(rgb)
    return path


def test_a_chip_is_centred_on_the_point(ortho):
    chip = render_chip(ChipSpec(str(ortho), half_width_m=5.0, size_px=100), X0 + 10, Y0 - 10, UTM)

    assert chip.shape == (100, 100, 3) and chip.dtype == np.uint8
    assert tuple(chip[50, 50]) == (0, 255, 0)  # the green square under the point
    assert tuple(chip[50, 2]) == (200, 0, 0) and tuple(chip[50, 97]) == (0, 0, 200)
    green = (chip[:, :, 1] == 255).sum(axis=0)
    assert green[45:55].min() == 10 and green[:44].max() == 0  # 1 m wide = 10 px of 10 cm


def test_a_chip_from_an_image_in_another_crs_lands_on_the_same_ground(ortho, tmp_path):
    geographic = tmp_path / "vhr_wgs84.tif"
    from rasterio.warp import calculate_default_transform, reproject

    with rasterio.open(ortho) as src:
        transform, width, height = calculate_default_transform(src.crs, "EPSG:4326", src.width,
                                                               src.height, *src.bounds)  # fmt: skip
        profile = src.profile | {"crs": "EPSG:4326", "transform": transform, "width": width,
                                 "height": height}  # fmt: skip
        with rasterio.open(geographic, "w", **profile) as dst:
            for band in (1, 2, 3):
                reproject(rasterio.band(src, band), rasterio.band(dst, band))
    chip = render_chip(
        ChipSpec(str(geographic), half_width_m=5.0, size_px=100), X0 + 10, Y0 - 10, UTM
    )
    assert chip[50, 50, 1] == 255 and chip[50, 50, 0] == 0


def test_outside_the_image_the_chip_is_black_and_reflectance_is_stretched(tmp_path, ortho):
    far = render_chip(ChipSpec(str(ortho), half_width_m=5.0, size_px=20), X0 + 500, Y0 - 500, UTM)
    assert far.max() == 0
    reflectance = tmp_path / "median.tif"
    with rasterio.open(reflectance, "w", driver="GTiff", width=10, height=10, count=3,
                       dtype="float32", crs=UTM, transform=from_origin(X0, Y0, 10, 10),
                       nodata=np.nan) as dst:  # fmt: skip
        dst.write(np.stack([np.full((10, 10), v, "float32") for v in (0.125, 0.25, 0.5)]))
    chip = render_chip(
        ChipSpec(str(reflectance), (1, 2, 3), 20.0, 4, (0.0, 0.25)), X0 + 50, Y0 - 50, UTM
    )
    assert tuple(chip[2, 2]) == (127, 255, 255)  # 0.125 of 0..0.25 is half; above the top clips


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_a_png_chip_decodes_to_the_same_pixels(ortho):
    chip = render_chip(ChipSpec(str(ortho), half_width_m=2.0, size_px=16), X0 + 10, Y0 - 10, UTM)
    data = chip_png(chip)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with rasterio.MemoryFile(data) as memory, memory.open() as png:
        assert np.array_equal(np.moveaxis(png.read(), 0, -1), chip)


def test_only_images_that_cover_a_point_are_offered(ortho):
    to_utm = Transformer.from_crs(UTM, 4326, always_xy=True)
    inside, outside = to_utm.transform(X0 + 5, Y0 - 5), to_utm.transform(X0 + 50, Y0 - 5)
    points = gpd.GeoSeries([Point(inside), Point(outside)], crs=4326)
    assert {k: v.tolist() for k, v in covering_rasters(points, [ortho]).items()} == {
        str(ortho): [True, False]
    }
    assert covering_rasters(points.iloc[[1]], [ortho]) == {}


def test_the_profile_is_the_ndvi_of_the_points_pixel_in_every_scene():
    grid = AnalysisGrid.from_bounds((X0, Y0 - 30, X0 + 30, Y0), crs=UTM, resolution=10)
    red = np.array([[[0.1] * 3] * 3, [[0.2] * 3] * 3], dtype="float32")
    nir = red * 3
    nir[1, 2, 0] = 0.2  # scene 2, row 2, column 0: bare soil, NDVI 0
    valid = np.ones_like(red, dtype=bool)
    valid[0, 0, 2] = False  # scene 1: cloud over row 0, column 2
    coords = {"time": pd.to_datetime(["2024-11-15", "2025-01-14"]), "y": [Y0 - 5, Y0 - 15, Y0 - 25],
              "x": [X0 + 5, X0 + 15, X0 + 25]}  # fmt: skip
    season = xr.Dataset({name: (("time", "y", "x"), value) for name, value in
                         (("red", red), ("nir", nir), ("valid", valid))}, coords=coords)  # fmt: skip
    points = gpd.GeoDataFrame({"sample_id": [11, 12]},
                              geometry=[Point(X0 + 25, Y0 - 5), Point(X0 + 5, Y0 - 25)], crs=UTM)  # fmt: skip

    profile = point_profiles(season, grid, points)

    expected = pd.DataFrame({"sample_id": [11, 12, 11, 12],
                             "date": ["2024-11-15", "2024-11-15", "2025-01-14", "2025-01-14"],
                             "ndvi": [np.nan, 0.5, 0.5, 0.0]})  # fmt: skip
    pd.testing.assert_frame_equal(profile, expected, check_dtype=False)
