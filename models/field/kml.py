"""KML and KMZ: Google Earth Pro, Google My Maps, QGIS/ogr2ogr exports, with their folders.

GDAL's KML drivers turn each ``<Folder>`` into a layer named after the innermost
folder only, so a folder path (``My Places/Hopong/Poppy``, the way Google Earth
users file fields by crop) cannot be recovered from them; this adapter reads the
XML itself (after :func:`models.field.safety.check_xml_safe` refused DOCTYPEs
and entities, parsed with defusedxml). One row per ``<Placemark>``, in document
order, with the columns:

- ``name``, ``description``, ``style`` (the ``styleUrl``, e.g. My Maps'
  ``#icon-1899-DB4436``), ``timestamp`` (``TimeStamp/when`` or ``TimeSpan/begin``);
- ``folder``: the path of enclosing ``<Folder>`` names joined by ``/``, and
  ``folder_name``: the innermost one (used as the crop when nothing else is);
- every ``ExtendedData`` field: untyped ``<Data name><value>`` and the typed
  ``<SchemaData><SimpleData name>`` that GDAL and QGIS write.

Geometry: ``Point``, ``LineString`` (a walked boundary, closed later),
``LinearRing``, ``Polygon`` with holes, ``MultiGeometry`` and ``gx:Track``;
coordinates ``lon,lat[,alt]`` in WGS84, altitude dropped.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as DefusedET
import pandas as pd
from pyproj import CRS
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
)
from shapely.geometry.base import BaseGeometry

from core.errors import InvalidInputError
from models.field.base import RawPlots
from models.field.safety import check_file_size, check_xml_safe, safe_extract_zip

__all__ = ["read_kml_plots", "read_kmz_plots"]

logger = logging.getLogger(__name__)

_GEOMETRIES = ("Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Track")


class _CoordinateError(ValueError):
    """Unreadable ``<coordinates>`` text."""


def _local(element: Any) -> str:
    return str(element.tag).rsplit("}", 1)[-1]


def _child(element: Any, name: str) -> Any | None:
    return next((c for c in element if _local(c) == name), None)


def _text(element: Any, name: str) -> str:
    found = _child(element, name)
    return (found.text or "").strip() if found is not None else ""


def read_kml_plots(
    path: Path, *, max_rows: int, source: str | None = None, form: Any = None
) -> RawPlots:
    """Read every Placemark of a KML file with its folder path and ExtendedData.

    Raises
    ------
    InvalidInputError
        When the XML is unsafe or malformed, holds no Placemark, or more than ``max_rows``.
    """
    name = source or path.name
    check_file_size(path)
    check_xml_safe(path)
    root = DefusedET.parse(path, forbid_dtd=True, forbid_entities=True).getroot()
    records: list[dict[str, str]] = []
    geometry: list[BaseGeometry | None] = []
    errors: list[tuple[int, str, str]] = []
    for placemark, folders in _placemarks(root, []):
        row = len(records) + 1
        if row > max_rows:
            raise InvalidInputError(f"{name}: more than {max_rows:,} placemarks")
        records.append(_attributes(placemark, folders))
        geometry.append(_placemark_geometry(placemark, row, errors))
    if not records:
        raise InvalidInputError(f"{name}: no Placemark in the KML (is it only styles or links?)")
    attributes = pd.DataFrame.from_records(records, index=pd.RangeIndex(1, len(records) + 1))
    attributes = attributes.fillna("")
    attributes = attributes.loc[:, attributes.ne("").any(axis=0)]
    logger.info("%s: %d placemarks", name, len(records))
    return RawPlots(
        source=name,
        kind="kml",
        attributes=attributes,
        geometry=geometry,
        crs=CRS.from_epsg(4326),  # KML is WGS84 longitude/latitude by definition
        row_errors=errors,
    )


def _placemarks(element: Any, folders: list[str]):
    for child in element:
        tag = _local(child)
        if tag == "Placemark":
            yield child, folders
        elif tag == "Folder":
            yield from _placemarks(child, [*folders, _text(child, "name")])
        elif tag in ("Document", "kml"):
            yield from _placemarks(child, folders)


def _attributes(placemark: Any, folders: list[str]) -> dict[str, str]:
    record = {
        "name": _text(placemark, "name"),
        "description": _text(placemark, "description"),
        "style": _text(placemark, "styleUrl"),
        "folder": "/".join(f for f in folders if f),
        "folder_name": next((f for f in reversed(folders) if f), ""),
    }
    time = _child(placemark, "TimeStamp")
    span = _child(placemark, "TimeSpan")
    record["timestamp"] = _text(time, "when") if time is not None else ""
    if not record["timestamp"] and span is not None:
        record["timestamp"] = _text(span, "begin")
    data = _child(placemark, "ExtendedData")
    if data is not None:
        for item in data.iter():
            tag = _local(item)
            if tag == "Data" and item.get("name"):
                record[item.get("name")] = _text(item, "value")
            elif tag == "SimpleData" and item.get("name"):
                record[item.get("name")] = (item.text or "").strip()
    return record


def _placemark_geometry(placemark: Any, row: int, errors: list) -> BaseGeometry | None:
    found = next((c for c in placemark if _local(c) in _GEOMETRIES), None)
    if found is None:
        errors.append((row, "geometry", "the placemark has no geometry"))
        return None
    try:
        return _geometry(found)
    except _CoordinateError as exc:
        errors.append((row, "geometry", f"unreadable coordinates: {exc}"))
        return None


def _geometry(element: Any) -> BaseGeometry:
    tag = _local(element)
    if tag == "MultiGeometry":
        parts = [_geometry(c) for c in element if _local(c) in _GEOMETRIES]
        kinds = {p.geom_type for p in parts}
        multi = {"Point": MultiPoint, "LineString": MultiLineString, "Polygon": MultiPolygon}
        if len(kinds) == 1 and kinds <= set(multi):  # as GDAL reads it
            return multi[kinds.pop()](parts)
        return GeometryCollection(parts)
    if tag == "Track":
        points = [_numbers(c.text or "", " ") for c in element if _local(c) == "coord"]
        return LineString(points) if len(points) > 1 else Point(points[0])
    if tag == "Polygon":
        outer = _child(element, "outerBoundaryIs")
        if outer is None or _child(outer, "LinearRing") is None:
            raise _CoordinateError("a Polygon without outerBoundaryIs/LinearRing")
        holes = [
            _coordinates(_child(inner, "LinearRing"))
            for inner in element
            if _local(inner) == "innerBoundaryIs" and _child(inner, "LinearRing") is not None
        ]
        return Polygon(_coordinates(_child(outer, "LinearRing")), holes)
    points = _coordinates(element)
    if tag == "Point":
        return Point(points[0])
    if tag == "LinearRing":
        return Polygon(points)
    return LineString(points) if len(points) > 1 else Point(points[0])


def _coordinates(element: Any) -> list[tuple[float, float]]:
    text = _text(element, "coordinates")
    if not text:
        raise _CoordinateError("empty <coordinates>")
    return [_numbers(t, ",") for t in text.split()]


def _numbers(text: str, separator: str) -> tuple[float, float]:
    parts = [p for p in text.strip().split(separator) if p != ""]
    try:
        lon, lat = float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        raise _CoordinateError(f"{text.strip()!r} is not 'longitude,latitude[,altitude]'") from None
    return lon, lat


def read_kmz_plots(
    path: Path, *, max_rows: int, source: str | None = None, form: Any = None
) -> RawPlots:
    """Check and extract a KMZ, then read its main KML (``doc.kml`` or the first ``.kml``)."""
    name = source or path.name
    check_file_size(path)
    with tempfile.TemporaryDirectory(prefix="admon-kmz-") as tmp:
        members = safe_extract_zip(path, Path(tmp))
        documents = sorted(
            (m for m in members if m.suffix.lower() == ".kml"),
            key=lambda m: (m.name.lower() != "doc.kml", len(m.parts), str(m)),
        )
        if not documents:
            raise InvalidInputError(f"{name}: the KMZ holds no .kml document")
        raw = read_kml_plots(documents[0], max_rows=max_rows, source=name)
    raw.kind = "kmz"
    return raw
