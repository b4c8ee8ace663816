"""What a STAC item's product family says about its bands, masks and scaling.

The catalogues admon reads disagree on details, so each rule below reads what
the item itself declares and falls back to the product's published definition
only when the item is silent, saying so (a recorded assumption).

Sentinel-2 L2A (Planetary Computer, Earth Search v0/v1, Copernicus Data Space):

- band: the MSI id in the band ``name`` or asset key (``B8A``, ``B04_10m``),
  else Earth Search names (``rededge1``, ``nir08``), else the centre wavelength
  (PC tags B8A ``rededge`` at 0.865 µm: that is the narrow NIR, ``nir08``);
- mask: any ``scl``/``SCL``/``SCL_20m``/``SCL_60m`` asset (finest wins);
- BOA offset: an Earth Search item's own flag decides
  (``earthsearch:boa_offset_applied``, v0 ``sentinel:boa_offset_applied``):
  ``true`` means its COGs already had BOA_ADD_OFFSET added, so no offset is
  applied even though its ``raster:bands`` still say ``offset: -0.1`` (the
  catalogue's maintainers call the flag the truth, Element84/earth-search#9);
  ``false`` means ESA's numbers, offset by the processing baseline. Without the
  flag, declared ``raster`` scale/offset are used as given; without those, the
  processing baseline (``s2:processing_baseline``, ``processing:version``,
  ``sentinel:processing_baseline`` or ``_N0400_`` in the product id) decides
  per ESA: -0.1 from 04.00 on, else 0.

Landsat C2 L2 (Planetary Computer, Earth Search, USGS landsatlook): band by
``common_name`` (``nir08`` is Landsat's NIR) or by band number and sensor;
mask ``qa_pixel``; declared ``raster:bands`` scaling, else the USGS product
definition (2.75e-05, -0.2) for an item that says it is Level-2.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from core.errors import ImageryError
from geo.readers.bands import (
    LANDSAT_SENSOR_BANDS,
    S2_BANDS,
    S2_KEY_ALIASES,
    STAC_COMMON_NAMES,
    landsat_sensor,
    s2_band_by_wavelength,
    s2_band_id,
)
from geo.readers.sentinel2 import BASELINE_04_START, baseline_major
from geo.readers.stac_assets import AssetBand

__all__ = [
    "item_family",
    "landsat_sensor_of",
    "band_name",
    "mask_kind",
    "s2_baseline",
    "scaling",
]

_SCL_KEY = re.compile(r"^scl(_\d+m)?$", re.IGNORECASE)
_LANDSAT_QA_KEYS = ("qa_pixel", "qa_pixel.tif")
_LANDSAT_NUMBER = re.compile(r"(?:^|_)B(\d{1,2})(?:\.TIF)?$", re.IGNORECASE)
_BASELINE_IN_ID = re.compile(r"_N(\d{2})(\d{2})_")
_REDEDGE_ORDER = {"B05": "rededge1", "B06": "rededge2", "B07": "rededge3"}
S2_SCALE = 1e-4
LANDSAT_SCALE, LANDSAT_OFFSET = 2.75e-05, -0.2


def _platform(props: dict[str, Any]) -> str:
    for key in ("platform", "eo:platform", "constellation"):
        value = props.get(key)
        if isinstance(value, str) and value:
            return value.lower().replace("_", "-").replace(" ", "-")
    return ""


def item_family(props: dict[str, Any], item_id: str, collection: str | None) -> str:
    """``sentinel-2``, ``landsat`` or ``other``, from platform, collection or id."""
    platform = _platform(props)
    names = f"{platform} {collection or ''} {item_id}".lower()
    if platform.startswith("sentinel-2") or re.search(r"\bs2[abc]?_|sentinel-2", names):
        return "sentinel-2"
    if platform.startswith("landsat") or re.search(r"\bl[ceot]0\d_|landsat", names):
        return "landsat"
    return "other"


def landsat_sensor_of(props: dict[str, Any], item_id: str) -> str | None:
    """``OLI``, ``TM`` or ``ETM`` from the item's instruments, else its id."""
    instruments = props.get("instruments") or props.get("eo:instrument")
    first = instruments[0] if isinstance(instruments, list) and instruments else instruments
    return landsat_sensor(first if isinstance(first, str) else None, item_id)


def band_name(family: str, band: AssetBand, sensor: str | None) -> str | None:
    """The admon band an asset holds in ``family``, or ``None`` (not a band admon reads)."""
    common = (band.common_name or "").lower()
    if family == "sentinel-2":
        band_id = (
            s2_band_id(band.name or "")
            or s2_band_id(band.key)
            or S2_KEY_ALIASES.get(common)
            or (s2_band_by_wavelength(band.wavelength_um) if band.wavelength_um else None)
        )
        return S2_BANDS.get(band_id or "")
    if family == "landsat":
        if common:
            return "nir" if common == "nir08" else STAC_COMMON_NAMES.get(common)
        match = _LANDSAT_NUMBER.search(band.name or "") or _LANDSAT_NUMBER.search(band.key)
        if match and sensor:
            return LANDSAT_SENSOR_BANDS[sensor].get(int(match.group(1)))
        return None
    if common == "rededge" and band.wavelength_um:
        return _REDEDGE_ORDER.get(s2_band_by_wavelength(band.wavelength_um) or "")
    return STAC_COMMON_NAMES.get(common)


def mask_kind(family: str, key: str) -> str | None:
    """``scl`` or ``qa_pixel`` if asset ``key`` is the family's quality band."""
    if family in ("sentinel-2", "other") and _SCL_KEY.match(key):
        return "scl"
    if family in ("landsat", "other") and key.lower() in _LANDSAT_QA_KEYS:
        return "qa_pixel"
    return None


def s2_baseline(props: dict[str, Any], item_id: str, label: str) -> str | None:
    """The processing baseline an item declares (or its product id encodes)."""
    for key in ("s2:processing_baseline", "processing:version", "sentinel:processing_baseline"):
        value = props.get(key)
        if value is not None:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise ImageryError(f"{label}: properties.{key} is {value!r}, not a baseline")
            baseline_major(str(value), f"{label} properties.{key}")
            return str(value)
    for key in ("s2:product_uri", "sentinel:product_id", "s2:tile_id"):
        value = props.get(key)
        if isinstance(value, str) and (match := _BASELINE_IN_ID.search(value)):
            return f"{match.group(1)}.{match.group(2)}"
    match = _BASELINE_IN_ID.search(item_id)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _boa_flag(props: dict[str, Any], label: str) -> tuple[str, bool] | None:
    for key in ("earthsearch:boa_offset_applied", "sentinel:boa_offset_applied"):
        if key in props:
            value = props[key]
            if not isinstance(value, bool):
                raise ImageryError(
                    f"{label}: properties.{key} is {value!r}; Earth Search declares true or false"
                )
            return key, value
    return None


def _s2_scaling(
    band: AssetBand, props: dict, item_id: str, time: Any, label: str, notes: set[str]
) -> tuple[float, float]:
    scale = band.scale if band.scale is not None else S2_SCALE
    baseline = s2_baseline(props, item_id, label)
    major = baseline_major(baseline, label)
    flag = _boa_flag(props, label)
    if flag is not None:
        key, applied = flag
        if band.scale is None:
            notes.add("no raster scale declared: DN / 10000 (ESA's BOA_QUANTIFICATION_VALUE)")
        if applied:
            if band.offset:
                notes.add(
                    f"{key} = true: the DNs already include BOA_ADD_OFFSET, so the declared "
                    f"raster offset {band.offset:g} is not applied (the catalogue's flag is "
                    "taken over its raster:bands, Element84/earth-search#9)"
                )
            return scale, 0.0
        if major is None:
            notes.add(f"{key} = false but no processing baseline: BOA offset 0 assumed")
            return scale, 0.0
        offset = -1000 * scale if major >= 4 else 0.0
        if band.offset is not None and np.isclose(band.offset, offset):
            return scale, band.offset
        if band.offset is not None:
            notes.add(
                f"{key} = false with baseline {baseline}: offset {offset:g} applied "
                f"(ESA's rule), not the declared {band.offset:g}"
            )
        return scale, offset
    if band.scale is not None or band.offset is not None:
        return scale, band.offset or 0.0
    if major is not None:
        offset = -0.1 if major >= 4 else 0.0
        notes.add(
            f"no raster scale/offset declared: DN / 10000 {offset:+g} from processing "
            f"baseline {baseline} (ESA: BOA_ADD_OFFSET -1000 from 04.00 on)"
        )
        return S2_SCALE, offset
    late = time is not None and np.datetime64(time, "D") >= BASELINE_04_START
    offset = -0.1 if late else 0.0
    notes.add(
        "no raster scale/offset and no processing baseline declared: DN / 10000 "
        f"{offset:+g} assumed from the acquisition date (baseline 04.00 began 2022-01-25)"
    )
    return S2_SCALE, offset


def _landsat_level(props: dict, item_id: str, collection: str | None) -> str | None:
    for key in ("landsat:correction", "landsat:processing_level"):
        if isinstance(props.get(key), str):
            return props[key].upper()
    if match := re.search(r"_(L[12][A-Z]{2})_", item_id.upper()):
        return match.group(1)
    if collection and re.search(r"l2", collection.lower()):
        return "L2"
    return None


def _landsat_scaling(
    band: AssetBand, props: dict, item_id: str, collection: str | None, label: str, notes: set
) -> tuple[float, float]:
    if band.scale is not None or band.offset is not None:
        return (1.0 if band.scale is None else band.scale), band.offset or 0.0
    level = _landsat_level(props, item_id, collection)
    if level is not None and level.startswith("L1"):
        raise ImageryError(
            f"{label}: a Level-1 ({level}) Landsat item is top-of-atmosphere; admon needs "
            "Collection 2 Level-2 surface reflectance (collection landsat-c2-l2)"
        )
    notes.add(
        "no raster:bands scale/offset declared: USGS C2 L2 surface reflectance "
        f"DN x {LANDSAT_SCALE:g} {LANDSAT_OFFSET:+g} assumed"
        + ("" if level else " (the item does not say its processing level)")
    )
    return LANDSAT_SCALE, LANDSAT_OFFSET


def scaling(
    family: str,
    band: AssetBand,
    props: dict[str, Any],
    item_id: str,
    collection: str | None,
    time: Any,
    label: str,
    notes: set[str],
) -> tuple[float, float, float | None]:
    """(scale, offset, nodata) of one band; what had to be assumed is added to ``notes``."""
    if family == "sentinel-2":
        scale, offset = _s2_scaling(band, props, item_id, time, label, notes)
        return scale, offset, 0.0 if band.nodata is None else band.nodata
    if family == "landsat":
        scale, offset = _landsat_scaling(band, props, item_id, collection, label, notes)
        return scale, offset, 0.0 if band.nodata is None else band.nodata
    if band.scale is not None or band.offset is not None:
        return (1.0 if band.scale is None else band.scale), band.offset or 0.0, band.nodata
    notes.add("unknown platform and no raster scale/offset: values are read as stored")
    return 1.0, 0.0, band.nodata
