"""Geometry written as text in field exports: ODK/KoboToolbox geo fields and WKT.

ODK and KoboToolbox write a geopoint as ``"lat lon altitude accuracy"`` (space
separated, **latitude first**, altitude and accuracy optional), a geotrace as
``;``-separated geopoints, and a geoshape as a geotrace whose last point
repeats the first. Parsing failures raise :class:`GeoTextError` with a
plain-language reason that the loader puts in the report for that row.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

__all__ = [
    "GeoTextError",
    "ParsedGeo",
    "parse_odk_geo",
    "parse_wkt",
    "looks_like_odk_geo",
    "looks_like_wkt",
]

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ODK_POINT = re.compile(rf"^\s*{_NUMBER}(?:\s+{_NUMBER}){{1,3}}\s*$")
_WKT_START = re.compile(
    r"^\s*(?:SRID=\d+;\s*)?(?:MULTI)?(?:POINT|LINESTRING|POLYGON)\s*(?:Z|M|ZM)?\s*\(", re.I
)


class GeoTextError(ValueError):
    """A geometry text value cannot be turned into a plot geometry; the message says why."""


@dataclass(frozen=True)
class ParsedGeo:
    """A geometry parsed from an ODK geo field, with the worst GPS accuracy of its points."""

    geometry: BaseGeometry
    """Point or Polygon, x = longitude, y = latitude."""
    accuracy_m: float
    """Largest accuracy (m) reported for any vertex; NaN when the field had none."""


def looks_like_odk_geo(value: str) -> bool:
    """True when ``value`` has the shape of an ODK geopoint, geotrace or geoshape."""
    parts = [p for p in value.split(";") if p.strip()]
    return bool(parts) and all(_ODK_POINT.match(p) for p in parts)


def looks_like_wkt(value: str) -> bool:
    """True when ``value`` starts like a WKT (or EWKT) point, line or polygon."""
    return bool(_WKT_START.match(value))


def _parse_point(text: str, index: int) -> tuple[float, float, float]:
    numbers = text.split()
    if not 2 <= len(numbers) <= 4:
        raise GeoTextError(
            f"point {index} {text.strip()!r} has {len(numbers)} numbers; "
            "expected 'latitude longitude [altitude accuracy]'"
        )
    try:
        values = [float(n) for n in numbers]
    except ValueError:
        raise GeoTextError(f"point {index} {text.strip()!r} is not numeric") from None
    if not all(math.isfinite(v) for v in values):
        raise GeoTextError(f"point {index} {text.strip()!r} is not a finite number")
    lat, lon = values[0], values[1]
    if abs(lat) > 90:
        hint = " (latitude and longitude look swapped: ODK writes latitude first)"
        raise GeoTextError(
            f"point {index} latitude {lat} is outside -90..90{hint * (abs(lon) <= 90)}"
        )
    if abs(lon) > 180:
        raise GeoTextError(f"point {index} longitude {lon} is outside -180..180")
    accuracy = values[3] if len(values) == 4 else math.nan
    return lon, lat, accuracy


def parse_odk_geo(value: str, kind: str = "geo field") -> ParsedGeo:
    """Parse an ODK/KoboToolbox geopoint, geotrace or geoshape text.

    One point gives a ``Point``; several give a ``Polygon`` (a geotrace walked
    around a field is closed), which needs at least 3 distinct vertices.

    Examples
    --------
    >>> parse_odk_geo("20.5 97.25 1200 4.5").geometry.wkt
    'POINT (97.25 20.5)'
    """
    parts = [p for p in value.strip().split(";") if p.strip()]
    if not parts:
        raise GeoTextError(f"{kind} is empty")
    fast = _parse_uniform(parts)
    if fast is not None:
        return fast
    points = [_parse_point(p, i) for i, p in enumerate(parts, start=1)]
    accuracies = [a for _, _, a in points if not math.isnan(a)]
    accuracy = max(accuracies) if accuracies else math.nan
    if len(points) == 1:
        return ParsedGeo(Point(points[0][0], points[0][1]), accuracy)
    vertices = [(x, y) for x, y, _ in points]
    distinct = len(set(vertices))
    if distinct < 3:
        raise GeoTextError(
            f"{kind} has {distinct} distinct vertices; a field boundary needs at least 3"
        )
    return ParsedGeo(Polygon(vertices), accuracy)


def _parse_uniform(parts: list[str]) -> ParsedGeo | None:
    """Fast path for the usual case: every point has the same count of valid numbers.

    Returns ``None`` whenever anything is unusual (NaN fails every comparison too),
    so that the point-by-point path produces the precise message.
    """
    try:
        values = [[float(n) for n in p.split()] for p in parts]
    except ValueError:
        return None
    width = len(values[0])
    if not 2 <= width <= 4 or any(len(v) != width for v in values):
        return None
    if not all(-90 <= v[0] <= 90 and -180 <= v[1] <= 180 for v in values):
        return None
    accuracy = max(v[3] for v in values) if width == 4 else math.nan
    if not math.isfinite(accuracy) and width == 4:
        return None
    if len(values) == 1:
        return ParsedGeo(Point(values[0][1], values[0][0]), accuracy)
    xy = [(v[1], v[0]) for v in values]
    if len(set(xy)) < 3:
        return None
    return ParsedGeo(Polygon(xy), accuracy)


def parse_wkt(value: str) -> BaseGeometry:
    """Parse WKT (or EWKT with an ``SRID=...;`` prefix); raise :class:`GeoTextError` if invalid."""
    text = value.strip()
    if text.upper().startswith("SRID="):
        text = text.split(";", 1)[1]
    try:
        geometry = shapely.from_wkt(text)
    except shapely.errors.GEOSException as exc:
        raise GeoTextError(f"not valid WKT ({str(exc).split(':')[-1].strip()})") from None
    if geometry is None or geometry.is_empty:
        raise GeoTextError("WKT geometry is empty")
    return geometry
