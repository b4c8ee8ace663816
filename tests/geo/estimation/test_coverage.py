"""What the map does not cover: mapped share per district and empty districts, by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo.estimation import district_estimates, region_estimate

UTM = "EPSG:32647"
ZONES = gpd.GeoDataFrame(
    {"district_id": ["D01", "D02", "D03"], "district_name": ["Hopang", "Mongla", "Tachileik"]},
    geometry=[box(380_000, 2_230_000, 390_000, 2_240_000),
              box(390_000, 2_230_000, 400_000, 2_240_000),
              box(400_000, 2_230_000, 410_000, 2_240_000)], crs=UTM,
)  # fmt: skip
# independent area: EPSG:6933 is equal-area on the WGS84 ellipsoid
TRUE_HA = ZONES.to_crs(6933).set_index("district_id").area / 1e4


def sample_table(cells):
    rows = [(z, m, r) for (z, m, r), n in cells.items() for _ in range(n)]
    sample = pd.DataFrame(rows, columns=["district_id", "map_class", "reference_class"])
    sample.insert(0, "sample_id", np.arange(1, len(sample) + 1))
    return sample


def inputs():
    d01, d02 = 0.6 * TRUE_HA["D01"], TRUE_HA["D02"]  # D01 60% mapped (clouds), D03 not at all
    map_area = pd.DataFrame({
        "district_id": ["D01", "D01", "D02", "D02", "D03", "D03"], "class": [1, 3] * 3,
        "area_ha": [0.05 * d01, 0.95 * d01, 0.02 * d02, 0.98 * d02, 0.0, 0.0],
    })  # fmt: skip
    sample = sample_table({
        ("D01", 1, "opium_poppy"): 16, ("D01", 1, "other_crops"): 4,
        ("D01", 3, "opium_poppy"): 2, ("D01", 3, "other_crops"): 38,
        ("D02", 1, "opium_poppy"): 10, ("D02", 1, "other_crops"): 10,
        ("D02", 3, "opium_poppy"): 1, ("D02", 3, "other_crops"): 49,
    })  # fmt: skip
    return map_area, sample


def test_mapped_share_flags_a_partly_mapped_district():
    map_area, sample = inputs()
    table = district_estimates(map_area, sample, ZONES, year=2025, crops=("opium_poppy",))
    rows = table.set_index("district_id")
    assert rows.loc["D01", "mapped_share"] == pytest.approx(0.6, rel=1e-3)
    assert rows.loc["D02", "mapped_share"] == pytest.approx(1.0, rel=1e-3)
    assert bool(rows.loc["D01", "partly_mapped"]) and not bool(rows.loc["D02", "partly_mapped"])
    assert "only 60% of the district has valid map pixels" in rows.loc["D01", "note"]
    assert np.isfinite(rows.loc["D01", "area_ha"])  # estimated over its mapped part


def test_empty_district_is_not_estimable_never_zero_zero():
    map_area, sample = inputs()
    d03 = district_estimates(map_area, sample, ZONES, year=2025, crops=("opium_poppy",))
    d03 = d03.set_index("district_id").loc["D03"]
    assert d03["method"] == "not_estimable" and "not estimable" in d03["note"]
    assert np.isnan(d03["area_ha"]) and np.isnan(d03["ci_low_ha"]) and np.isnan(d03["ci_high_ha"])
    assert d03["mapped_share"] == 0.0 and bool(d03["partly_mapped"])


def test_region_mapped_share_is_over_all_districts():
    map_area, sample = inputs()
    region = region_estimate(map_area, sample, ZONES, year=2025, crops=("opium_poppy",))
    expected = (0.6 * TRUE_HA["D01"] + TRUE_HA["D02"]) / TRUE_HA.sum()
    assert region["mapped_share"].iloc[0] == pytest.approx(expected, rel=1e-3)
    assert bool(region["partly_mapped"].iloc[0])


def test_without_district_geometry_the_share_is_unknown():
    map_area, sample = inputs()
    table = district_estimates(map_area, sample, pd.DataFrame(ZONES.drop(columns="geometry")),
                               year=2025, crops=("opium_poppy",))  # fmt: skip
    assert table["mapped_share"].isna().all() and not table["partly_mapped"].any()
    assert table.set_index("district_id").loc["D03", "method"] == "not_estimable"
