"""Landsat C2 L2 folders read from real MTLs: Level-2 factors, per-sensor bands, QA_PIXEL, SLC-off.

Expected reflectance is computed by hand from the USGS Landsat Collection 2
Level-2 formula, surface reflectance = DN x 0.0000275 - 0.2 (the
``REFLECTANCE_MULT_BAND_n``/``ADD_BAND_n`` of the MTL's
``LEVEL2_SURFACE_REFLECTANCE_PARAMETERS``), never the top-of-atmosphere
factors of ``LEVEL1_RADIOMETRIC_RESCALING`` in the same file.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

import geo.indices
from core.errors import ImageryError
from geo.imagery import ImageryAssumptionWarning, describe_source, read_scene
from geo.readers.mtl import read_mtl
from tests.geo.real_products import data_file, landsat_folder

LC08_FORMS = [
    "LC08_L2SP_005009_20150710_20200908_02_T2_MTL.txt",
    "LC08_L2SP_005009_20150710_20200908_02_T2_MTL.json",
    "LC08_L2SP_005009_20150710_20200908_02_T2_MTL.xml",
]
LT05 = "LT05_L2SP_010067_19860424_20200918_02_T2_MTL.xml"
LE07 = "LE07_L2SP_021030_20100109_20200911_02_T1_MTL.xml"
CLEAR_OLI, CLOUD_OLI, SHADOW_OLI, FILL = 21824, 22280, 23888, 1
CLEAR_TM, CLOUD_TM = 5440, 5896


def sr(dn: float) -> float:
    """USGS C2 L2 surface reflectance of a DN (the guide's formula, by hand)."""
    return dn * 0.0000275 - 0.2


def _oli_bands() -> dict[int, np.ndarray]:
    values = {1: 8000, 2: 8500, 3: 9500, 4: 9000, 5: 20000, 6: 15000, 7: 11000}
    return {n: np.full((4, 4), v, dtype=np.uint16) for n, v in values.items()}


@pytest.mark.parametrize("form", LC08_FORMS)
def test_mtl_forms_give_level2_factors_per_group(form):
    groups = read_mtl(data_file(f"landsat/{form}"))
    assert groups["LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"]["REFLECTANCE_MULT_BAND_4"] == "2.75e-05"
    assert groups["LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"]["REFLECTANCE_ADD_BAND_4"] == "-0.2"
    assert float(groups["LEVEL1_RADIOMETRIC_RESCALING"]["REFLECTANCE_MULT_BAND_4"]) == 2e-05
    assert groups["IMAGE_ATTRIBUTES"]["SENSOR_ID"] == "OLI_TIRS"


@pytest.mark.parametrize("form", LC08_FORMS)
def test_oli_scene_reflectance_uses_level2_not_toa_factors(tmp_path, form):
    """Real LC08 MTL (all three forms): red 9000 DN is 0.0475, not the Level-1 0.08."""
    qa = np.full((4, 4), CLEAR_OLI, dtype=np.uint16)
    qa[0, 0], qa[0, 1], qa[0, 2] = CLOUD_OLI, SHADOW_OLI, FILL
    folder = landsat_folder(tmp_path, form, _oli_bands(), qa)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImageryAssumptionWarning)  # nothing to assume
        scene = read_scene(folder)
    assert list(scene.data_vars) == [
        "coastal", "blue", "green", "red", "nir", "swir1", "swir2", "valid"
    ]  # fmt: skip
    assert scene.attrs["sensor"] == "landsat-8" and scene.attrs["assumptions"] == []
    assert scene.rio.crs.to_epsg() == 32624 and scene.sizes == {"y": 4, "x": 4}
    assert str(scene["time"].values)[:19] == "2015-07-10T14:34:35"
    red = scene["red"].values
    nir = scene["nir"].values
    assert red[3, 3] == pytest.approx(sr(9000), abs=1e-4) == pytest.approx(0.0475, abs=1e-4)
    assert nir[3, 3] == pytest.approx(sr(20000), abs=1e-4)
    assert scene["swir2"].values[2, 2] == pytest.approx(sr(11000), abs=1e-4)
    ndvi = geo.indices.compute(scene, ["NDVI"])["NDVI"].values
    expected = (sr(20000) - sr(9000)) / (sr(20000) + sr(9000))
    assert ndvi[3, 3] == pytest.approx(expected, abs=1e-4)
    assert expected == pytest.approx(0.7610, abs=1e-4)
    valid = scene["valid"].values
    assert not valid[0, :3].any() and valid[0, 3] and valid[1:].all()


def test_tm_scene_reads_red_from_band_3_and_nir_from_band_4(tmp_path):
    """Real Landsat 5 TM MTL: TM numbers red 3, NIR 4, SWIR1 5, SWIR2 7 (no band 6 in SR)."""
    dn = {1: 7000, 2: 8000, 3: 9000, 4: 21000, 5: 16000, 7: 12000}
    bands = {n: np.full((3, 3), v, dtype=np.uint16) for n, v in dn.items()}
    qa = np.full((3, 3), CLEAR_TM, dtype=np.uint16)
    qa[1, 1] = CLOUD_TM
    folder = landsat_folder(tmp_path, LT05, bands, qa)
    scene = read_scene(folder)
    assert scene.attrs["sensor"] == "landsat-5" and scene.attrs["sensor_bands"] == "TM"
    assert list(scene.data_vars) == ["blue", "green", "red", "nir", "swir1", "swir2", "valid"]
    assert scene.rio.crs.to_epsg() == 32617  # UTM 17 with negative northing, as USGS ships it
    assert scene["red"].values[0, 0] == pytest.approx(sr(9000), abs=1e-4)
    assert scene["nir"].values[0, 0] == pytest.approx(sr(21000), abs=1e-4)
    assert scene["swir1"].values[0, 0] == pytest.approx(sr(16000), abs=1e-4)
    assert scene["swir2"].values[0, 0] == pytest.approx(sr(12000), abs=1e-4)
    assert not scene["valid"].values[1, 1] and scene["valid"].values.sum() == 8
    ndvi = geo.indices.compute(scene, ["NDVI"])["NDVI"].values
    assert ndvi[0, 0] == pytest.approx((sr(21000) - sr(9000)) / (sr(21000) + sr(9000)), abs=1e-4)
    assert ndvi[0, 0] == pytest.approx(0.7765, abs=1e-4)  # OLI numbers on TM would give -0.2227
    assert np.isnan(ndvi[1, 1])
    with pytest.raises(ImageryError, match=r"coastal.*TM numbers"):
        read_scene(folder, ["coastal"])


def test_etm_slc_off_scan_gaps_are_masked_and_recorded(tmp_path):
    """Real Landsat 7 SLC-off MTL (2010): gap pixels are fill (DN 0, QA_PIXEL 1) and masked."""
    dn = {n: np.full((6, 6), 10000 + 500 * n, dtype=np.uint16) for n in (1, 2, 3, 4, 5, 7)}
    qa = np.full((6, 6), CLEAR_TM, dtype=np.uint16)
    gap = np.zeros((6, 6), dtype=bool)
    gap[np.arange(6), np.arange(6)] = True  # a diagonal scan-line gap
    for array in dn.values():
        array[gap] = 0
    qa[gap] = FILL
    folder = landsat_folder(tmp_path, LE07, dn, qa)
    with pytest.warns(ImageryAssumptionWarning, match="SLC-off: scan-line gaps"):
        scene = read_scene(folder)
    assert scene.attrs["slc"] == "off"
    assert any("SLC-off" in text for text in scene.attrs["assumptions"])
    np.testing.assert_array_equal(scene["valid"].values, ~gap)
    assert np.isnan(scene["red"].values[gap]).all()
    assert scene["red"].values[0, 1] == pytest.approx(sr(11500), abs=1e-4)  # ETM band 3
    ndvi = geo.indices.compute(scene, ["NDVI"])["NDVI"].values
    red, nir = sr(11500), sr(12000)  # ETM bands 3 and 4
    assert ndvi[0, 1] == pytest.approx((nir - red) / (nir + red), abs=1e-4)
    assert np.isnan(ndvi[gap]).all()


def test_level1_product_is_refused_naming_the_level(tmp_path):
    folder = landsat_folder(tmp_path, LC08_FORMS[0], _oli_bands(), None)
    mtl = next(folder.glob("*_MTL.txt"))
    text = mtl.read_text().replace('PROCESSING_LEVEL = "L2SP"', 'PROCESSING_LEVEL = "L1TP"', 1)
    mtl.write_text(text)
    with pytest.raises(ImageryError, match=r"_MTL.txt: processing level L1TP .*Level-2"):
        describe_source(folder)


def test_folder_without_mtl_reads_sensor_from_product_id_and_says_so(tmp_path):
    dn = {n: np.full((3, 3), 9000 + n, dtype=np.uint16) for n in (1, 2, 3, 4, 5, 7)}
    folder = landsat_folder(tmp_path, LT05, dn, None)
    for mtl in folder.glob("*_MTL.*"):
        mtl.unlink()
    with pytest.warns(ImageryAssumptionWarning) as caught:
        scene = read_scene(folder)
    texts = " ".join(str(w.message) for w in caught)
    assert "read as TM by the product id" in texts and "no QA_PIXEL file" in texts
    assert scene["red"].values[0, 0] == pytest.approx(sr(9003), abs=1e-4)
    assert len(scene.attrs["assumptions"]) == 2


def test_missing_level2_factor_is_an_assumption_not_a_silent_default(tmp_path):
    folder = landsat_folder(tmp_path, LC08_FORMS[0], _oli_bands(), None)
    mtl = next(folder.glob("*_MTL.txt"))
    lines = [
        line
        for line in mtl.read_text().splitlines()
        if "REFLECTANCE_MULT_BAND_4 = 2.75e-05" not in line
    ]
    mtl.write_text("\n".join(lines))
    with pytest.warns(ImageryAssumptionWarning, match="no REFLECTANCE_MULT/ADD_BAND_4"):
        scene = read_scene(folder, ["red"])
    assert scene["red"].values[0, 0] == pytest.approx(sr(9000), abs=1e-4)


def test_damaged_mtl_names_file_and_line(tmp_path):
    broken = tmp_path / "LC08_L2SP_005009_20150710_20200908_02_T2_MTL.txt"
    shutil.copyfile(data_file(f"landsat/{LC08_FORMS[0]}"), broken)
    text = broken.read_text().replace("END_GROUP = IMAGE_ATTRIBUTES", "END_GROUP = WRONG", 1)
    broken.write_text(text)
    with pytest.raises(ImageryError, match=r"_MTL.txt line \d+: END_GROUP = WRONG"):
        read_mtl(broken)
