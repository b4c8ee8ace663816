"""Which band is which: the band tables of the product families admon reads.

One place for the facts every adapter needs: Sentinel-2 MSI band ids and
centre wavelengths, Landsat band numbers per sensor (TM and ETM+ number their
bands differently from OLI), and the STAC ``eo:common_name`` spellings.
"""

from __future__ import annotations

import re

__all__ = [
    "S2_BANDS",
    "S2_BAND_IDS",
    "S2_WAVELENGTH_UM",
    "S2_KEY_ALIASES",
    "s2_band_id",
    "s2_band_by_wavelength",
    "LANDSAT_SENSOR_BANDS",
    "landsat_sensor",
    "STAC_COMMON_NAMES",
]

S2_BANDS = {
    "B01": "coastal",
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
"""Sentinel-2 MSI band id to admon band name (B09, B10 are atmospheric, not read)."""

S2_BAND_IDS = tuple("B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B10 B11 B12".split())
"""Band ids in ESA's ``band_id``/``bandId`` order (0 = B01 ... 8 = B8A ... 12 = B12)."""

S2_WAVELENGTH_UM = {
    "B01": 0.443,
    "B02": 0.490,
    "B03": 0.560,
    "B04": 0.665,
    "B05": 0.705,
    "B06": 0.740,
    "B07": 0.783,
    "B08": 0.842,
    "B8A": 0.865,
    "B09": 0.945,
    "B10": 1.375,
    "B11": 1.610,
    "B12": 2.190,
}
"""Centre wavelength (µm) of each MSI band (S2A; S2B/S2C differ by at most 0.01 µm)."""

S2_KEY_ALIASES = {
    "coastal": "B01",
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "rededge1": "B05",
    "rededge2": "B06",
    "rededge3": "B07",
    "nir": "B08",
    "nir08": "B8A",
    "nir09": "B09",
    "cirrus": "B10",
    "swir16": "B11",
    "swir22": "B12",
}
"""Earth Search and stactools asset keys / band names for Sentinel-2 bands."""

_S2_ID = re.compile(r"^B(\d{1,2}|8A)$", re.IGNORECASE)
_RES_SUFFIX = re.compile(r"([_-](\d+m|jp2|cog|tif))+$", re.IGNORECASE)


def s2_band_id(text: str) -> str | None:
    """The MSI band id a name or asset key stands for (``B4``, ``B04_10m``, ``rededge1``...).

    Examples
    --------
    >>> s2_band_id("B8A_20m"), s2_band_id("b4"), s2_band_id("rededge1-jp2"), s2_band_id("SCL")
    ('B8A', 'B04', 'B05', None)
    """
    stem = _RES_SUFFIX.sub("", text.strip())
    if _S2_ID.match(stem):
        number = stem[1:].upper()
        return "B8A" if number == "8A" else f"B{int(number):02d}"
    return S2_KEY_ALIASES.get(stem.lower())


def s2_band_by_wavelength(wavelength_um: float, tolerance_um: float = 0.012) -> str | None:
    """The MSI band whose centre is nearest ``wavelength_um``, if within ``tolerance_um``.

    Examples
    --------
    >>> s2_band_by_wavelength(0.865), s2_band_by_wavelength(0.704), s2_band_by_wavelength(1.0)
    ('B8A', 'B05', None)
    """
    band, centre = min(S2_WAVELENGTH_UM.items(), key=lambda kv: abs(kv[1] - wavelength_um))
    return band if abs(centre - wavelength_um) <= tolerance_um else None


LANDSAT_SENSOR_BANDS = {
    "OLI": {1: "coastal", 2: "blue", 3: "green", 4: "red", 5: "nir", 6: "swir1", 7: "swir2"},
    "TM": {1: "blue", 2: "green", 3: "red", 4: "nir", 5: "swir1", 7: "swir2"},
    "ETM": {1: "blue", 2: "green", 3: "red", 4: "nir", 5: "swir1", 7: "swir2"},
}
"""Landsat reflective band number to admon band name, per sensor (USGS numbering)."""

_SENSOR_BY_PREFIX = {
    "LC08": "OLI",
    "LC09": "OLI",
    "LO08": "OLI",
    "LO09": "OLI",
    "LT04": "TM",
    "LT05": "TM",
    "LE07": "ETM",
}


def landsat_sensor(sensor_id: str | None = None, product_id: str | None = None) -> str | None:
    """``OLI``, ``TM`` or ``ETM`` from an MTL ``SENSOR_ID`` / STAC instrument, or a product id.

    Examples
    --------
    >>> landsat_sensor("OLI_TIRS"), landsat_sensor("ETM"), landsat_sensor(product_id="LT05_L2SP_x")
    ('OLI', 'ETM', 'TM')
    """
    if sensor_id:
        token = str(sensor_id).upper().replace("+", "")
        for name in ("OLI", "ETM", "TM"):
            if token == name or token.startswith(f"{name}_"):
                return name
    if product_id:
        return _SENSOR_BY_PREFIX.get(str(product_id)[:4].upper())
    return None


STAC_COMMON_NAMES = {
    "coastal": "coastal",
    "blue": "blue",
    "green": "green",
    "red": "red",
    "nir": "nir",
    "nir08": "nir08",
    "swir16": "swir1",
    "swir1": "swir1",
    "swir22": "swir2",
    "swir2": "swir2",
}
"""STAC ``eo:common_name`` to admon band name (red edge needs the wavelength, see readers)."""
