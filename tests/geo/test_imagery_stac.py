"""STAC items from each catalogue, read from real items: bands, scaling, masks, assumptions.

Each test takes a real item (``tests/geo/data/imagery/SOURCES.md``), writes a
few small rasters where its assets point, and checks reflectance against the
product's documented formula computed by hand: Sentinel-2 L2A
(DN + BOA_ADD_OFFSET) / 10000 (ESA), Landsat C2 L2 DN x 0.0000275 - 0.2 (USGS).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import geo.indices
from core.errors import ImageryError
from geo.imagery import ImageryAssumptionWarning, read_scene
from geo.readers.stac_assets import AssetBand
from geo.readers.stac_rules import band_name
from tests.geo.real_products import real_item, stac_scene

PC_2019 = "s2/planetary_computer_S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"
PC_2024 = "s2/planetary_computer_S2B_MSIL2A_20240419T095549_R122_T47XML_20240419T123458.json"
ES_V1 = "s2/earth_search_v1_S2A_13TDE_20231008_0_L2A.json"
ES_C1 = "s2/earth_search_v1_c1_S2B_T20EPT_20250731T131905_L2A.json"
ES_V0_B2 = "s2/earth_search_v0_beta2_S2B_20EPT_20250731_0_L2A.json"
ES_V0_B1 = "s2/earth_search_v0_beta1_S2A_28QCH_20200714_0_L2A.json"
CDSE = "s2/cdse_S2C_MSIL2A_20250330T100051_N0511_R122_T33UWP_20250330T145914.ABRIDGED.json"
PC_LANDSAT = "landsat/planetary_computer_LC09_L2SR_084082_20250722_02_T1.json"
ES_LANDSAT = "landsat/earth_search_v1_LC08_L2SP_033032_20231008_02_T1.json"
STACTOOLS_TM = "landsat/stactools_LT05_L2SP_010067_19860424_02_T2.json"
USGS_BETA = "landsat/usgs_beta2_LC08_L2SR_081119_20200101_20200823_02_T2.json"
USGS_070 = "landsat/usgs_070_LC08_L2SP_005009_20150710_20200908_02_T2_SR_stac.json"
USGS_100 = "landsat/usgs_100_LE07_L2SP_044033_20210329_20210424_02_T1_SR.json"


def full(value: int, size: int = 4, dtype=np.uint16) -> np.ndarray:
    return np.full((size, size), value, dtype=dtype)


def s2(dn: float, offset: float) -> float:
    """ESA L2A reflectance by hand."""
    return (dn + offset) / 10000


def landsat(dn: float) -> float:
    """USGS C2 L2 surface reflectance by hand."""
    return dn * 0.0000275 - 0.2


def _s2_assets(keys: dict[str, str]) -> dict[str, np.ndarray]:
    """10 m arrays 4 x 4, 20 m 2 x 2, SCL 20 m with one cloud pixel (top-left)."""
    values = {"blue": 1800, "red": 1500, "nir": 5200, "rededge1": 2600, "nir08": 5500}
    arrays = {}
    for band, key in keys.items():
        if band == "scl":
            scl = full(4, 2, np.uint8)
            scl[0, 0] = 9
            arrays[key] = scl
        else:
            arrays[key] = full(values[band], 4 if band in ("blue", "red", "nir") else 2)
    return arrays


def _check_s2(scene, offset: float) -> None:
    assert scene["red"].values[3, 3] == pytest.approx(s2(1500, offset), abs=1e-4)
    assert scene["nir08"].values[3, 3] == pytest.approx(s2(5500, offset), abs=1e-4)
    assert scene["rededge1"].values[3, 3] == pytest.approx(s2(2600, offset), abs=1e-4)
    ndvi = geo.indices.compute(scene, ["NDVI"])["NDVI"].values[3, 3]
    red, nir = s2(1500, offset), s2(5200, offset)
    assert ndvi == pytest.approx((nir - red) / (nir + red), abs=1e-4)
    valid = scene["valid"].values
    assert not valid[:2, :2].any() and valid.sum() == 12  # the cloudy 20 m pixel is 2 x 2


PC_KEYS = {"blue": "B02", "red": "B04", "nir": "B08", "rededge1": "B05", "nir08": "B8A"}


@pytest.mark.parametrize(
    ("item", "baseline", "offset"), [(PC_2019, "02.12", 0), (PC_2024, "05.10", -1000)]
)
def test_planetary_computer_item_b8a_rededge_is_nir08_offset_from_baseline(
    tmp_path, item, baseline, offset
):
    """PC tags B8A ``rededge`` at 0.865 µm and declares no scaling: baseline decides."""
    path = stac_scene(tmp_path, item, _s2_assets({**PC_KEYS, "scl": "SCL"}))
    with pytest.warns(ImageryAssumptionWarning, match=f"from processing baseline {baseline}"):
        scene = read_scene(path, ["blue", "red", "rededge1", "nir", "nir08"])
    assert scene.attrs["processing_baseline"] == baseline
    assert len(scene.attrs["assumptions"]) == 1
    _check_s2(scene, offset)


def test_rededge_common_name_is_told_apart_by_wavelength():
    def band(wavelength):
        return AssetBand("x", "x.tif", None, "rededge", wavelength, 20, True, None, None, None)

    names = [band_name("other", band(w), None) for w in (0.704, 0.740, 0.783, 0.865)]
    assert names == ["rededge1", "rededge2", "rededge3", None]
    assert band_name("sentinel-2", band(0.865), None) == "nir08"


ES_KEYS = {"blue": "blue", "red": "red", "nir": "nir", "rededge1": "rededge1", "nir08": "nir08"}


def test_earth_search_v1_boa_offset_applied_true_means_no_offset(tmp_path):
    """The item says ``offset: -0.1`` and ``boa_offset_applied: true``: the flag wins."""
    path = stac_scene(tmp_path, ES_V1, _s2_assets({**ES_KEYS, "scl": "scl"}))
    with pytest.warns(ImageryAssumptionWarning, match="boa_offset_applied = true"):
        scene = read_scene(path, ["blue", "red", "rededge1", "nir", "nir08"])
    _check_s2(scene, 0)
    assert scene.attrs["processing_baseline"] == "05.09"


def test_earth_search_v1_flag_false_applies_the_baseline_offset(tmp_path):
    def unharmonised(item):  # variant: the flag as Earth Search sets it for un-offset COGs
        item["properties"]["earthsearch:boa_offset_applied"] = False

    path = stac_scene(tmp_path, ES_V1, _s2_assets({**ES_KEYS, "scl": "scl"}), edit=unharmonised)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImageryAssumptionWarning)
        scene = read_scene(path, ["blue", "red", "rededge1", "nir", "nir08"])
    _check_s2(scene, -1000)


def test_earth_search_c1_item_declares_its_offset(tmp_path):
    path = stac_scene(tmp_path, ES_C1, _s2_assets({**ES_KEYS, "scl": "scl"}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImageryAssumptionWarning)
        scene = read_scene(path, ["blue", "red", "rededge1", "nir", "nir08"])
    _check_s2(scene, -1000)
    assert scene.attrs["assumptions"] == []


def test_earth_search_v0_beta2_flag_and_bands_without_common_names(tmp_path):
    path = stac_scene(tmp_path, ES_V0_B2, _s2_assets({**PC_KEYS, "scl": "SCL"}), res=None)
    with pytest.warns(ImageryAssumptionWarning, match="no raster scale declared"):
        scene = read_scene(path, ["blue", "red", "rededge1", "nir", "nir08"])
    _check_s2(scene, 0)  # sentinel:boa_offset_applied = true


def test_earth_search_v0_beta1_item_without_eo_bands(tmp_path):
    """No eo:bands at all: bands by asset key; baseline 02.14 from sentinel:product_id."""
    res = {"B02": 10, "B04": 10, "B08": 10, "B05": 20, "B8A": 20, "SCL": 20}
    path = stac_scene(tmp_path, ES_V0_B1, _s2_assets({**PC_KEYS, "scl": "SCL"}), res=res)
    with pytest.warns(ImageryAssumptionWarning, match="baseline 02.14"):
        scene = read_scene(path, ["blue", "red", "rededge1", "nir", "nir08"])
    _check_s2(scene, 0)


CDSE_KEYS = {"blue": "B02_10m", "red": "B04_10m", "nir": "B08_10m", "rededge1": "B05_20m"}


def test_cdse_stac_1_1_asset_level_scaling_and_scl_20m_mask(tmp_path):
    """STAC 1.1: ``bands`` with ``eo:common_name``, asset ``raster:scale``/``raster:offset``."""
    arrays = _s2_assets({**CDSE_KEYS, "nir08": "B8A_20m"})
    scl = np.full((10, 10), 4, dtype=np.uint8)
    scl.flat[:86] = np.resize([8, 9, 10], 86)  # 86% cloudy, like the real scene
    arrays["SCL_20m"] = scl
    arrays = {
        k: np.resize(v, (20, 20) if v.shape == (4, 4) else (10, 10)) for k, v in arrays.items()
    }
    arrays["SCL_20m"] = scl
    path = stac_scene(tmp_path, CDSE, arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImageryAssumptionWarning)
        scene = read_scene(path, ["blue", "red", "rededge1", "nir", "nir08"], require_clear=False)
    assert scene.attrs["processing_baseline"] == "05.11"
    assert scene["red"].values[19, 19] == pytest.approx(s2(1500, -1000), abs=1e-4)
    assert scene["nir08"].values[19, 19] == pytest.approx(s2(5500, -1000), abs=1e-4)
    ndvi = geo.indices.compute(scene, ["NDVI"])["NDVI"].values[19, 19]
    red, nir = s2(1500, -1000), s2(5200, -1000)
    assert ndvi == pytest.approx((nir - red) / (nir + red), abs=1e-4)
    masked_20m = (~scene["valid"].values)[::2, ::2]
    assert masked_20m.sum() == 86 and masked_20m.flat[:86].all()


@pytest.mark.parametrize("item", [ES_LANDSAT, STACTOOLS_TM])
def test_landsat_item_masks_with_qa_pixel_not_the_surface_temperature_qa(tmp_path, item):
    qa_st = full(
        8, 3, np.int16
    )  # ST uncertainty (kelvin/100): as QA_PIXEL bits it would be 'cloud'
    qa_pixel = full(21824, 3)
    qa_pixel[0, 0] = 22280
    arrays = {"red": full(9000, 3), "nir08": full(20000, 3), "qa": qa_st, "qa_pixel": qa_pixel}
    path = stac_scene(tmp_path, item, arrays)
    scene = read_scene(path, ["red", "nir"])
    assert scene["red"].values[2, 2] == pytest.approx(landsat(9000), abs=1e-4)
    assert scene["nir"].values[2, 2] == pytest.approx(landsat(20000), abs=1e-4)
    assert scene["valid"].values.sum() == 8 and not scene["valid"].values[0, 0]


@pytest.mark.parametrize("item", [PC_LANDSAT, ES_LANDSAT, STACTOOLS_TM])
def test_landsat_items_with_raster_bands(tmp_path, item):
    """PC (L2SR, 2025), Earth Search v1 and stactools (TM: red is TM_B3) Landsat items."""
    arrays = {"red": full(9000, 3), "nir08": full(20000, 3), "qa_pixel": full(21824, 3)}
    path = stac_scene(tmp_path, item, arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImageryAssumptionWarning)
        scene = read_scene(path, ["red", "nir"])
    assert scene["red"].values[0, 0] == pytest.approx(landsat(9000), abs=1e-4)
    ndvi = geo.indices.compute(scene, ["NDVI"])["NDVI"].values[0, 0]
    assert ndvi == pytest.approx(0.7610, abs=1e-4)


@pytest.mark.parametrize(
    ("item", "keys"),
    [
        (USGS_BETA, ("SR_B4.TIF", "SR_B5.TIF", "QA_PIXEL.TIF")),
        (USGS_070, ("SR_B4.TIF", "SR_B5.TIF", "QA_PIXEL.TIF")),
        (USGS_100, ("red", "nir08", "qa_pixel")),
    ],
)
def test_usgs_items_from_0_7_to_1_0_declare_no_scaling(tmp_path, item, keys):
    """USGS landsatlook items (0.7.0, 1.0.0-beta.2 integer eo:bands, 1.0.0): product scaling."""
    qa = full(21824, 3)
    qa[1, 1] = 22280
    arrays = dict(zip(keys, (full(9000, 3), full(20000, 3), qa), strict=True))
    path = stac_scene(tmp_path, item, arrays, res=dict.fromkeys(keys, 30.0))
    with pytest.warns(ImageryAssumptionWarning, match="USGS C2 L2 surface reflectance"):
        scene = read_scene(path, ["red", "nir"])
    assert scene["red"].values[0, 0] == pytest.approx(landsat(9000), abs=1e-4)
    assert scene["nir"].values[0, 0] == pytest.approx(landsat(20000), abs=1e-4)
    assert not scene["valid"].values[1, 1] and scene["valid"].values.sum() == 8
    ndvi = geo.indices.compute(scene, ["NDVI"])["NDVI"].values
    assert ndvi[0, 0] == pytest.approx(0.7610, abs=1e-4) and np.isnan(ndvi[1, 1])


def test_a_search_result_array_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "search.json"
    path.write_text(json.dumps([real_item(PC_2024), real_item(PC_2019)]))
    with pytest.raises(ImageryError, match=r"search.json: holds 2 items"):
        read_scene(path)


def test_integer_eo_band_index_out_of_range_names_asset_and_field(tmp_path):
    def broken(item):
        item["assets"]["SR_B4.TIF"]["eo:bands"] = [17]

    path = stac_scene(tmp_path, USGS_BETA, {}, edit=broken)
    with pytest.raises(ImageryError, match=r"asset 'SR_B4.TIF': eo:bands \[17\] indexes"):
        read_scene(path)
