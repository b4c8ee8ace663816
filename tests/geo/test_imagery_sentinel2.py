"""Sentinel-2 L2A products read from real ``MTD_MSIL2A.xml`` files and the AWS tile layout.

Expected reflectance follows ESA's L2A product specification by hand:
reflectance = (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE, with
BOA_ADD_OFFSET = -1000 declared per band from processing baseline 04.00 on
and absent (0) before; SCL classes 0, 1, 3, 8, 9, 10 are masked.
"""

from __future__ import annotations

import numpy as np
import pytest

import geo.indices
from core.errors import ImageryError
from geo.imagery import ImageryAssumptionWarning, read_scene
from geo.readers.sentinel2 import read_mtd
from tests.geo.real_products import aws_tile_folder, data_file, safe_product

BASELINES = {  # file -> (baseline, declared offset)
    "MTD_MSIL2A_N0212_T07HFE.xml": ("02.12", 0),
    "MTD_MSIL2A_N0214_T22HBD.xml": ("02.14", 0),
    "MTD_MSIL2A_N0400_T33XWJ.xml": ("04.00", -1000),
    "MTD_MSIL2A_N0509_T01KAB.xml": ("05.09", -1000),
}
CLOUDY = (8, 9, 10, 3, 0)  # medium, high cloud, cirrus, shadow, no data


def _bands() -> dict[str, np.ndarray]:
    ten = {"B02": 1800, "B03": 2100, "B04": 1500, "B08": 5200}
    twenty = {"B05": 2600, "B06": 4000, "B07": 4600, "B8A": 5500, "B11": 3900, "B12": 2700}
    arrays = {b: np.full((6, 6), v, dtype=np.uint16) for b, v in ten.items()}
    arrays |= {b: np.full((3, 3), v, dtype=np.uint16) for b, v in twenty.items()}
    arrays["B04"][0, 0] = 1234
    return arrays


def _scl() -> np.ndarray:
    scl = np.full((3, 3), 4, dtype=np.uint8)
    scl[2, :] = (8, 9, 10)
    scl[1, 2] = 3
    return scl


@pytest.mark.parametrize("mtd", sorted(BASELINES))
def test_mtd_declares_baseline_and_offsets(mtd):
    meta = read_mtd(data_file(f"s2/{mtd}"))
    baseline, offset = BASELINES[mtd]
    assert meta.baseline == baseline and meta.quantification == 10000
    assert meta.offsets == ({} if offset == 0 else {b: -1000.0 for b in meta.offsets})
    assert len(meta.offsets) in (0, 13)
    assert meta.image_format in ("GeoTIFF", "JPEG2000") and len(meta.image_files) >= 35


@pytest.mark.parametrize("mtd", sorted(BASELINES))
def test_safe_product_reflectance_offset_and_scl_mask(tmp_path, mtd):
    """Real MTD_MSIL2A.xml of each baseline; bands at its IMAGE_FILE paths (jp2 or tif)."""
    baseline, offset = BASELINES[mtd]
    folder = safe_product(tmp_path, mtd, _bands(), _scl())
    scene = read_scene(folder)
    assert scene.attrs["processing_baseline"] == baseline
    assert scene.attrs["boa_add_offset_dn"] == float(offset)
    assert scene.attrs["assumptions"] == []
    assert list(scene.data_vars) == [
        "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08",
        "swir1", "swir2", "valid",
    ]  # fmt: skip

    def reflectance(dn):
        return (dn + offset) / 10000

    assert scene["red"].values[0, 0] == pytest.approx(reflectance(1234), abs=1e-4)
    assert scene["red"].values[1, 1] == pytest.approx(reflectance(1500), abs=1e-4)
    assert scene["nir08"].values[1, 1] == pytest.approx(reflectance(5500), abs=1e-4)
    assert scene["rededge1"].values[0, 3] == pytest.approx(reflectance(2600), abs=1e-4)
    ndre = geo.indices.compute(scene, ["NDRE"])["NDRE"].values[0, 1]
    expected = (reflectance(5200) - reflectance(2600)) / (reflectance(5200) + reflectance(2600))
    assert ndre == pytest.approx(expected, abs=1e-4)
    valid = scene["valid"].values  # 20 m SCL on the 10 m grid: each class covers 2 x 2 pixels
    assert not valid[4:, :].any() and not valid[2:4, 4:].any()
    assert valid[:2, :].all() and valid[2:4, :4].all()


def test_aws_tile_folder_takes_baseline_from_tileinfo_and_records_the_offset(tmp_path):
    """AWS ``R10m/B04.jp2`` tile with its real tileInfo.json (datastrip ``..._N05.10``)."""
    bands = {"B04": np.full((6, 6), 2000, np.uint16), "B08": np.full((6, 6), 4000, np.uint16)}
    scl = np.full((3, 3), 4, np.uint8)
    scl[2, 2] = 8  # cloud (medium probability): the 20 m pixel covers 2 x 2 at 10 m
    folder = aws_tile_folder(tmp_path, bands, scl)
    with pytest.warns(ImageryAssumptionWarning, match="-1000 assumed for baseline 05.10"):
        scene = read_scene(folder)
    assert scene.attrs["processing_baseline"] == "05.10"
    assert str(scene["time"].values)[:19] == "2024-01-09T18:47:54"
    assert scene.rio.crs.to_epsg() == 32760
    assert scene["red"].values[0, 0] == pytest.approx((2000 - 1000) / 10000, abs=1e-4)
    assert scene.attrs["assumptions"] and "MTD_MSIL2A.xml" in scene.attrs["assumptions"][0]
    valid = scene["valid"].values
    assert not valid[4:, 4:].any() and valid.sum() == 32
    ndvi = geo.indices.compute(scene, ["NDVI"])["NDVI"].values
    assert ndvi[0, 0] == pytest.approx((0.3 - 0.1) / (0.3 + 0.1), abs=1e-4)  # offset applied
    assert np.isnan(ndvi[5, 5])


def test_mtd_without_offsets_at_baseline_4_is_an_assumption(tmp_path):
    folder = safe_product(tmp_path, "MTD_MSIL2A_N0400_T33XWJ.xml", _bands(), _scl())
    mtd = folder / "MTD_MSIL2A.xml"
    text = mtd.read_text()
    start, end = (
        text.index("<BOA_ADD_OFFSET_VALUES_LIST>"),
        text.index("</BOA_ADD_OFFSET_VALUES_LIST>"),
    )
    mtd.write_text(text[:start] + text[end + len("</BOA_ADD_OFFSET_VALUES_LIST>") :])
    with pytest.warns(ImageryAssumptionWarning, match="lists no BOA_ADD_OFFSET"):
        scene = read_scene(folder, ["red"])
    assert scene["red"].values[1, 1] == pytest.approx(0.05, abs=1e-4)


def test_damaged_offset_names_the_element(tmp_path):
    folder = safe_product(tmp_path, "MTD_MSIL2A_N0509_T01KAB.xml", _bands(), _scl())
    mtd = folder / "MTD_MSIL2A.xml"
    mtd.write_text(mtd.read_text().replace('band_id="3">-1000<', 'band_id="3">minus<', 1))
    with pytest.raises(ImageryError, match=r"MTD_MSIL2A.xml: BOA_ADD_OFFSET band_id=3 = 'minus'"):
        read_scene(folder)
