"""Geometry rules for field plots: type, vertices, self-intersection, coordinate range, region.

Each rule returns a plain-language reason when a plot fails it; the loader
writes that reason into the report for the plot's row.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import (
    LineString,
    MultiPolygon,
    Point,
    Polygon,
    box,
)
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

__all__ = [
    "GEOD",
    "check_plot_geometry",
    "check_degree_range",
    "check_in_region",
    "geodesic_area_ha",
    "as_region",
]

GEOD = Geod(ellps="WGS84")


def _distinct_vertices(ring: object) -> int:
    return len(set(ring.coords))


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [geometry]
    if isinstance(geometry, MultiPolygon):
        return list(geometry.geoms)
    if hasattr(geometry, "geoms"):
        return [p for g in geometry.geoms for p in _polygons(g)]
    return []


def check_plot_geometry(
    geometry: BaseGeometry,
) -> tuple[BaseGeometry | None, str | None, str | None]:
    """Check one plot geometry (EPSG:4326); return ``(geometry, rejection, warning)``.

    Points and polygons are plots; a line of at least 3 distinct vertices is a
    boundary that was not closed and becomes a polygon. An invalid polygon is
    repaired with ``shapely.make_valid`` only when the repair keeps the same
    number of parts (a doubled vertex, a tiny spike); a boundary that crosses
    itself into several pieces (a bow tie) is rejected, since choosing a piece
    would be guessing the field's shape.
    """
    geometry = shapely.force_2d(geometry)
    warning = None
    if hasattr(geometry, "geoms") and not isinstance(geometry, MultiPolygon):
        geometry, warning = _single_kind(geometry)
    if isinstance(geometry, Point):
        return geometry, None, None
    if isinstance(geometry, LineString):
        if _distinct_vertices(geometry) < 3:
            return None, _few_vertices(_distinct_vertices(geometry)), None
        geometry = Polygon(geometry.coords)
        warning = "the boundary was a line; it was closed into a polygon"
    if geometry.is_empty:
        return None, "the geometry is empty", None
    parts = _polygons(geometry)
    if not parts or len(parts) != len(getattr(geometry, "geoms", [geometry])):
        return (
            None,
            f"a {geometry.geom_type} is not a field plot; expected a polygon or a point",
            None,
        )
    for part in parts:
        if _distinct_vertices(part.exterior) < 3:
            return None, _few_vertices(_distinct_vertices(part.exterior)), None
    if geometry.is_valid:
        return geometry, None, warning
    reason = explain_validity(geometry)
    repaired_parts = [p for p in _polygons(shapely.make_valid(geometry)) if p.area > 0]
    if len(repaired_parts) == len(parts):
        repaired = repaired_parts[0] if len(parts) == 1 else MultiPolygon(repaired_parts)
        return repaired, None, f"the boundary was invalid ({reason}) and was repaired"
    return (
        None,
        (
            f"the boundary crosses itself ({reason}) and cannot be repaired without guessing the "
            "field's shape; draw or walk the boundary again"
        ),
        None,
    )


def _single_kind(collection: BaseGeometry) -> tuple[BaseGeometry, str | None]:
    """Reduce a collection (KML MultiGeometry, MultiPoint) to the plot it describes.

    A Google Earth placemark often holds the field polygon plus a label point: the
    polygons are the plot. A collection of one point is that point. Anything else
    is returned unchanged and rejected by the caller.
    """
    polygons = _polygons(collection)
    if polygons:
        plot = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
        dropped = len(collection.geoms) - len(polygons)
        note = f"{dropped} non-polygon part(s) of the geometry were ignored" if dropped else None
        return plot, note
    if len(collection.geoms) == 1 and isinstance(collection.geoms[0], Point):
        return collection.geoms[0], None
    return collection, None


def _few_vertices(count: int) -> str:
    return f"the boundary has {count} distinct vertices; a field boundary needs at least 3"


def check_degree_range(geometry: BaseGeometry) -> str | None:
    """Reject coordinates that are not longitude/latitude degrees, naming a likely swap."""
    minx, miny, maxx, maxy = geometry.bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return "coordinates are not finite numbers"
    if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        return None
    if -90 <= minx <= maxx <= 90 and -180 <= miny <= maxy <= 180:
        return (
            f"latitude {maxy if abs(maxy) > 90 else miny:g} is outside -90..90: longitude and "
            "latitude look swapped"
        )
    return (
        f"coordinates ({minx:g}, {miny:g}) are not longitude/latitude degrees; if the file "
        "uses projected coordinates, give its CRS (crs='EPSG:32647' for UTM 47N)"
    )


def as_region(region: object) -> BaseGeometry | None:
    """Return a survey region geometry from a shapely geometry or ``(minx, miny, maxx, maxy)``."""
    if region is None:
        return None
    if isinstance(region, BaseGeometry):
        return region
    minx, miny, maxx, maxy = (float(v) for v in region)  # type: ignore[union-attr]
    return box(minx, miny, maxx, maxy)


def check_in_region(geometries: np.ndarray, region: BaseGeometry) -> list[str | None]:
    """Per geometry: ``None`` when it touches ``region``, else why (swapped or outside)."""
    shapely.prepare(region)
    inside = shapely.intersects(geometries, region)
    reasons: list[str | None] = []
    minx, miny, maxx, maxy = region.bounds
    where = f"lon {minx:.3f}..{maxx:.3f}, lat {miny:.3f}..{maxy:.3f}"
    for geometry, ok in zip(geometries, inside, strict=True):
        if ok:
            reasons.append(None)
            continue
        swapped = shapely.transform(geometry, lambda xy: xy[:, ::-1])
        if swapped.intersects(region):
            reasons.append(
                "coordinates look swapped: with longitude and latitude exchanged the "
                f"plot falls inside the survey region ({where}); fix the column order"
            )
        else:
            x, y = geometry.representative_point().coords[0]
            reasons.append(
                f"the plot at lon {x:.5f}, lat {y:.5f} is outside the survey region ({where})"
            )
    return reasons


def geodesic_area_ha(geometry: BaseGeometry) -> float:
    """Area on the WGS84 ellipsoid in hectares (0 for points and lines)."""
    polygons = _polygons(geometry)
    if not polygons:
        return 0.0
    area_m2 = 0.0
    for polygon in polygons:
        for k, ring in enumerate([polygon.exterior, *polygon.interiors]):
            xy = shapely.get_coordinates(ring)
            ring_m2 = abs(GEOD.polygon_area_perimeter(xy[:, 0], xy[:, 1])[0])
            area_m2 += -ring_m2 if k else ring_m2
    return area_m2 / 10_000.0
