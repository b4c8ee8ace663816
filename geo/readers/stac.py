"""STAC items from any catalogue admon knows: one adapter, product-family rules behind it.

Reads a local item JSON file, an item dict or a :class:`pystac.Item` (e.g. from
:func:`search_scenes`); asset hrefs may be URLs (GDAL reads them through
``/vsicurl/``). Works for STAC 1.0 items (``eo:bands``, ``raster:bands``),
STAC 1.1 items (``bands``, asset-level ``raster:scale``/``raster:offset``) and
the 0.7.0 / 1.0.0-beta items of older USGS and Earth Search v0 catalogues
(integer ``eo:bands`` indices, or no ``eo:bands`` at all). Asset fields are
read by :mod:`geo.readers.stac_assets`; which band is which and how it scales
is decided by :mod:`geo.readers.stac_rules` for the item's product family
(Sentinel-2 L2A, Landsat C2 L2, other).
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pystac

from core.errors import ImageryError
from geo.readers.spec import COMMON_BANDS, BandFile, MaskFile, SceneSpec, assume
from geo.readers.stac_assets import AssetBand, asset_band
from geo.readers.stac_rules import (
    band_name,
    item_family,
    landsat_sensor_of,
    mask_kind,
    s2_baseline,
    scaling,
)

__all__ = ["StacItemReader", "stac_spec", "load_item", "search_scenes"]

logger = logging.getLogger(__name__)


def load_item(source: str | Path | dict | pystac.Item) -> pystac.Item:
    """Read a STAC item from a file or dict (or pass an Item through).

    Raises
    ------
    ImageryError
        The file is not JSON, holds several items, or is not a STAC Item.
    """
    if isinstance(source, pystac.Item):
        return source
    href = None
    if isinstance(source, dict):
        document: Any = source
    else:
        href = str(Path(source).absolute())
        try:
            document = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImageryError(
                f"{source}: not a readable STAC item (not valid JSON: {exc})"
            ) from exc
    if isinstance(document, list) or (
        isinstance(document, dict) and document.get("type") == "FeatureCollection"
    ):
        count = len(document if isinstance(document, list) else document.get("features") or [])
        raise ImageryError(
            f"{source}: holds {count} items (a search result), not one STAC Item; save each "
            "item in its own file, or pass the pystac Items themselves"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pystac's notes on migrating old STAC versions
            return pystac.Item.from_dict(document, href=href, migrate=True, preserve_dict=True)
    except Exception as exc:  # pystac raises many kinds (KeyError, STACTypeError, ValueError...)
        raise ImageryError(
            f"{source}: not a readable STAC item ({type(exc).__name__}: {exc}); "
            "check that the file is a complete STAC Item JSON"
        ) from exc


def _item_time(item: pystac.Item) -> np.datetime64 | None:
    when = item.datetime or item.common_metadata.start_datetime
    if when is None:
        return None
    return np.datetime64(when.replace(tzinfo=None), "ns")


def _href(asset: pystac.Asset) -> Any:
    try:
        return asset.get_absolute_href() or asset.href
    except (TypeError, ValueError, AttributeError):
        return asset.href


def _best(candidates: list[AssetBand]) -> AssetBand:
    """Finest resolution first, then GeoTIFF over JPEG 2000, then item order."""
    return min(candidates, key=lambda b: (b.resolution_m or math.inf, not b.is_geotiff))


class StacItemReader:
    """Adapter for STAC items (JSON file, dict or :class:`pystac.Item`)."""

    name = "stac-item"

    def accepts(self, source: Any) -> bool:
        if isinstance(source, pystac.Item | dict):
            return True
        if not isinstance(source, str | Path):
            return False
        name = Path(source).name.lower()
        return name.endswith(".json") and not name.endswith("_mtl.json")  # Landsat's MTL

    def describe(self, source: Any, bands: list[str] | None) -> SceneSpec:
        return stac_spec(source, bands)


def _assets(item: pystac.Item, family: str, label: str) -> tuple[dict, list]:
    """Band candidates by admon name, and mask candidates, of an item."""
    props = item.properties
    sensor = landsat_sensor_of(props, item.id) if family == "landsat" else None
    by_name: dict[str, list[AssetBand]] = {}
    masks: list[tuple[str, AssetBand]] = []
    for key, asset in item.assets.items():
        fields = asset.extra_fields if isinstance(asset.extra_fields, dict) else {}
        record = asset_band(
            str(key), fields, _href(asset), asset.media_type, props.get("eo:bands"), label
        )
        if record is None:
            continue
        kind = mask_kind(family, str(key))
        if kind is not None:
            masks.append((kind, record))
        elif (name := band_name(family, record, sensor)) is not None:
            by_name.setdefault(name, []).append(record)
    return by_name, masks


def stac_spec(source: Any, bands: list[str] | None = None) -> SceneSpec:
    """Describe a STAC item as a :class:`SceneSpec`.

    Raises
    ------
    ImageryError
        The item cannot be read, a field is malformed, or a requested band has no asset.
    """
    item = load_item(source)
    label = str(source) if isinstance(source, str | Path) else f"STAC item {item.id}"
    props = item.properties
    if not isinstance(props, dict) or not isinstance(item.assets, dict):
        raise ImageryError(f"{label}: properties and assets must be JSON objects")
    collection = item.collection_id if isinstance(item.collection_id, str) else None
    family = item_family(props, str(item.id), collection)
    by_name, masks = _assets(item, family, label)
    if not by_name:
        raise ImageryError(
            f"{label}: no asset of this {family} item is a reflectance band admon reads "
            f"(assets: {sorted(map(str, item.assets))}); is it a Level-2 surface reflectance item?"
        )
    wanted = bands if bands is not None else [n for n in COMMON_BANDS if n in by_name]
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise ImageryError(
            f"{label}: band(s) {missing} have no asset (the {family} item has "
            f"{sorted(by_name)}); pick bands the item has"
        )
    time = _item_time(item)
    notes: set[str] = set()
    band_files = []
    for name in wanted:
        chosen = _best(by_name[name])
        scale, offset, nodata = scaling(
            family, chosen, props, str(item.id), collection, time, label, notes
        )
        band_files.append(BandFile(name, chosen.href, 1, scale, offset, nodata))
    mask = None
    if masks:
        kind, chosen = min(masks, key=lambda m: m[1].resolution_m or math.inf)
        mask = MaskFile(chosen.href, kind)
    else:
        notes.add("no quality asset (SCL / qa_pixel): clouds and shadows are not masked")
    assumptions: list[str] = []
    for text in sorted(notes):
        assume(assumptions, label, text)
    return SceneSpec(
        label,
        str(props.get("platform") or props.get("constellation") or family),
        time,
        tuple(band_files),
        mask,
        _attrs(item, family, label),
        tuple(assumptions),
    )


def _attrs(item: pystac.Item, family: str, label: str) -> dict[str, Any]:
    props = item.properties
    attrs: dict[str, Any] = {"stac_id": str(item.id), "product_family": family}
    if isinstance(item.collection_id, str):
        attrs["collection"] = item.collection_id
    if family == "sentinel-2":
        attrs["processing_baseline"] = s2_baseline(props, str(item.id), label) or ""
    cloud = props.get("eo:cloud_cover")
    if isinstance(cloud, int | float) and not isinstance(cloud, bool):
        attrs["eo:cloud_cover"] = float(cloud)
    return attrs


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
