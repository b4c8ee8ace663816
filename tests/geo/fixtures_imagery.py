"""Real-format imagery fixtures, tiny and hand-checkable.

Each builder writes files the way the real product looks: a Sentinel-2 L2A
folder (``<id>_B04_10m.tif`` ... ``_SCL_20m.tif``, ``MTD_MSIL2A.xml`` in ESA's
element layout, and the demo generator's STAC item), a SAFE product with JP2
bands, a Landsat 8/9 C2 L2 scene (``*_SR_B<n>.TIF``, ``*_QA_PIXEL.TIF``,
``*_MTL.txt``), and drone orthomosaics (RGBA uint8, 5-band uint16). Pixel
values are chosen so tests can compute the expected reflectance by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp

CRS = "EPSG:32647"
LEFT, TOP = 600000.0, 2200000.0
S2_IDS = {
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "rededge1": "B05",
    "rededge2": "B06",
    "rededge3": "B07",
    "nir": "B08",
    "nir08": "B8A",
    "swir1": "B11",
    "swir2": "B12",
}
S2_STAC_KEYS = {
    "blue": ("blue", 0.49),
    "green": ("green", 0.56),
    "red": ("red", 0.665),
    "rededge1": ("rededge1", 0.704),
    "rededge2": ("rededge2", 0.740),
    "rededge3": ("rededge3", 0.783),
    "nir": ("nir", 0.842),
    "nir08": ("nir08", 0.865),
    "swir1": ("swir16", 1.61),
    "swir2": ("swir22", 2.19),
}


def write_tif(
    path: Path,
    data: np.ndarray,
    *,
    res: float = 10.0,
    left: float = LEFT,
    top: float = TOP,
    crs: str = CRS,
    nodata: float | None = 0,
    driver: str = "GTiff",
    colorinterp: list[ColorInterp] | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write a (bands, rows, cols) or (rows, cols) array as a georeferenced raster."""
    path.parent.mkdir(parents=True, exist_ok=True)
    array = data if data.ndim == 3 else data[None]
    profile = {
        "driver": driver,
        "width": array.shape[2],
        "height": array.shape[1],
        "count": array.shape[0],
        "dtype": array.dtype.name,
        "crs": crs,
        "transform": Affine(res, 0, left, 0, -res, top),
    }
    if nodata is not None:
        profile["nodata"] = nodata
    if driver == "GTiff":
        profile.update(tiled=False, compress="deflate")
    elif driver == "JP2OpenJPEG":  # ESA's L2A JP2s are lossless
        profile.update(QUALITY=100, REVERSIBLE="YES")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array)
        if colorinterp is not None:
            dst.colorinterp = colorinterp
        if tags:
            dst.update_tags(**tags)
    return path


MTD_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>{start}</PRODUCT_START_TIME>
      <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>
      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>
        <SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <QUANTIFICATION_VALUES_LIST>
        <BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>
        <AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>
        <WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>
      </QUANTIFICATION_VALUES_LIST>
{offsets}
    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:Level-2A_User_Product>
"""


def mtd_xml(start: str, baseline: str = "05.10", offset: int | None = -1000) -> str:
    """``MTD_MSIL2A.xml`` text; ``offset=None`` leaves out BOA_ADD_OFFSET_VALUES_LIST."""
    offsets = ""
    if offset is not None:
        lines = "\n".join(
            f'        <BOA_ADD_OFFSET band_id="{k}">{offset}</BOA_ADD_OFFSET>' for k in range(13)
        )
        offsets = (
            f"      <BOA_ADD_OFFSET_VALUES_LIST>\n{lines}\n      </BOA_ADD_OFFSET_VALUES_LIST>"
        )
    return MTD_TEMPLATE.format(start=start, baseline=baseline, offsets=offsets)


def s2_arrays(shape10: tuple[int, int] = (8, 8), seed: int = 0) -> dict[str, np.ndarray]:
    """DN per band (10 m shape for 10 m bands, half for 20 m) plus ``scl`` at 20 m."""
    rng = np.random.default_rng(seed)
    h, w = shape10
    arrays = {}
    for name in ("blue", "green", "red", "nir"):
        arrays[name] = rng.integers(1100, 6000, size=(h, w), dtype=np.uint16)
    for name in ("swir1", "swir2"):
        arrays[name] = rng.integers(1100, 6000, size=(h // 2, w // 2), dtype=np.uint16)
    scl = np.full((h // 2, w // 2), 4, dtype=np.uint8)
    return {**arrays, "scl": scl}


def write_s2_folder(
    root: Path,
    scene_id: str,
    arrays: dict[str, np.ndarray],
    *,
    start: str = "2025-01-12T04:05:19.024Z",
    baseline: str = "05.10",
    offset: int | None = -1000,
    with_mtd: bool = True,
    with_stac: bool = True,
    left: float = LEFT,
    top: float = TOP,
) -> Path:
    """The demo generator's layout: ``<root>/<scene_id>/<scene_id>_B04_10m.tif`` etc."""
    folder = root / scene_id
    for name, band_id in S2_IDS.items():
        if name not in arrays:
            continue
        res = 10 if band_id in ("B02", "B03", "B04", "B08") else 20
        write_tif(
            folder / f"{scene_id}_{band_id}_{res}m.tif", arrays[name], res=res, left=left, top=top
        )
    write_tif(folder / f"{scene_id}_SCL_20m.tif", arrays["scl"], res=20, left=left, top=top)
    if with_mtd:
        (folder / "MTD_MSIL2A.xml").write_text(mtd_xml(start, baseline, offset), encoding="utf-8")
    if with_stac:
        write_s2_stac_item(folder, scene_id, arrays, start=start, left=left, top=top)
    return folder


def write_s2_stac_item(
    folder: Path,
    scene_id: str,
    arrays: dict[str, np.ndarray],
    *,
    start: str,
    left: float = LEFT,
    top: float = TOP,
    scale: float = 0.0001,
    offset: float = -0.1,
    cloud_cover: float = 5.0,
) -> Path:
    """STAC item as the demo generator writes it (eo + raster extensions, relative hrefs)."""
    h, w = arrays["blue"].shape
    assets = {}
    for name, band_id in S2_IDS.items():
        if name not in arrays:
            continue
        key, wavelength = S2_STAC_KEYS[name]
        res = 10 if band_id in ("B02", "B03", "B04", "B08") else 20
        assets[key] = {
            "href": f"./{scene_id}_{band_id}_{res}m.tif",
            "type": "image/tiff; application=geotiff",
            "roles": ["data", "reflectance"],
            "eo:bands": [{"name": band_id, "common_name": key, "center_wavelength": wavelength}],
            "raster:bands": [
                {
                    "data_type": "uint16",
                    "nodata": 0,
                    "scale": scale,
                    "offset": offset,
                    "spatial_resolution": res,
                }
            ],
        }
    assets["scl"] = {
        "href": f"./{scene_id}_SCL_20m.tif",
        "type": "image/tiff; application=geotiff",
        "roles": ["data"],
        "raster:bands": [{"data_type": "uint8", "nodata": 0, "spatial_resolution": 20}],
    }
    from rasterio.warp import transform_bounds

    right, bottom = left + w * 10, top - h * 10
    west, south, east, north = transform_bounds(CRS, "EPSG:4326", left, bottom, right, top)
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        ],
        "id": scene_id,
        "bbox": [west, south, east, north],
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[west, south], [east, south], [east, north], [west, north], [west, south]]
            ],
        },
        "properties": {
            "datetime": start,
            "platform": "sentinel-2b",
            "eo:cloud_cover": cloud_cover,
            "s2:processing_baseline": "05.10",
            "proj:epsg": 32647,
        },
        "links": [],
        "assets": assets,
    }
    path = folder / f"{scene_id}.json"
    path.write_text(json.dumps(item, indent=2), encoding="utf-8")
    return path


MTL_TEMPLATE = """GROUP = LANDSAT_METADATA_FILE
  GROUP = PRODUCT_CONTENTS
    LANDSAT_PRODUCT_ID = "{pid}"
    PROCESSING_LEVEL = "L2SP"
  END_GROUP = PRODUCT_CONTENTS
  GROUP = IMAGE_ATTRIBUTES
    SPACECRAFT_ID = "LANDSAT_9"
    SENSOR_ID = "OLI_TIRS"
    DATE_ACQUIRED = {date}
    SCENE_CENTER_TIME = "03:52:41.2795260Z"
    CLOUD_COVER = 12.34
  END_GROUP = IMAGE_ATTRIBUTES
  GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
{params}
  END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
END_GROUP = LANDSAT_METADATA_FILE
END
"""


def write_landsat_scene(
    root: Path,
    sr: dict[int, np.ndarray],
    qa: np.ndarray,
    *,
    date: str = "2025-01-20",
    left: float = LEFT,
    top: float = TOP,
) -> Path:
    """A Landsat 9 C2 L2 scene folder: SR bands (uint16, fill 0), QA_PIXEL, MTL."""
    pid = f"LC09_L2SP_131046_{date.replace('-', '')}_20250122_02_T1"
    folder = root / pid
    for number, array in sr.items():
        write_tif(folder / f"{pid}_SR_B{number}.TIF", array, res=30, left=left, top=top)
    write_tif(folder / f"{pid}_QA_PIXEL.TIF", qa, res=30, left=left, top=top, nodata=1)
    params = "\n".join(
        f"    REFLECTANCE_MULT_BAND_{n} = 2.75E-05\n    REFLECTANCE_ADD_BAND_{n} = -0.200000"
        for n in range(1, 8)
    )
    (folder / f"{pid}_MTL.txt").write_text(
        MTL_TEMPLATE.format(pid=pid, date=date, params=params), encoding="utf-8"
    )
    return folder


def write_drone_rgba(path: Path, rgb: np.ndarray, alpha: np.ndarray, *, res: float = 0.1) -> Path:
    """8-bit RGBA orthomosaic (alpha 0 outside the flown area), as WebODM/Metashape export."""
    data = np.concatenate([rgb.astype(np.uint8), alpha[None].astype(np.uint8)])
    interp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
    return write_tif(
        path,
        data,
        res=res,
        nodata=None,
        colorinterp=interp,
        tags={"TIFFTAG_DATETIME": "2025:01:15 10:30:00"},
    )


def write_drone_ms5(path: Path, bands: np.ndarray, *, res: float = 0.1) -> Path:
    """5-band uint16 multispectral orthomosaic (blue, green, red, rededge, nir), nodata 0."""
    interp = [ColorInterp.gray] + [ColorInterp.undefined] * 4
    return write_tif(path, bands.astype(np.uint16), res=res, nodata=0, colorinterp=interp)
