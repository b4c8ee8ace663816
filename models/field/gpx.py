"""GPX: fields walked with a Garmin (eTrex, GPSMAP) or a phone, tracks closed into polygons.

Parsed with ``gpxpy`` (GPX 1.0 and 1.1) after
:func:`models.field.safety.check_xml_safe` refused DOCTYPEs and entities. One
row per walked boundary (tracks first, in file order), then one per waypoint:

- each ``<trkseg>`` of a ``<trk>`` is a boundary walked around a field, closed
  into a polygon (a Garmin starts a new segment when the fix is lost or the
  unit is switched off; a track of several segments gives several rows, named
  ``<track name> (segment k)``, with a warning);
- each ``<wpt>`` is a point observation; ``<rte>`` (planned routes, not walked)
  are skipped with a warning.

Columns: ``kind`` (``track``/``waypoint``), ``name``, ``cmt``, ``desc``, ``src``,
``type``, ``sym``, ``display_color`` (Garmin's ``gpxx:DisplayColor``),
``start_time``/``end_time`` (UTC as GPX records them, or local with the
profile's ``[gps] utc_offset``), ``points``, ``hdop``/``pdop`` (worst point).
GPS accuracy: ``hdop`` x UERE, the standard estimate of the 1-sigma horizontal
error (UERE from the profile's ``[gps] uere_m``, 5 m by default); with only
``pdop``, ``pdop`` x UERE, an upper bound since PDOP² = HDOP² + VDOP².
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from pathlib import Path
from typing import Any

import gpxpy
import gpxpy.gpx
import numpy as np
import pandas as pd
from pyproj import CRS
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from core.errors import InvalidInputError
from models.field.base import RawPlots
from models.field.safety import check_file_size, check_xml_safe, decode_text

__all__ = ["read_gpx_plots", "DEFAULT_UERE_M"]

logger = logging.getLogger(__name__)

DEFAULT_UERE_M = 5.0
"""UERE (m, 1 sigma) when no profile gives one: typical of a single-frequency handheld."""


def read_gpx_plots(
    path: Path, *, max_rows: int, source: str | None = None, form: Any = None
) -> RawPlots:
    """Read GPX tracks (as field polygons) and waypoints (as points).

    Raises
    ------
    InvalidInputError
        When the XML is unsafe or not GPX, holds no track or waypoint, or more than
        ``max_rows`` of them.
    """
    name = source or path.name
    check_file_size(path)
    check_xml_safe(path)
    text, _ = decode_text(path.read_bytes(), name)
    try:
        document = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as exc:
        raise InvalidInputError(f"{name}: not a readable GPX file ({exc})") from None
    uere = float(getattr(form, "uere_m", None) or DEFAULT_UERE_M)
    offset = getattr(form, "utc_offset_h", None)
    records, geometry, accuracy, errors, warnings = [], [], [], [], []
    for track in document.tracks:
        segments = [s for s in track.segments if s.points]
        for number, segment in enumerate(segments, start=1):
            row = len(records) + 1
            label = track.name or ""
            if len(segments) > 1:
                label = f"{label} (segment {number})".strip()
                if number == 1:
                    warnings.append(
                        (
                            row,
                            "name",
                            f"track {track.name!r} has {len(segments)} segments; each "
                            "is read as one field (join them in the GPS software if they are one)",
                        )
                    )
            record = _common(track, label, "track") | _points(segment.points, offset)
            records.append(record)
            geometry.append(_boundary(segment.points, row, errors))
            accuracy.append(_accuracy(record, uere))
    for waypoint in document.waypoints:
        row = len(records) + 1
        record = _common(waypoint, waypoint.name or "", "waypoint") | _points([waypoint], offset)
        record["sym"] = waypoint.symbol or ""
        records.append(record)
        geometry.append(Point(waypoint.longitude, waypoint.latitude))
        accuracy.append(_accuracy(record, uere))
    if document.routes:
        warnings.append(
            (0, "file", f"{len(document.routes)} route(s) skipped: planned, not walked")
        )
    if not records:
        raise InvalidInputError(f"{name}: no track or waypoint in the GPX file")
    if len(records) > max_rows:
        raise InvalidInputError(
            f"{name}: {len(records):,} tracks and waypoints, more than {max_rows:,}"
        )
    if offset is None and any(r["start_time"] for r in records):
        warnings.append(
            (
                0,
                "start_time",
                "GPX times are UTC; the survey date is the UTC date (a form "
                'profile\'s [gps] utc_offset = "+06:30" gives local dates)',
            )
        )
    attributes = pd.DataFrame.from_records(records, index=pd.RangeIndex(1, len(records) + 1))
    attributes = attributes.loc[:, attributes.ne("").any(axis=0)]
    logger.info("%s: %d tracks and waypoints", name, len(records))
    return RawPlots(
        source=name,
        kind="gpx",
        attributes=attributes,
        geometry=geometry,
        crs=CRS.from_epsg(4326),  # GPX is WGS84 by definition
        accuracy_m=np.array(accuracy, dtype=float),
        row_errors=errors,
        warnings=warnings,
    )


def _common(item: Any, label: str, kind: str) -> dict[str, str]:
    record = {
        "kind": kind,
        "name": label,
        "cmt": item.comment or "",
        "desc": item.description or "",
        "src": item.source or "",
        "type": item.type or "",
        "sym": "",
        "display_color": "",
    }
    for extension in getattr(item, "extensions", None) or []:
        for element in extension.iter():
            if str(element.tag).rsplit("}", 1)[-1] == "DisplayColor" and element.text:
                record["display_color"] = element.text.strip()
    return record


def _points(points: list, offset_h: float | None) -> dict[str, str]:
    times = [p.time for p in points if p.time is not None]
    hdops = [p.horizontal_dilution for p in points if p.horizontal_dilution is not None]
    pdops = [p.position_dilution for p in points if p.position_dilution is not None]
    return {
        "start_time": _when(min(times), offset_h) if times else "",
        "end_time": _when(max(times), offset_h) if len(times) > 1 else "",
        "points": str(len(points)),
        "hdop": f"{max(hdops):g}" if hdops else "",
        "pdop": f"{max(pdops):g}" if pdops else "",
    }


def _when(time: dt.datetime, offset_h: float | None) -> str:
    if time.tzinfo is None:
        time = time.replace(tzinfo=dt.UTC)
    if offset_h is not None:
        time = time.astimezone(dt.timezone(dt.timedelta(hours=offset_h)))
    return time.isoformat()


def _accuracy(record: dict[str, str], uere_m: float) -> float:
    dop = record["hdop"] or record["pdop"]
    return float(dop) * uere_m if dop else math.nan


def _boundary(points: list, row: int, errors: list) -> BaseGeometry | None:
    vertices = [(p.longitude, p.latitude) for p in points]
    distinct = len(set(vertices))
    if distinct < 3:
        errors.append(
            (
                row,
                "geometry",
                f"the track has {distinct} distinct points; a walked field "
                "boundary needs at least 3",
            )
        )
        return None
    return Polygon(vertices)
