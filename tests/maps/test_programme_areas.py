"""AD programme areas on the map: own polygon, else the union of their districts."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from maps import programme_areas
from tests.maps.builders import CRS, X0, Y0, make_districts


def test_area_is_own_polygon_or_union_of_districts():
    districts = make_districts(3, 2)  # 2 km squares
    own = box(X0, Y0 - 500, X0 + 500, Y0)
    programmes = gpd.GeoDataFrame(
        {"programme_id": ["P1", "P2", "P3"], "name": ["A", "B", "C"],
         "district_ids": [["D001", "D002"], "D004;D005", ["D999"]],
         "baseline_year": [2020, 2020, 2020]},
        geometry=[None, None, None], crs=CRS,
    )  # fmt: skip
    programmes.loc[programmes.programme_id == "P2", "geometry"] = own
    areas = programme_areas(programmes, districts, None).set_index("programme_id")
    assert list(areas.index) == ["P1", "P2"]  # P3's district is unknown: left out
    assert areas.loc["P1", "geometry"].area == pytest.approx(8e6)  # two 4 km² districts
    assert areas.loc["P2", "geometry"].equals(own)  # its own area wins over its districts


def test_popup_compares_baseline_with_current_and_escapes_names():
    districts = make_districts(2, 1)
    programmes = pd.DataFrame(
        {"programme_id": ["P1"], "name": ["<b>Coffee</b> & tea"], "district_ids": [["D001"]],
         "baseline_year": [2020], "households": [120.0], "alternative_crops": [["coffee", "tea"]]}
    )  # fmt: skip
    change = pd.DataFrame(
        {"programme_id": ["P1"], "district_id": ["D001"], "crop": ["opium_poppy"],
         "baseline_year": [2020], "baseline_ha": [30.0], "baseline_source": ["census"],
         "year": [2025], "area_ha": [12.0], "ci_low_ha": [8.0], "ci_high_ha": [16.0],
         "change_ha": [-18.0], "change_ci_low_ha": [-23.0], "change_ci_high_ha": [-13.0],
         "verdict": ["decrease"]}
    )  # fmt: skip
    popup = programme_areas(programmes, districts, change)["popup_html"].iloc[0]
    assert "&lt;b&gt;Coffee&lt;/b&gt; &amp; tea" in popup
    assert "30.0 ha (2020, census)" in popup
    assert "12.0 ha (8.0 to 16.0), 2025" in popup
    assert "-18.0 (-23.0 to -13.0)" in popup and "decrease" in popup
    assert "households 120; alternative crops coffee, tea" in popup
