"""Strata of the reference sample by name and code: the map classes and their buffer rings.

A light module on the ground floor, so a survey configuration can name and check its
strata without loading the estimators (``geo.estimation.design`` draws the sample).
"""

from __future__ import annotations

from core.legend import code_of, name_of

__all__ = [
    "BUFFER_OFFSET",
    "RECOMMENDED_ALLOCATION",
    "RECOMMENDED_BUFFER_PX",
    "stratum_name",
    "stratum_code",
]

BUFFER_OFFSET = 100
"""Stratum code of the buffer stratum of map class ``c`` is ``BUFFER_OFFSET + c``."""

RECOMMENDED_ALLOCATION: dict[str, int] = {
    "opium_poppy": 20, "cannabis": 15, "other_crops": 15, "forest": 35, "fallow_bare": 20,
    "water": 2, "other_crops_near_crops": 6, "forest_near_crops": 6,
    "fallow_bare_near_crops": 4, "water_near_crops": 2,
}  # fmt: skip
"""Reference points per stratum within a district, with ``RECOMMENDED_BUFFER_PX``: at most
125 per district (1500 for 12). Most points go to the large forest and fallow strata, where
the map hides omitted poppy; the honesty benchmark (tests/benchmarks/README.md) measured it."""

RECOMMENDED_BUFFER_PX = 1
"""Buffer strata width (pixels) that goes with ``RECOMMENDED_ALLOCATION``."""


def stratum_name(code: int) -> str:
    """Return a readable stratum name: the class name, or ``<class>_near_crops`` for a buffer."""
    code = int(code)
    if code >= BUFFER_OFFSET:
        return f"{name_of(code - BUFFER_OFFSET)}_near_crops"
    return name_of(code)


def stratum_code(name: str | int) -> int:
    """Return the stratum code of a class name, ``<class>_near_crops`` name, or code."""
    if not isinstance(name, str):
        return int(name)
    if name.endswith("_near_crops"):
        return BUFFER_OFFSET + code_of(name.removesuffix("_near_crops"))
    return code_of(name)
