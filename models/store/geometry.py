"""Geometry columns for the two store backends.

The GeoPackage backend stores the OGC *GeoPackage binary* encoding (a short
``GP`` header with the SRS id and envelope, then ISO WKB) so the file opens as
a normal layer in QGIS, GDAL and pyogrio. The PostGIS backend sends and reads
EWKB (WKB carrying its SRID). Both are SQLAlchemy column types that take and
return shapely geometries whose SRID is set with :func:`shapely.set_srid`.
"""

from __future__ import annotations

import struct
from typing import Any

import shapely
from sqlalchemy import func
from sqlalchemy.types import UserDefinedType

__all__ = [
    "encode_gpkg",
    "decode_gpkg",
    "GpkgGeometry",
    "PostgisGeometry",
]

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def encode_gpkg(geometry: shapely.Geometry, srs_id: int) -> bytes:
    """Encode a shapely geometry as a GeoPackage binary blob (little endian, xy envelope).

    Parameters
    ----------
    geometry : shapely.Geometry
        Two-dimensional geometry.
    srs_id : int
        ``srs_id`` of ``gpkg_spatial_ref_sys`` the coordinates are in.

    Returns
    -------
    bytes
        ``GP`` header (version 0), envelope ``[minx, maxx, miny, maxy]`` and ISO WKB.
    """
    wkb = shapely.to_wkb(geometry, output_dimension=2, byte_order=1, flavor="iso")
    if shapely.is_empty(geometry):
        flags = 0b0001_0001  # little endian, empty, no envelope
        return struct.pack("<2sBBi", b"GP", 0, flags, srs_id) + wkb
    minx, miny, maxx, maxy = shapely.bounds(geometry).tolist()
    flags = 0b0000_0011  # little endian, envelope type 1 (xy)
    return struct.pack("<2sBBi4d", b"GP", 0, flags, srs_id, minx, maxx, miny, maxy) + wkb


def decode_gpkg(blob: bytes) -> shapely.Geometry:
    """Decode a GeoPackage binary blob into a shapely geometry with its SRID set.

    Raises
    ------
    ValueError
        If the blob does not start with the ``GP`` magic or has an invalid envelope code.
    """
    blob = bytes(blob)
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob (missing 'GP' magic)")
    flags = blob[3]
    envelope = (flags >> 1) & 0b111
    if envelope not in _ENVELOPE_BYTES:
        raise ValueError(f"invalid GeoPackage envelope indicator {envelope}")
    srs_id = struct.unpack("<i" if flags & 1 else ">i", blob[4:8])[0]
    geometry = shapely.from_wkb(blob[8 + _ENVELOPE_BYTES[envelope] :])
    return shapely.set_srid(geometry, srs_id)


class GpkgGeometry(UserDefinedType):
    """A GeoPackage geometry column (declared type ``GEOMETRY`` or a subtype)."""

    cache_ok = True

    def __init__(self, geometry_type: str = "GEOMETRY") -> None:
        self.geometry_type = geometry_type

    def get_col_spec(self, **kw: Any) -> str:
        return self.geometry_type

    def bind_processor(self, dialect):  # noqa: D102 - SQLAlchemy hook
        def process(value):
            if value is None:
                return None
            return encode_gpkg(value, shapely.get_srid(value))

        return process

    def result_processor(self, dialect, coltype):  # noqa: D102 - SQLAlchemy hook
        def process(value):
            return None if value is None else decode_gpkg(value)

        return process


class PostgisGeometry(UserDefinedType):
    """A PostGIS ``geometry`` column, optionally constrained to one SRID."""

    cache_ok = True

    def __init__(self, srid: int | None = None) -> None:
        self.srid = srid

    def get_col_spec(self, **kw: Any) -> str:
        return f"geometry(Geometry,{self.srid})" if self.srid else "geometry"

    def bind_expression(self, bindvalue):  # noqa: D102 - SQLAlchemy hook
        return func.ST_GeomFromEWKB(bindvalue, type_=self)

    def column_expression(self, colexpr):  # noqa: D102 - SQLAlchemy hook
        return func.ST_AsEWKB(colexpr, type_=self)

    def bind_processor(self, dialect):  # noqa: D102 - SQLAlchemy hook
        def process(value):
            if value is None:
                return None
            return shapely.to_wkb(value, output_dimension=2, include_srid=True)

        return process

    def result_processor(self, dialect, coltype):  # noqa: D102 - SQLAlchemy hook
        def process(value):
            return None if value is None else shapely.from_wkb(bytes(value))

        return process
