"""Area units field teams write areas in, and how to read the unit from a question's name or label.

Factors to hectares (1 ha = 10,000 m²):

- ``m2`` square metre, ``km2`` square kilometre (100 ha), ``are`` (100 m²);
- ``acre``: the international acre, 4,046.8564224 m² (exact, from the 1959 yard of
  0.9144 m); the unit of land records in Myanmar;
- ``rai`` 1,600 m², ``ngan`` 400 m², ``square_wa`` 4 m²: the Thai land units
  (1 rai = 4 ngan = 400 square wa; 1 wa = 2 m), also used by Lao and Shan farmers;
- ``mu`` 666.67 m² (15 mu = 1 ha), the Chinese land unit used along the Yunnan border.

A unit is recognised in a header when the header names an area (``area``,
``acreage``, ``size``) and ends with a unit: ``area_rai``, ``plot_area_ha``,
``Area (rai)``, ``Plot area [m²]``, ``area_in_acres``.
"""

from __future__ import annotations

import re

from core.errors import InvalidInputError

__all__ = [
    "AREA_UNITS_HA",
    "UNIT_ALIASES",
    "canonical_unit",
    "unit_factor_ha",
    "area_unit_in_header",
]

AREA_UNITS_HA: dict[str, float] = {
    "ha": 1.0,
    "m2": 1e-4,
    "km2": 100.0,
    "are": 0.01,
    "acre": 0.40468564224,
    "rai": 0.16,
    "ngan": 0.04,
    "square_wa": 0.0004,
    "mu": 1.0 / 15.0,
}
"""Hectares per unit, by the unit's canonical name."""

UNIT_ALIASES: dict[str, str] = {
    "ha": "ha",
    "hectare": "ha",
    "hectares": "ha",
    "hect": "ha",
    "m2": "m2",
    "sqm": "m2",
    "sq_m": "m2",
    "square_m": "m2",
    "square_metre": "m2",
    "square_metres": "m2",
    "square_meter": "m2",
    "square_meters": "m2",
    "km2": "km2",
    "are": "are",
    "ares": "are",
    "acre": "acre",
    "acres": "acre",
    "ac": "acre",
    "rai": "rai",
    "ไร่": "rai",
    "ngan": "ngan",
    "งาน": "ngan",
    "square_wa": "square_wa",
    "sq_wa": "square_wa",
    "wa2": "square_wa",
    "ตารางวา": "square_wa",
    "mu": "mu",
    "mou": "mu",
    "亩": "mu",
    "畝": "mu",
}
"""Spellings of each unit (case-folded; ``²`` is read as ``2``)."""

_AREA_WORDS = ("area", "acreage", "size", "extent")
_TOKENS = re.compile(r"[^\W_]+", re.UNICODE)


def canonical_unit(unit: str) -> str:
    """Return the canonical name of an area unit written any way :data:`UNIT_ALIASES` knows.

    Raises
    ------
    InvalidInputError
        When the unit is not one admon knows; the message lists those it knows.
    """
    key = _unit_key(unit)
    if key not in UNIT_ALIASES:
        raise InvalidInputError(
            f"area unit {unit!r} is not known; use one of {', '.join(AREA_UNITS_HA)} "
            "(or convert the areas to hectares)"
        )
    return UNIT_ALIASES[key]


def unit_factor_ha(unit: str) -> float:
    """Return hectares per ``unit`` (any spelling in :data:`UNIT_ALIASES`).

    Raises
    ------
    InvalidInputError
        When the unit is not one admon knows; the message lists those it knows.

    Examples
    --------
    >>> unit_factor_ha("rai"), unit_factor_ha("m²")
    (0.16, 0.0001)
    """
    return AREA_UNITS_HA[canonical_unit(unit)]


def _unit_key(text: str) -> str:
    return "_".join(_TOKENS.findall(str(text).casefold().replace("²", "2")))


def area_unit_in_header(header: object) -> str | None:
    """Return the canonical unit an area header names, or ``None``.

    The header's last group-path element must contain an area word; the unit is
    its last word (or last two words, as in ``sq_m``), inside brackets or not.

    Examples
    --------
    >>> area_unit_in_header("Area (rai)"), area_unit_in_header("plot/area_m2")
    ('rai', 'm2')
    >>> area_unit_in_header("area") is None, area_unit_in_header("rai_count") is None
    (True, True)
    """
    leaf = re.split(r"[/]", str(header))[-1]
    words = _TOKENS.findall(leaf.casefold().replace("²", "2"))
    if not any(w in _AREA_WORDS or w.endswith("area") for w in words) or len(words) < 2:
        return None
    for size in (2, 1):
        candidate = "_".join(words[-size:])
        if candidate in UNIT_ALIASES and candidate not in _AREA_WORDS:
            return UNIT_ALIASES[candidate]
    return None
