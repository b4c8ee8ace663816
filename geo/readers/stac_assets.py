"""The assets of a STAC item, read the same way whatever the catalogue and STAC version.

Band identity sits in ``eo:bands`` (STAC 1.0: ``name``, ``common_name``,
``center_wavelength``; in 1.0.0-beta items an *integer index* into the item's
``properties.eo:bands``) or in ``bands`` (STAC 1.1: ``eo:common_name``,
``eo:center_wavelength``). Scaling sits in ``raster:bands[0]`` (``scale``,
``offset``, ``nodata``; STAC 1.0) or directly on the asset or its ``bands``
entry (``raster:scale``, ``raster:offset``, ``nodata``; STAC 1.1, e.g.
Copernicus Data Space). This module turns each single-band raster asset into
an :class:`AssetBand`; deciding which admon band it is and how to scale it is
the product family's business (:mod:`geo.readers.stac_rules`).

Every malformed field becomes an :class:`~core.errors.ImageryError` naming the
item, the asset and the field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from core.errors import ImageryError

__all__ = ["AssetBand", "asset_band", "as_number", "is_raster_asset"]

_RES_IN_KEY = re.compile(r"_(\d+)m$", re.IGNORECASE)
_NOT_RASTER = ("text/", "application/xml", "application/json", "image/jpeg", "image/png")
_NOT_DATA_KEYS = {"visual", "thumbnail", "preview", "overview", "rendered_preview", "tilejson"}


@dataclass(frozen=True)
class AssetBand:
    """One single-band raster asset of an item, as declared (nothing decided yet)."""

    key: str
    """Asset key (``B04``, ``red``, ``B04_10m``, ``SR_B4.TIF``)."""
    href: str
    """Absolute href of the file."""
    name: str | None
    """``eo:bands[0].name`` / ``bands[0].name``."""
    common_name: str | None
    """``common_name`` / ``eo:common_name``."""
    wavelength_um: float | None
    """Centre wavelength in micrometres."""
    resolution_m: float | None
    """Pixel size, from ``gsd``, ``raster:bands[0].spatial_resolution`` or the key suffix."""
    is_geotiff: bool
    """True for a (COG) GeoTIFF, False for JPEG 2000 or unknown."""
    scale: float | None
    """Declared scale, if any."""
    offset: float | None
    """Declared offset, if any."""
    nodata: float | None
    """Declared nodata, if any."""


def as_number(value: Any, where: str) -> float | None:
    """``value`` as a float (``None`` stays ``None``; STAC's ``"nan"``/``"inf"`` strings allowed).

    Raises
    ------
    ImageryError
        ``value`` is neither a number nor a numeric string; ``where`` names the field.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ImageryError(f"{where} is {value!r}, not a number; the item is malformed")
    try:
        number = float(value)
    except ValueError:
        raise ImageryError(f"{where} is {value!r}, not a number; the item is malformed") from None
    return number


def _soft_number(value: Any) -> float | None:
    """A number for ranking only: anything else is no information."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


def is_raster_asset(key: str, fields: dict[str, Any], media_type: str | None) -> bool:
    """False for metadata, previews and thumbnails (what a band can never be)."""
    if key.lower() in _NOT_DATA_KEYS or key.upper().startswith("TCI"):
        return False
    kind = (media_type or "").lower()
    return not any(kind.startswith(prefix) for prefix in _NOT_RASTER)


def _band_entry(
    key: str, fields: dict[str, Any], item_bands: Any, where: str
) -> dict[str, Any] | None:
    """The asset's one band record; ``{}`` when it declares none, ``None`` if multi-band."""
    for field_name in ("eo:bands", "bands"):
        declared = fields.get(field_name)
        if declared is None:
            continue
        if not isinstance(declared, list):
            raise ImageryError(
                f"{where}: {field_name} is {type(declared).__name__}, not a list of bands"
            )
        if len(declared) > 1:
            return None
        if not declared:
            return {}
        entry = declared[0]
        if isinstance(entry, int) and not isinstance(entry, bool):
            # STAC 1.0.0-beta: an index into the item's properties.eo:bands
            if not isinstance(item_bands, list) or not 0 <= entry < len(item_bands):
                count = len(item_bands) if isinstance(item_bands, list) else 0
                raise ImageryError(
                    f"{where}: {field_name} [{entry}] indexes properties.eo:bands, which has "
                    f"{count} entries; the (STAC 1.0.0-beta) item is inconsistent"
                )
            entry = item_bands[entry]
        if not isinstance(entry, dict):
            raise ImageryError(
                f"{where}: {field_name}[0] is {entry!r}, not a band object; the item is malformed"
            )
        return entry
    return {}


def _text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ImageryError(f"{where} is {value!r}, not text; the item is malformed")
    return value


def asset_band(
    key: str,
    fields: dict[str, Any],
    href: Any,
    media_type: str | None,
    item_bands: Any,
    label: str,
) -> AssetBand | None:
    """Read one asset as an :class:`AssetBand`; ``None`` for multi-band or non-raster assets.

    Parameters
    ----------
    key : str
        Asset key.
    fields : dict
        The asset's fields other than href/type/title/roles (pystac ``extra_fields``).
    href : str
        Absolute href.
    media_type : str or None
        The asset's ``type``.
    item_bands : list or None
        ``properties.eo:bands`` of the item (only STAC 1.0.0-beta items use it).
    label : str
        The item, for messages.

    Raises
    ------
    ImageryError
        A band or scaling field has the wrong type.
    """
    where = f"{label}: asset {key!r}"
    media_type = _text(media_type, f"{where} type")
    if not is_raster_asset(key, fields, media_type):
        return None
    entry = _band_entry(key, fields, item_bands, where)
    if entry is None:
        return None
    if not isinstance(href, str) or not href:
        raise ImageryError(f"{where}: href is {href!r}, not a file path or URL")
    raster = fields.get("raster:bands")
    if raster is not None and (not isinstance(raster, list) or len(raster) > 1):
        if not isinstance(raster, list):
            raise ImageryError(f"{where}: raster:bands is {type(raster).__name__}, not a list")
        return None
    first = (raster or [{}])[0]
    if not isinstance(first, dict):
        raise ImageryError(f"{where}: raster:bands[0] is {first!r}, not an object")
    if raster is not None:
        scale = as_number(first.get("scale"), f"{where} raster:bands[0].scale")
        offset = as_number(first.get("offset"), f"{where} raster:bands[0].offset")
        nodata = as_number(first.get("nodata"), f"{where} raster:bands[0].nodata")
    else:  # STAC 1.1: on the band entry, or on the asset itself
        scale = as_number(
            entry.get("raster:scale", fields.get("raster:scale")), f"{where} raster:scale"
        )
        offset = as_number(
            entry.get("raster:offset", fields.get("raster:offset")), f"{where} raster:offset"
        )
        nodata = as_number(entry.get("nodata", fields.get("nodata")), f"{where} nodata")
    suffix = _RES_IN_KEY.search(key)
    resolution = (
        _soft_number(fields.get("gsd"))
        or _soft_number(entry.get("gsd"))
        or _soft_number(first.get("spatial_resolution"))
        or (float(suffix.group(1)) if suffix else None)
    )
    wavelength = as_number(
        entry.get("center_wavelength", entry.get("eo:center_wavelength")),
        f"{where} center_wavelength",
    )
    return AssetBand(
        key=key,
        href=href,
        name=_text(entry.get("name"), f"{where} band name"),
        common_name=_text(
            entry.get("common_name", entry.get("eo:common_name")), f"{where} common_name"
        ),
        wavelength_um=wavelength,
        resolution_m=resolution,
        is_geotiff="tiff" in (media_type or "").lower(),
        scale=scale,
        offset=offset,
        nodata=nodata,
    )
