"""Buffer strata around mapped crops: drawn by the sampler, split out of map area by the estimator."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from affine import Affine
from shapely.geometry import box

import geo.estimation.design as sampling_module
from core.errors import InvalidInputError
from geo.estimation import (
    district_estimates,
    draw_reference_sample,
    stratum_code,
    stratum_name,
    zonal_class_area,
)

UTM = "EPSG:32647"
X0, Y0 = 500_000.0, 2_000_000.0


@pytest.fixture
def block_map():
    """40 x 40 forest (4) with a 6 x 6 poppy block (1) at rows/cols 10-15; 10 m pixels."""
    codes = np.full((40, 40), 4, dtype="uint8")
    codes[10:16, 10:16] = 1
    codes[30:, :] = 5  # fallow strip far from the block
    transform = Affine(10, 0, X0, 0, -10, Y0)
    data = xr.DataArray(codes, dims=("y", "x"),
                        coords={"y": Y0 - 5 - 10 * np.arange(40), "x": X0 + 5 + 10 * np.arange(40)})  # fmt: skip
    return data.rio.write_crs(UTM).rio.write_transform(transform).rio.write_nodata(0)


ZONES = gpd.GeoDataFrame({"district_id": ["D01"]}, geometry=[box(X0, Y0 - 400, X0 + 400, Y0)],
                         crs=UTM)  # fmt: skip


def test_stratum_names_and_codes():
    assert stratum_code("forest_near_crops") == 104
    assert stratum_code("opium_poppy") == 1 and stratum_code(5) == 5
    assert stratum_name(104) == "forest_near_crops" and stratum_name(2) == "cannabis"


@pytest.mark.parametrize("window_px", [1024, 7])
def test_buffer_stratum_is_the_ring_around_mapped_crops(block_map, monkeypatch, window_px):
    monkeypatch.setattr(sampling_module, "WINDOW_PX", window_px)  # halo across windows
    sample = draw_reference_sample(block_map, ZONES, "district_id", buffer_px=1, seed=0,
                                   n_per_stratum={"opium_poppy": 5, "forest": 5,
                                                  "forest_near_crops": 100, "fallow_bare": 3})  # fmt: skip
    ring = sample[sample["stratum"] == 104]
    # 8 x 8 square minus the 6 x 6 block = 28 pixels, all taken (n = 100 > 28)
    assert len(ring) == 28 and (ring["map_class"] == 4).all()
    assert ring["stratum_area_ha"].iloc[0] == pytest.approx(0.28)
    cols = ((ring.geometry.x - X0) // 10).astype(int)
    rows = ((Y0 - ring.geometry.y) // 10).astype(int)
    assert set(zip(rows, cols, strict=True)) == {
        (r, c) for r in range(9, 17) for c in range(9, 17) if not (10 <= r < 16 and 10 <= c < 16)
    }
    core = sample[sample["stratum"] == 4]
    assert core["stratum_pixels"].iloc[0] == 40 * 30 - 36 - 28
    assert core["stratum_area_ha"].iloc[0] == pytest.approx((1200 - 64) * 0.01)


def test_buffer_strata_default_to_their_class_size(block_map):
    sample = draw_reference_sample(block_map, ZONES, "district_id", buffer_px=2, seed=1,
                                   n_per_stratum={1: 4, 4: 6, 5: 2})  # fmt: skip
    assert sample.groupby("stratum").size().to_dict() == {1: 4, 4: 6, 5: 2, 104: 6}


def test_estimator_moves_buffer_area_out_of_its_class(block_map):
    map_area = zonal_class_area(block_map, ZONES, "district_id")
    sample = draw_reference_sample(block_map, ZONES, "district_id", buffer_px=1, seed=2,
                                   n_per_stratum={1: 10, 4: 10, 104: 10, 5: 4})  # fmt: skip
    # interpreters: poppy stratum all poppy; 3 of 10 ring points are poppy (edge omission)
    sample["reference_class"] = sample["stratum"].map(
        {1: "opium_poppy", 4: "forest", 5: "fallow_bare", 104: "forest"}
    )
    ring = sample.index[sample["stratum"] == 104][:3]
    sample.loc[ring, "reference_class"] = "opium_poppy"
    row = district_estimates(map_area, sample, ZONES, year=2025, crops=("opium_poppy",),
                             variance="design").iloc[0]  # fmt: skip
    # poppy = 0.36 ha mapped (all poppy) + 0.28 ha ring x 3/10; forest core has none
    assert row["area_ha"] == pytest.approx(0.36 + 0.28 * 0.3)
    fpc = 1 - 10 / 28
    assert row["se_ha"] == pytest.approx(0.28 * np.sqrt(0.3 * 0.7 / 9 * fpc))
    assert row["method"] == "stratified"
    lost = sample.drop(columns="stratum_area_ha")
    with pytest.raises(InvalidInputError, match="stratum_area_ha"):
        district_estimates(map_area, lost, ZONES, year=2025)


def test_no_buffer_without_mapped_crops(block_map):
    no_crops = block_map.where(block_map != 1, 4).astype("uint8").rio.write_nodata(0)
    sample = draw_reference_sample(no_crops, ZONES, "district_id", buffer_px=3, seed=0,
                                   n_per_stratum=3)  # fmt: skip
    assert set(sample["stratum"]) == {4, 5}
    assert isinstance(sample, pd.DataFrame)


def test_buffer_stratum_given_no_point_is_refused_by_name(block_map):
    from core.errors import EstimationError

    with pytest.raises(EstimationError, match="forest_near_crops"):
        draw_reference_sample(block_map, ZONES, "district_id", buffer_px=1, seed=0,
                              n_per_stratum={"opium_poppy": 5, "forest": 5,
                                             "forest_near_crops": 0, "fallow_bare": 3})  # fmt: skip
    with pytest.raises(EstimationError, match="fallow_bare"):
        draw_reference_sample(block_map, ZONES, "district_id", buffer_px=0, seed=0,
                              n_per_stratum={"opium_poppy": 5, "forest": 5, "fallow_bare": 0})  # fmt: skip


def test_sample_drawn_on_another_map_is_refused(block_map):
    map_area = zonal_class_area(block_map, ZONES, "district_id")
    sample = draw_reference_sample(block_map, ZONES, "district_id", buffer_px=1, seed=2,
                                   n_per_stratum={1: 10, 4: 10, 104: 10, 5: 4})  # fmt: skip
    sample["reference_class"] = sample["map_class"]
    # the same points read on a newer map where the poppy block became fallow
    moved = sample.assign(map_class=sample["map_class"].replace({1: 5}))
    with pytest.raises(InvalidInputError, match="drawn on another map") as caught:
        district_estimates(map_area, moved, None, year=2025)
    assert "10 of 34 points" in str(caught.value)
    district_estimates(map_area, sample, None, year=2025)  # its own map: accepted


def test_stratum_totals_of_a_window_are_those_of_numpy_unique_bit_for_bit():
    """Counts and summed pixel areas per (zone, stratum) key, keys -1 left out: the same
    keys, counts and float sums as ``numpy.unique``'s inverse with ``bincount`` give."""
    rng = np.random.default_rng(3)
    zones = rng.integers(40, 47, size=200_000)
    strata = rng.choice([1, 2, 4, 6, 101, 104], size=zones.size)
    keys = np.where(rng.random(zones.size) < 0.1, -1, zones * 65536 + strata)
    weights = rng.uniform(0.0099, 0.0101, size=keys.size)

    found, counts, sums = sampling_module._key_totals(keys, weights)

    unique, inverse, unique_counts = np.unique(keys, return_inverse=True, return_counts=True)
    unique_sums = np.bincount(inverse, weights=weights)
    valid = unique >= 0
    assert np.array_equal(found, unique[valid])
    assert np.array_equal(counts, unique_counts[valid])
    assert np.array_equal(sums, unique_sums[valid])  # exact: the same additions in order
    assert sampling_module._key_totals(np.full(5, -1))[0].size == 0
