"""Fixtures that are real products' metadata plus small rasters at the places it names.

The metadata files under ``tests/geo/data/imagery/`` are copies of files
published with real products (``SOURCES.md`` there gives repository, path and
commit of each). The builders here copy one next to a few tiny rasters
written where and as the metadata says: Landsat bands at the MTL's
``FILE_NAME_BAND_<n>`` names in its UTM zone and upper-left corner; Sentinel-2
bands at the ``IMAGE_FILE`` paths of ``MTD_MSIL2A.xml`` in the granule's
format (JPEG 2000 or GeoTIFF); STAC assets at the item's ``proj:`` CRS and
origin, with the asset's href pointed at the local file (the one edit made to
an item, besides any variant a test asks for by name).

The builders find names and places with plain regular expressions on the
metadata text, not with admon's readers, so a reader bug cannot hide itself
by also shaping its fixture.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.geo.fixtures_imagery import write_tif

DATA = Path(__file__).parent / "data" / "imagery"

S2_REFLECTANCE = {
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B11": "swir1",
    "B12": "swir2",
}
S2_RES = {"B02": 10, "B03": 10, "B04": 10, "B08": 10, "SCL": 20}


def data_file(name: str) -> Path:
    """Path of a real metadata file (``landsat/...`` or ``s2/...``)."""
    path = DATA / name
    assert path.is_file(), f"missing test data {path}"
    return path


def real_item(name: str) -> dict[str, Any]:
    """A real STAC item as a dict (a fresh copy every call)."""
    return json.loads(data_file(name).read_text(encoding="utf-8"))


# --- Landsat C2 L2 ---------------------------------------------------------------------------


def _mtl_field(text: str, key: str) -> str:
    """First value of ``key`` in an MTL of any form (ODL ``K = "v"``, XML ``<K>v</K>``, JSON)."""
    match = re.search(rf'\b{key}\b"?\s*[=:>]\s*"?([^"<\s,]+)', text)
    assert match, f"{key} not in MTL"
    return match.group(1)


def landsat_folder(
    root: Path, mtl_name: str, sr_dn: dict[int, np.ndarray], qa: np.ndarray | None
) -> Path:
    """A C2 L2 scene folder around a real MTL: SR bands and QA_PIXEL where the MTL says.

    Parameters
    ----------
    root : Path
        Where the ``<product id>/`` folder is created.
    mtl_name : str
        A file under ``data/imagery/landsat/`` (``.txt``, ``.json`` or ``.xml``), copied verbatim.
    sr_dn : dict of int to array
        uint16 DN per band *number as the sensor numbers it* (TM red is 3, OLI red is 4).
    qa : array or None
        QA_PIXEL values (uint16); ``None`` writes no QA file.
    """
    source = data_file(f"landsat/{mtl_name}")
    text = source.read_text(encoding="utf-8")
    product = _mtl_field(text, "LANDSAT_PRODUCT_ID")
    folder = root / product
    folder.mkdir(parents=True)
    shutil.copyfile(source, folder / source.name)
    crs = f"EPSG:326{int(_mtl_field(text, 'UTM_ZONE')):02d}"  # USGS: north zones, even south
    left = float(_mtl_field(text, "CORNER_UL_PROJECTION_X_PRODUCT"))
    top = float(_mtl_field(text, "CORNER_UL_PROJECTION_Y_PRODUCT"))
    for number, dn in sr_dn.items():
        name = _mtl_field(text, f"FILE_NAME_BAND_{number}")
        assert "_SR_B" in name, name
        write_tif(folder / name, dn, res=30, left=left, top=top, crs=crs)
    if qa is not None:
        name = _mtl_field(text, "FILE_NAME_QUALITY_L1_PIXEL")
        write_tif(folder / name, qa, res=30, left=left, top=top, crs=crs, nodata=1)
    return folder


# --- Sentinel-2 L2A SAFE ---------------------------------------------------------------------


def _tile_crs(tile: str) -> str:
    """EPSG code of an MGRS tile id like ``33XWJ`` (latitude band N-X is north)."""
    zone, band = int(tile[:2]), tile[2].upper()
    return f"EPSG:{(32600 if band >= 'N' else 32700) + zone}"


def safe_product(
    root: Path, mtd_name: str, dn: dict[str, np.ndarray], scl: np.ndarray | None
) -> Path:
    """A SAFE product around a real ``MTD_MSIL2A.xml``: bands at its IMAGE_FILE paths.

    Only the finest IMAGE_FILE entry of each band given is written (10 m bands
    from 10 m arrays, 20 m from 20 m), in the granule's ``imageFormat``.

    Parameters
    ----------
    mtd_name : str
        A file under ``data/imagery/s2/``, copied verbatim as ``MTD_MSIL2A.xml``.
    dn : dict of band id to array
        uint16 DN (``"B04"``: 10 m array, ``"B8A"``: 20 m array...).
    scl : array or None
        20 m scene classification (uint8).
    """
    source = data_file(f"s2/{mtd_name}")
    text = source.read_text(encoding="utf-8")
    product = re.search(r"<PRODUCT_URI>([^<]+)</PRODUCT_URI>", text).group(1)
    image_format = re.search(r'imageFormat="(\w+)"', text).group(1)
    folder = root / product
    folder.mkdir(parents=True)
    shutil.copyfile(source, folder / "MTD_MSIL2A.xml")
    entries = re.findall(r"<IMAGE_FILE>([^<]+)</IMAGE_FILE>", text)
    tile = re.search(r"_T(\d{2}[A-Z]{3})_", product).group(1)
    wanted = {**dn, **({"SCL": scl} if scl is not None else {})}
    for band, array in wanted.items():
        listed = [e for e in entries if re.search(rf"_{band}_(\d+)m$", e)]
        entry = min(listed, key=lambda e: int(re.search(r"_(\d+)m$", e).group(1)))
        res = int(re.search(r"_(\d+)m$", entry).group(1))
        if image_format == "JPEG2000":
            write_tif(
                folder / f"{entry}.jp2",
                array,
                res=res,
                crs=_tile_crs(tile),
                driver="JP2OpenJPEG",
                nodata=None,
            )
        else:
            write_tif(folder / f"{entry}.tif", array, res=res, crs=_tile_crs(tile))
    return folder


def aws_tile_folder(root: Path, dn: dict[str, np.ndarray], scl: np.ndarray) -> Path:
    """The AWS ``sentinel-s2-l2a`` tile layout: ``R10m/B04.jp2``, ``R20m/SCL.jp2``, tileInfo.json.

    The tileInfo.json is the real one of tile 60CWS, 2024-01-09 (baseline 05.10
    in its datastrip id); the tile's MTD_TL ``metadata.xml`` is not copied
    (it declares no BOA offset, and the real one is 600 kB).
    """
    info_path = data_file("s2/aws_tileInfo_S2A_T60CWS_20240109.json")
    info = json.loads(info_path.read_text(encoding="utf-8"))
    folder = root / "tiles_60_C_WS_2024_1_9_2"
    folder.mkdir(parents=True)
    shutil.copyfile(info_path, folder / "tileInfo.json")
    left, top = info["tileOrigin"]["coordinates"]
    crs = "EPSG:" + info["tileOrigin"]["crs"]["properties"]["name"].rsplit(":", 1)[-1]
    for band, array in {**dn, "SCL": scl}.items():
        res = S2_RES.get(band, 20)
        write_tif(
            folder / f"R{res}m" / f"{band}.jp2",
            array,
            res=res,
            left=left,
            top=top,
            crs=crs,
            driver="JP2OpenJPEG",
            nodata=None,
        )
    return folder


# --- STAC items ------------------------------------------------------------------------------


def _asset_crs(item: dict, asset: dict) -> str:
    code = asset.get("proj:code") or item["properties"].get("proj:code")
    epsg = asset.get("proj:epsg") or item["properties"].get("proj:epsg")
    if code:
        return code
    if epsg:
        return f"EPSG:{epsg}"
    lon = (item["bbox"][0] + item["bbox"][2]) / 2
    lat = (item["bbox"][1] + item["bbox"][3]) / 2
    return f"EPSG:{(32600 if lat >= 0 else 32700) + int((lon + 180) // 6) % 60 + 1}"


def stac_scene(
    root: Path,
    item: dict[str, Any] | str,
    dn: dict[str, np.ndarray],
    *,
    res: dict[str, float] | None = None,
    origin: tuple[float, float] | None = None,
    edit: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """A real STAC item with the assets in ``dn`` written locally; returns the item path.

    Parameters
    ----------
    item : dict or str
        The item, or the name of a file under ``data/imagery/``.
    dn : dict of asset key to array
        The raster of each asset to write (others keep their real remote hrefs).
    res : dict of asset key to float, optional
        Pixel size; by default the asset's ``proj:transform``, ``gsd`` or
        ``raster:bands`` spatial resolution.
    origin : (left, top), optional
        Upper-left corner; by default the asset's ``proj:transform`` origin.
    edit : callable, optional
        A named variant of the real item (e.g. a flag flipped), applied first.
    """
    document = copy.deepcopy(real_item(item) if isinstance(item, str) else item)
    if edit is not None:
        edit(document)
    folder = root / str(document["id"])
    folder.mkdir(parents=True)
    for key, array in dn.items():
        asset = document["assets"][key]
        transform = asset.get("proj:transform") or document["properties"].get("proj:transform")
        size = (res or {}).get(key)
        if size is None:
            raster = (asset.get("raster:bands") or [{}])[0]
            size = (
                (transform[0] if transform else None)
                or asset.get("gsd")
                or raster.get("spatial_resolution")
                or 30.0
            )
        left, top = origin or ((transform[2], transform[5]) if transform else (500000.0, 0.0))
        original = asset["href"].split("?")[0].rsplit("/", 1)[-1]
        jp2 = original.lower().endswith(".jp2")
        path = folder / (original if original.lower().endswith((".tif", ".jp2")) else f"{key}.tif")
        write_tif(
            path,
            array,
            res=float(size),
            left=left,
            top=top,
            crs=_asset_crs(document, asset),
            driver="JP2OpenJPEG" if jp2 else "GTiff",
            nodata=None if jp2 else 0,
        )
        asset["href"] = str(path)
    item_path = folder / f"{document['id']}.json"
    item_path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return item_path
