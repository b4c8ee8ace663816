"""STAC items: band identity from ``eo:bands``, scaling from ``raster:bands``.

Works for a local item JSON file, a :class:`pystac.Item` (e.g. returned by
:func:`search_scenes`) and assets whose hrefs are URLs (GDAL reads those
through ``/vsicurl/``). ``raster:bands`` ``scale``, ``offset`` and ``nodata``
are honoured exactly. An asset keyed ``scl`` (Sentinel-2) or ``qa_pixel``
(Landsat C2) is used as the mask.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pystac

from core.errors import ImageryError
from geo.readers.base import BandFile, MaskFile, SceneSpec

__all__ = ["stac_spec", "load_item", "search_scenes"]

logger = logging.getLogger(__name__)

_COMMON_NAME = {
    "coastal": "coastal",
    "blue": "blue",
    "green": "green",
    "red": "red",
    "nir": "nir",
    "nir08": "nir08",
    "nir09": "nir09",
    "swir16": "swir1",
    "swir1": "swir1",
    "swir22": "swir2",
    "swir2": "swir2",
}
# eo:bands gives all three Sentinel-2 red-edge bands the common name "rededge";
# they are told apart by centre wavelength (µm).
_REDEDGE_BY_WAVELENGTH = ((0.72, "rededge1"), (0.76, "rededge2"), (0.80, "rededge3"))
_MASK_KEYS = {"scl": "scl", "qa_pixel": "qa_pixel", "qa": "qa_pixel"}


def load_item(source: str | Path | pystac.Item) -> pystac.Item:
    """Read a STAC item from a file (or pass an Item through)."""
    if isinstance(source, pystac.Item):
        return source
    try:
        return pystac.Item.from_file(str(source))
    except Exception as exc:  # pystac raises many kinds (JSON, KeyError, STACTypeError...)
        raise ImageryError(
            f"{source}: not a readable STAC item ({type(exc).__name__}: {exc}); "
            "check that the file is a complete STAC Item JSON"
        ) from exc


def _asset_band_name(key: str, asset: pystac.Asset) -> str | None:
    fields = asset.extra_fields
    eo = fields.get("eo:bands") or fields.get("bands") or []
    common = None
    wavelength = None
    if eo:
        common = eo[0].get("common_name") or eo[0].get("eo:common_name")
        wavelength = eo[0].get("center_wavelength") or eo[0].get("eo:center_wavelength")
    if common == "rededge":
        match = key.lower() if key.lower().startswith("rededge") else None
        if match in ("rededge1", "rededge2", "rededge3"):
            return match
        if wavelength is not None:
            return next(name for edge, name in _REDEDGE_BY_WAVELENGTH if wavelength < edge)
        return None
    if common is not None:
        return _COMMON_NAME.get(common)
    return None


def _raster_scaling(asset: pystac.Asset) -> tuple[float, float, float | None, bool]:
    fields = asset.extra_fields
    raster = fields.get("raster:bands")
    if raster:
        first = raster[0]
        return (
            float(first.get("scale", 1.0)),
            float(first.get("offset", 0.0)),
            first.get("nodata"),
            "scale" in first or "offset" in first,
        )
    bands = fields.get("bands") or []
    if bands and any(k.startswith("raster:") for k in bands[0]):  # STAC 1.1
        first = bands[0]
        return (
            float(first.get("raster:scale", 1.0)),
            float(first.get("raster:offset", 0.0)),
            first.get("nodata"),
            "raster:scale" in first or "raster:offset" in first,
        )
    return 1.0, 0.0, fields.get("nodata"), False


def _sensor_default_scaling(item: pystac.Item) -> tuple[float, float, str]:
    """Published scaling of the sensor when the item does not declare one."""
    props = item.properties
    platform = str(props.get("platform") or props.get("constellation") or "").lower()
    if platform.startswith("sentinel-2"):
        baseline = str(props.get("s2:processing_baseline") or "0")
        offset_applied = bool(props.get("earthsearch:boa_offset_applied", False))
        major = int(baseline.split(".")[0]) if baseline.split(".")[0].isdigit() else 0
        offset = -0.1 if major >= 4 and not offset_applied else 0.0
        return 1e-4, offset, f"using Sentinel-2 L2A DN / 10000 {offset:+g} (baseline {baseline})"
    if platform.startswith("landsat"):
        return 2.75e-5, -0.2, "using Landsat C2 L2 DN x 0.0000275 - 0.2"
    return 1.0, 0.0, "values are returned as stored (unknown platform)"


def _item_time(item: pystac.Item) -> np.datetime64 | None:
    when = item.datetime or item.common_metadata.start_datetime
    if when is None:
        return None
    return np.datetime64(when.replace(tzinfo=None), "ns")


def stac_spec(source: str | Path | pystac.Item, bands: list[str] | None = None) -> SceneSpec:
    """Describe a STAC item as a :class:`SceneSpec`.

    Raises
    ------
    ImageryError
        The item cannot be read, or a requested band has no asset.
    """
    item = load_item(source)
    label = str(source) if not isinstance(source, pystac.Item) else f"STAC item {item.id}"
    by_name: dict[str, tuple[str, pystac.Asset]] = {}
    mask = None
    for key, asset in item.assets.items():
        if key.lower() in _MASK_KEYS:
            mask = MaskFile(asset.get_absolute_href() or asset.href, _MASK_KEYS[key.lower()])
            continue
        name = _asset_band_name(key, asset)
        if name is not None and name not in by_name:
            by_name[name] = (key, asset)
    # Landsat's NIR (band 5) is "nir08" in STAC; admon's indices want "nir".
    if "nir" not in by_name and "nir08" in by_name:
        by_name["nir"] = by_name.pop("nir08")
    by_name.pop("nir09", None)
    wanted = bands if bands is not None else list(by_name)
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise ImageryError(
            f"{label}: band(s) {missing} have no asset (assets with eo:bands common names: "
            f"{sorted(by_name)}); pick bands the item has"
        )
    band_files = []
    for name in wanted:
        key, asset = by_name[name]
        scale, offset, nodata, declared = _raster_scaling(asset)
        if not declared:
            scale, offset, how = _sensor_default_scaling(item)
            warnings.warn(
                f"{label}: asset {key!r} has no raster:bands scale/offset; {how}", stacklevel=3
            )
        href = asset.get_absolute_href() or asset.href
        band_files.append(BandFile(name, href, 1, scale, offset, nodata))
    sensor = str(item.properties.get("platform") or item.properties.get("constellation") or "stac")
    attrs = {"stac_id": item.id}
    if "eo:cloud_cover" in item.properties:
        attrs["eo:cloud_cover"] = float(item.properties["eo:cloud_cover"])
    return SceneSpec(label, sensor, _item_time(item), tuple(band_files), mask, attrs)


def search_scenes(
    catalog: str | Path,
    bbox: Sequence[float],
    start: str,
    end: str,
    *,
    max_cloud_cover: float | None = None,
    collections: Sequence[str] | None = None,
    limit: int = 500,
) -> list[pystac.Item]:
    """Find scenes over an area and season in a STAC API or a static STAC catalogue.

    A STAC API (one that conforms to *item-search*) is queried with
    pystac-client; a static catalogue (a ``catalog.json`` on disk or at a URL)
    is walked and filtered the same way, so offline runs and tests use the
    same call.

    Parameters
    ----------
    catalog : str or Path
        STAC API root URL, or path/URL of a static ``catalog.json``.
    bbox : sequence of float
        ``(west, south, east, north)`` in degrees (WGS 84).
    start, end : str
        Season dates, ISO 8601 (``"2024-10-01"``); both inclusive.
    max_cloud_cover : float, optional
        Keep items with ``eo:cloud_cover`` at most this (percent).
    collections : sequence of str, optional
        Restrict to these collection ids.
    limit : int, default 500
        Most items returned.

    Returns
    -------
    list of pystac.Item
        Sorted by acquisition time; pass each to ``geo.imagery.read_scene``.
    """
    from pystac_client import Client
    from pystac_client.conformance import ConformanceClasses

    with warnings.catch_warnings():
        # a static catalogue advertises no conformance classes: expected, not news
        warnings.simplefilter("ignore")
        try:
            client = Client.open(str(catalog))
        except Exception as exc:
            raise ImageryError(f"{catalog}: cannot open STAC catalogue or API ({exc})") from exc
        api = client.conforms_to(ConformanceClasses.ITEM_SEARCH)
    lo = np.datetime64(start, "ns")
    hi = np.datetime64(end, "D") + np.timedelta64(1, "D")
    if api:
        query = (
            {"eo:cloud_cover": {"lte": max_cloud_cover}} if max_cloud_cover is not None else None
        )
        search = client.search(
            bbox=list(bbox),
            datetime=f"{start}/{end}",
            collections=list(collections) if collections else None,
            query=query,
            max_items=limit,
        )
        items = list(search.items())
    else:
        logger.info("%s is a static catalogue; filtering its items locally", catalog)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pystac-client's "falling back to pystac"
            items = [
                item
                for item in client.get_items(recursive=True)
                if _matches(item, bbox, lo, hi, max_cloud_cover, collections)
            ]
    items.sort(key=lambda it: _item_time(it) or np.datetime64("NaT"))
    return items[:limit]


def _matches(
    item: pystac.Item,
    bbox: Sequence[float],
    lo: np.datetime64,
    hi: np.datetime64,
    max_cloud_cover: float | None,
    collections: Sequence[str] | None,
) -> bool:
    if collections and item.collection_id not in collections:
        return False
    when = _item_time(item)
    if when is None or not (lo <= when < hi):
        return False
    if item.bbox is not None:
        box = item.bbox
        west, south, east, north = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
        if west > bbox[2] or east < bbox[0] or south > bbox[3] or north < bbox[1]:
            return False
    cloud = item.properties.get("eo:cloud_cover")
    return not (max_cloud_cover is not None and cloud is not None and cloud > max_cloud_cover)
