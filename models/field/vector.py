"""GIS adapters: GeoJSON (ODK/Kobo exports included), GeoPackage and zipped Shapefile.

GeoJSON is parsed here feature by feature (so one bad feature is one rejected
row, not a failed file); the binary and XML formats go through GDAL (pyogrio)
after the archive and XML guards in :mod:`models.field.safety`. Row numbers
are feature positions from 1.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import shape

from core.errors import InvalidInputError
from models.field.base import RawPlots
from models.field.columns import export_flavour
from models.field.safety import check_file_size, decode_text

__all__ = [
    "read_geojson_plots",
    "read_ogr_plots",
    "read_shapefile_members",
]

logger = logging.getLogger(__name__)

_PREFERRED_LAYERS = ("survey_plots", "plots", "fields", "field_plots", "survey")


def _flatten(properties: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in properties.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}/"))
        else:
            flat[name] = value
    return flat


def _geojson_crs(collection: dict[str, Any], name: str) -> CRS:
    declared = collection.get("crs")
    if not declared:
        return CRS.from_epsg(4326)
    try:
        return CRS.from_user_input(declared.get("properties", {}).get("name"))
    except (CRSError, AttributeError, TypeError):
        raise InvalidInputError(
            f"{name}: the 'crs' member {declared!r} is not a CRS; remove it (GeoJSON is WGS84 "
            "longitude/latitude) or give a name such as 'urn:ogc:def:crs:EPSG::32647'"
        ) from None


def read_geojson_plots(
    path: Path, *, max_rows: int, source: str | None = None, form: Any = None
) -> RawPlots:
    """Read a GeoJSON FeatureCollection (or single Feature); properties nested in objects are
    flattened with ``/`` the way KoboToolbox names group paths.

    Raises
    ------
    InvalidInputError
        When the text is not JSON, not a Feature/FeatureCollection, or has more than ``max_rows``.
    """
    name = source or path.name
    check_file_size(path)
    text, encoding_warning = decode_text(path.read_bytes(), name)
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidInputError(f"{name}: not valid JSON ({exc})") from None
    if isinstance(document, dict) and document.get("type") == "Feature":
        document = {"type": "FeatureCollection", "features": [document]}
    if not isinstance(document, dict) or not isinstance(document.get("features"), list):
        raise InvalidInputError(f"{name}: not a GeoJSON FeatureCollection (no 'features' list)")
    features = document["features"]
    if len(features) > max_rows:
        raise InvalidInputError(f"{name}: {len(features):,} features, more than {max_rows:,}")
    records, geometry, errors = [], [], []
    for row, feature in enumerate(features, start=1):
        feature = feature if isinstance(feature, dict) else {}
        properties = feature.get("properties")
        records.append(_flatten(properties) if isinstance(properties, dict) else {})
        geometry.append(_feature_geometry(feature.get("geometry"), row, errors))
    attributes = pd.DataFrame.from_records(records, index=pd.RangeIndex(1, len(records) + 1))
    flavour = export_flavour(attributes.columns)
    raw = RawPlots(
        source=name,
        kind="geojson" if flavour == "plain" else f"{flavour}_geojson",
        attributes=attributes,
        geometry=geometry,
        crs=_geojson_crs(document, name),
        row_errors=errors,
    )
    if encoding_warning:
        raw.warnings.append((0, "file", encoding_warning))
    return raw


def _feature_geometry(geometry: Any, row: int, errors: list) -> shapely.Geometry | None:
    if geometry is None:
        errors.append((row, "geometry", "no geometry in this feature"))
        return None
    try:
        parsed = shape(geometry)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        errors.append((row, "geometry", f"unreadable geometry: {type(exc).__name__}: {exc}"))
        return None
    if parsed.is_empty:
        errors.append((row, "geometry", "the geometry is empty"))
        return None
    return parsed


def read_ogr_plots(
    path: Path, *, max_rows: int, kind: str, source: str | None = None, all_layers: bool = False
) -> RawPlots:
    """Read a GDAL vector file (GeoPackage, Shapefile, KML) with pyogrio.

    GeoPackages with several layers use the one named like ``survey_plots``/``plots``
    or, failing that, the first layer with geometry (with a warning). KML folders
    (``all_layers=True``) are read one after another.

    KML is read by :mod:`models.field.kml`, which keeps folder paths.
    """
    name = source or path.name
    try:
        layers = [(str(n), g) for n, g in pyogrio.list_layers(path) if g is not None]
    except Exception as exc:  # GDAL's DataSourceError and friends
        raise InvalidInputError(f"{name}: GDAL cannot open it as {kind} ({exc})") from None
    if not layers:
        raise InvalidInputError(f"{name}: no layer with geometry")
    warnings = []
    if all_layers:
        chosen = [n for n, _ in layers]
    else:
        by_name = {n.casefold(): n for n, _ in layers}
        preferred = [by_name[p] for p in _PREFERRED_LAYERS if p in by_name]
        chosen = [preferred[0] if preferred else layers[0][0]]
        if len(layers) > 1:
            warnings.append((0, "layer", f"{len(layers)} layers; read {chosen[0]!r}"))
    frames = []
    for layer in chosen:
        try:
            frame = pyogrio.read_dataframe(
                path, layer=layer, on_invalid="warn", max_features=max_rows + 1
            )
        except Exception as exc:
            raise InvalidInputError(f"{name}: layer {layer!r} cannot be read ({exc})") from None
        frames.append(frame)
    frames = [f for f in frames if len(f)] or frames[:1]
    crs = frames[0].crs
    frames = [f.to_crs(crs) if crs and f.crs and f.crs != crs else f for f in frames]
    table = pd.concat(frames, ignore_index=True)
    if len(table) > max_rows:
        raise InvalidInputError(f"{name}: more than {max_rows:,} features")
    geometry = list(table.geometry)
    attributes = pd.DataFrame(table.drop(columns=table.geometry.name))
    attributes.index = pd.RangeIndex(1, len(attributes) + 1)
    errors = [
        (row, "geometry", "no geometry (missing or unreadable)")
        for row, g in zip(attributes.index, geometry, strict=True)
        if g is None or g.is_empty
    ]
    geometry = [None if g is None or g.is_empty else g for g in geometry]
    return RawPlots(
        source=name,
        kind=kind,
        attributes=attributes,
        geometry=geometry,
        crs=CRS.from_user_input(crs) if crs else None,
        row_errors=errors,
        warnings=warnings,
    )


def read_shapefile_members(members: list[Path], *, name: str, max_rows: int) -> RawPlots:
    """Read the one Shapefile among files extracted from an archive."""
    shapefiles = [m for m in members if m.suffix.lower() == ".shp"]
    if len(shapefiles) != 1:
        found = ", ".join(m.name for m in shapefiles) or "none"
        raise InvalidInputError(
            f"{name}: a zipped Shapefile upload must hold exactly one .shp (found: {found})"
        )
    stem = shapefiles[0].with_suffix("")
    missing = [
        suffix
        for suffix in (".shx", ".dbf")
        if not any(m.with_suffix("") == stem and m.suffix.lower() == suffix for m in members)
    ]
    if missing:
        raise InvalidInputError(f"{name}: {shapefiles[0].name} comes without {', '.join(missing)}")
    raw = read_ogr_plots(shapefiles[0], max_rows=max_rows, kind="shapefile", source=name)
    if raw.crs is None:
        raw.warnings.append((0, "crs", f"{shapefiles[0].name} has no .prj"))
    return raw
