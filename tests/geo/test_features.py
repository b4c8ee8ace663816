"""geo.features with red-edge bands: used where every scene has them, never in mixed seasons.

Values are worked by hand from the catalogue formulas (Awesome Spectral
Indices, via spyndex): NDREI = (N - RE1) / (N + RE1), IRECI = (RE3 - R) / (RE1 / RE2).
"""

from __future__ import annotations

import numpy as np
import pytest

from geo.features import RED_EDGE_BANDS, REFLECTANCE_BANDS, build_features, feature_names_for
from geo.grid import AnalysisGrid
from geo.imagery import read_season
from tests.geo.classify_fixtures import season_dataset
from tests.geo.fixtures_imagery import LEFT, TOP, s2_arrays, write_landsat_scene, write_s2_folder

RED_EDGE_FEATURES = [
    "rededge1_median",
    "rededge2_median",
    "rededge3_median",
    "nir08_median",
    "ndre_median",
    "ndre_p90",
    "ireci_median",
]


def _season(with_red_edge: bool):
    shape = (3, 2, 2)
    values = {"blue": 0.04, "green": 0.07, "red": 0.05, "nir": 0.40, "swir1": 0.25, "swir2": 0.12}
    bands = {b: np.full(shape, v) for b, v in values.items()}
    bands["nir"] = np.array([0.30, 0.40, 0.50]).reshape(3, 1, 1) * np.ones(shape)
    if with_red_edge:
        bands["rededge1"] = np.array([0.10, 0.12, 0.20]).reshape(3, 1, 1) * np.ones(shape)
        bands |= {"rededge2": np.full(shape, 0.25), "rededge3": np.full(shape, 0.33)}
        bands["nir08"] = np.full(shape, 0.42)
    return season_dataset(bands)


def test_red_edge_features_by_hand():
    values = build_features(_season(True)).isel(y=0, x=0).compute().to_series()
    assert list(values.index) == feature_names_for(
        [11, 12, 1], [*REFLECTANCE_BANDS, *RED_EDGE_BANDS]
    )
    assert set(RED_EDGE_FEATURES) <= set(values.index)
    ndre = [(0.30 - 0.10) / 0.40, (0.40 - 0.12) / 0.52, (0.50 - 0.20) / 0.70]  # 0.5, 0.5385, 0.4286
    assert values["ndre_median"] == pytest.approx(np.median(ndre), abs=1e-4)
    assert values["ndre_p90"] == pytest.approx(np.quantile(ndre, 0.9), abs=1e-4)
    ireci = [(0.33 - 0.05) / (re1 / 0.25) for re1 in (0.10, 0.12, 0.20)]  # 0.7, 0.5833, 0.35
    assert values["ireci_median"] == pytest.approx(np.median(ireci), abs=1e-4)
    assert values["rededge1_median"] == pytest.approx(0.12, abs=1e-6)
    assert values["nir08_median"] == pytest.approx(0.42, abs=1e-6)


def test_without_red_edge_the_features_are_unchanged():
    plain = build_features(_season(False)).isel(y=0, x=0).compute().to_series()
    rich = build_features(_season(True)).isel(y=0, x=0).compute().to_series()
    assert list(plain.index) == feature_names_for([11, 12, 1])
    assert not set(RED_EDGE_FEATURES) & set(plain.index)
    np.testing.assert_array_equal(plain.to_numpy(), rich[plain.index].to_numpy())


def _s2_with_red_edge(root, scene_id, start):
    arrays = s2_arrays()
    for band in RED_EDGE_BANDS:
        arrays[band] = arrays["swir1"].copy()  # 20 m bands
    return write_s2_folder(root, scene_id, arrays, start=start, with_stac=False)


def test_mixed_sentinel2_landsat_season_keeps_the_shared_bands(tmp_path):
    grid = AnalysisGrid.from_bounds((LEFT, TOP - 80, LEFT + 80, TOP), "EPSG:32647", 10)
    first = _s2_with_red_edge(
        tmp_path,
        "S2B_MSIL2A_20250112T040519_N0511_R004_T47QNA_20250112T071523",
        "2025-01-12T04:05:19.024Z",
    )
    second = _s2_with_red_edge(
        tmp_path,
        "S2A_MSIL2A_20250201T040519_N0511_R004_T47QNA_20250201T071523",
        "2025-02-01T04:05:19.024Z",
    )
    s2_only = read_season([first, second], grid)
    assert set(RED_EDGE_BANDS) <= set(s2_only.data_vars)
    assert set(RED_EDGE_FEATURES) <= set(build_features(s2_only)["feature"].values)

    sr = {n: np.full((3, 3), 20000, dtype=np.uint16) for n in range(1, 8)}
    landsat = write_landsat_scene(
        tmp_path / "landsat", sr, np.full((3, 3), 21824, dtype=np.uint16), date="2025-01-20"
    )
    mixed = read_season([first, landsat, second], grid)
    assert not set(RED_EDGE_BANDS) & set(mixed.data_vars)
    names = list(build_features(mixed)["feature"].values)
    assert names == feature_names_for([1, 2])
