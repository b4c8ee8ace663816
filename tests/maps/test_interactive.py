"""Web geometry for 1,000+ districts: simplified on a shared coverage, rounded, valid."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import Polygon

from maps.interactive import COORD_DECIMALS, web_geometry
from tests.maps.builders import CRS, X0, Y0


def _wiggly_neighbours() -> gpd.GeoDataFrame:
    """Two districts sharing a border with 400 small zigzags (a digitised river)."""
    ys = np.linspace(Y0 - 10_000, Y0, 401)
    xs = X0 + 5_000 + np.where(np.arange(401) % 2, 15.0, -15.0)
    border = list(zip(xs, ys, strict=True))
    west = Polygon([(X0, Y0 - 10_000), *border, (X0, Y0)])
    east = Polygon([(X0 + 10_000, Y0 - 10_000), (X0 + 10_000, Y0), *border[::-1]])
    return gpd.GeoDataFrame({"district_id": ["W", "E"]}, geometry=[west, east], crs=CRS)


def test_simplified_outlines_are_smaller_valid_and_rounded():
    districts = _wiggly_neighbours()
    web = web_geometry(districts)
    assert web.crs.to_epsg() == 4326
    before = shapely.get_num_coordinates(districts.geometry.to_numpy()).sum()
    after = shapely.get_num_coordinates(web.to_numpy()).sum()
    assert after < before / 10  # 30 m zigzags vanish at a ~70 m tolerance (1% of 7 km)
    assert web.is_valid.all()
    coords = shapely.get_coordinates(web.to_numpy())
    np.testing.assert_array_equal(coords, np.round(coords, COORD_DECIMALS))


def test_neighbours_still_share_their_border():
    web = web_geometry(_wiggly_neighbours()).to_crs(CRS)
    west, east = web.iloc[0], web.iloc[1]
    # neither gap nor overlap: the union is as large as the two parts (rounding ~1 m)
    assert west.intersection(east).area < 1_000  # m², i.e. < 0.1 ha over a 10 km border
    assert abs(west.union(east).area - (west.area + east.area)) < 1_000
    assert abs((west.area + east.area) - 100e6) / 100e6 < 0.001


def test_field_data_with_missing_labels_still_maps(tmp_path):
    from shapely.geometry import Point

    from maps.interactive import build_interactive_map
    from maps.layers import district_table
    from tests.maps.builders import make_districts, make_estimates

    districts = make_districts(2, 1)
    table = district_table(districts, make_estimates(districts, 2025))
    plots = gpd.GeoDataFrame(
        {"plot_id": ["a", "b"], "crop": ["opium_poppy", None], "status": [None, "verified"]},
        geometry=[Point(X0 + 100, Y0 - 100), Point(X0 + 300, Y0 - 300)],
        crs=CRS,
    )
    page = build_interactive_map(tmp_path, table, year=2025, run_id="r", plots=plots)
    text = page.read_text()
    assert '"status": "unknown"' in text and '"crop": "unknown"' in text
    assert "unknown (solid)" in text  # the status legend names the missing status too
