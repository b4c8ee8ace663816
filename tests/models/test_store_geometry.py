"""GeoPackage binary geometries: ours against GDAL's own encoder and decoder."""

from __future__ import annotations

import sqlite3
import struct

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from models.store.geometry import decode_gpkg, encode_gpkg

SHAPES = [
    Point(97.1012, 20.2034),
    box(97.1, 20.2, 97.1005, 20.2005),
    Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2), (1, 1)]]),
    MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 5)]),
]


def test_blobs_written_by_gdal_decode_to_the_same_shapes(tmp_path):
    path = tmp_path / "gdal.gpkg"
    frame = gpd.GeoDataFrame({"k": range(len(SHAPES))}, geometry=SHAPES, crs=32647)
    pyogrio.write_dataframe(frame, path, layer="shapes", geometry_type="Unknown")
    with sqlite3.connect(path) as conn:
        blobs = [row[0] for row in conn.execute("SELECT geom FROM shapes ORDER BY fid")]

    decoded = [decode_gpkg(blob) for blob in blobs]

    assert all(shapely.equals(a, b) for a, b in zip(decoded, SHAPES, strict=True))
    assert {shapely.get_srid(g) for g in decoded} == {32647}


@pytest.mark.parametrize("shape", SHAPES, ids=lambda g: g.geom_type)
def test_our_blob_has_the_gpkg_header_and_envelope(shape):
    blob = encode_gpkg(shape, 4326)

    magic, version, flags, srs_id = struct.unpack("<2sBBi", blob[:8])
    assert (magic, version, srs_id) == (b"GP", 0, 4326)
    assert flags & 1 == 1 and (flags >> 1) & 0b111 == 1  # little endian, xy envelope
    minx, maxx, miny, maxy = struct.unpack("<4d", blob[8:40])
    assert (minx, miny, maxx, maxy) == shape.bounds
    assert shapely.from_wkb(blob[40:]).equals(shape)
    assert decode_gpkg(blob).equals(shape)


def test_an_empty_geometry_has_no_envelope_and_the_empty_flag():
    blob = encode_gpkg(Polygon(), 4326)
    assert blob[3] & 0b1_0000 and (blob[3] >> 1) & 0b111 == 0
    assert decode_gpkg(blob).is_empty


def test_a_blob_without_the_magic_is_refused():
    with pytest.raises(ValueError, match="GP"):
        decode_gpkg(shapely.to_wkb(Point(0, 0)))
