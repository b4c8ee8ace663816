"""geo.grid: snapping, UTM zone choice, equal-area grids."""

from __future__ import annotations

import pytest
from affine import Affine
from shapely.geometry import box

from core.errors import InvalidInputError
from geo.grid import AnalysisGrid, utm_crs_for


def test_from_bounds_snaps_outward_and_keeps_exact_bounds():
    grid = AnalysisGrid.from_bounds((600003, 2199985, 600047, 2200001), "EPSG:32647", 10)
    assert grid.bounds == (600000.0, 2199980.0, 600050.0, 2200010.0)
    assert grid.shape == (3, 5) and (grid.width, grid.height) == (5, 3)
    assert grid.transform == Affine(10, 0, 600000, 0, -10, 2200010)
    assert grid.x_coords().tolist() == [600005, 600015, 600025, 600035, 600045]
    assert grid.y_coords().tolist() == [2200005, 2199995, 2199985]
    exact = AnalysisGrid.from_bounds((600000, 2199980, 600050, 2200010), "EPSG:32647", 10)
    assert exact == grid


def test_constructor_rejects_partial_pixels_and_bad_values():
    with pytest.raises(ValueError, match="whole number"):
        AnalysisGrid("EPSG:32647", 10, (0, 0, 15, 20))
    with pytest.raises(ValueError, match="positive"):
        AnalysisGrid("EPSG:32647", 0, (0, 0, 10, 10))
    with pytest.raises(ValueError, match="empty"):
        AnalysisGrid("EPSG:32647", 10, (10, 0, 0, 10))


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(99.0, 20.0, 32647), (102.6, 19.9, 32648), (96.5, 25.3, 32647), (-70.0, -33.0, 32719)],
)
def test_utm_zone(lon, lat, epsg):
    assert utm_crs_for(lon, lat).to_epsg() == epsg


def test_for_area_defaults_to_utm_and_snaps():
    area = box(99.90, 19.80, 99.95, 19.85)  # northern Thailand / Shan border
    grid = AnalysisGrid.for_area(area, resolution=10)
    assert grid.crs.to_epsg() == 32647
    left, bottom, right, top = grid.bounds
    assert all(v % 10 == 0 for v in grid.bounds)
    # 0.05 degrees is about 5.2 km east-west and 5.5 km north-south here
    assert 5000 < right - left < 5500 and 5400 < top - bottom < 5700


def test_for_area_equal_area_and_from_projected_bounds():
    grid = AnalysisGrid.for_area(
        (600000, 2190000, 610000, 2200000), "EPSG:32647", resolution=20, equal_area=True
    )
    assert grid.crs.to_epsg() == 6933
    assert grid.resolution == 20.0
    # the same GeoJSON geometry reaches the same grid as its bounds
    geojson = box(99.90, 19.80, 99.95, 19.85).__geo_interface__
    assert AnalysisGrid.for_area(geojson, resolution=10) == AnalysisGrid.for_area(
        box(99.90, 19.80, 99.95, 19.85), resolution=10
    )


def test_from_transform_round_trip():
    grid = AnalysisGrid.from_transform("EPSG:32647", Affine(20, 0, 600000, 0, -20, 2200000), 4, 3)
    assert grid.bounds == (600000.0, 2199940.0, 600080.0, 2200000.0)
    with pytest.raises(ValueError, match="square"):
        AnalysisGrid.from_transform("EPSG:32647", Affine(20, 0, 0, 0, -10, 0), 4, 3)


def test_a_geographic_crs_is_refused_because_pixels_would_be_degrees():
    with pytest.raises(InvalidInputError, match=r"EPSG:4326 is geographic .*10-degree pixels"):
        AnalysisGrid("EPSG:4326", 10, (90, 10, 110, 30))
    with pytest.raises(InvalidInputError, match=r"EPSG:4326 is geographic"):
        AnalysisGrid.from_bounds((97.0, 20.7, 97.2, 20.8), "EPSG:4326", 10)
    with pytest.raises(InvalidInputError, match="not a CRS"):
        AnalysisGrid("EPSG:999999", 10, (0, 0, 10, 10))


def test_wgs84_area_gets_a_metric_grid():
    grid = AnalysisGrid.for_area((97.0, 20.7, 97.2, 20.8), "EPSG:4326", resolution=10)
    assert grid.crs.to_epsg() == 32647 and grid.crs.linear_units == "metre"
    assert grid.width > 2000  # ten-metre pixels, not ten-degree ones


def test_near_square_pixels_of_a_real_geotiff_give_a_grid_of_the_pixel_width():
    # rasterio's tests/data/RGB.byte.tif: 300.0379266750948 x 300.041782729805 m, 791 x 718
    transform = Affine(300.0379266750948, 0.0, 101985.0, 0.0, -300.041782729805, 2826915.0)
    grid = AnalysisGrid.from_transform("EPSG:32618", transform, 791, 718)
    assert grid.resolution == pytest.approx(300.0379266750948)
    assert grid.bounds[0] == 101985.0 and grid.bounds[3] == 2826915.0
    assert grid.shape == (718, 791)
    with pytest.raises(InvalidInputError, match="rotated or not north-up"):
        AnalysisGrid.from_transform("EPSG:32618", Affine(30, 1, 0, 1, -30, 0), 4, 3)
