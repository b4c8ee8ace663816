"""The land cover legend shared by the class map, the reference sample and the demo truth.

Codes are stable: they are written into ``classes.tif`` and read back by the
estimators, the maps and the tests. ``0`` is reserved for no data.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "LandCover",
    "LEGEND",
    "NODATA",
    "CROPS_OF_INTEREST",
    "code_of",
    "name_of",
]

NODATA = 0


@dataclass(frozen=True)
class LandCover:
    """One class of the legend."""

    code: int
    """Integer value in class rasters."""
    name: str
    """Machine name, used in tables (``opium_poppy``)."""
    label: str
    """Name for people (``Opium poppy``)."""
    colour: str
    """Hex colour used on every map and chart."""


LEGEND: tuple[LandCover, ...] = (
    LandCover(1, "opium_poppy", "Opium poppy", "#d7301f"),
    LandCover(2, "cannabis", "Cannabis", "#7b3294"),
    LandCover(3, "other_crops", "Other crops", "#fdae61"),
    LandCover(4, "forest", "Forest", "#1a9641"),
    LandCover(5, "fallow_bare", "Fallow / bare", "#bababa"),
    LandCover(6, "water", "Water", "#2c7bb6"),
)

CROPS_OF_INTEREST: tuple[str, ...] = ("opium_poppy", "cannabis")
"""The illicit crops that district estimates report (the ``crop`` column)."""

_BY_NAME = {c.name: c for c in LEGEND}
_BY_CODE = {c.code: c for c in LEGEND}


def code_of(name: str) -> int:
    """Return the raster code of a class name; ``KeyError`` names the legend if unknown."""
    try:
        return _BY_NAME[name].code
    except KeyError:
        raise KeyError(f"unknown land cover class {name!r}; known: {sorted(_BY_NAME)}") from None


def name_of(code: int) -> str:
    """Return the class name of a raster code."""
    try:
        return _BY_CODE[int(code)].name
    except KeyError:
        raise KeyError(f"unknown land cover code {code!r}; known: {sorted(_BY_CODE)}") from None
