"""Which column of a field export holds what: header spellings of ODK, KoboToolbox and GIS tables.

Headers are compared case-insensitively with spaces and dots read as ``_``.
ODK Central joins group paths with ``-`` (``plot-crop``), KoboToolbox with
``/`` (``plot/crop``); a header matches a field when its whole name or its
last path element is one of the field's spellings. Exports "with labels"
carry question labels (``Plot ID``, ``Date of visit``), which normalise to the
same spellings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from models.field.units import area_unit_in_header

__all__ = [
    "FIELD_SPELLINGS",
    "FALLBACK_SPELLINGS",
    "header_key",
    "header_leaves",
    "resolve_columns",
    "export_flavour",
    "find_lonlat_columns",
    "is_metadata",
]

FIELD_SPELLINGS: dict[str, tuple[str, ...]] = {
    "plot_id": (
        "plot_id",
        "plotid",
        "plot_code",
        "plot_no",
        "plot_number",
        "field_id",
        "field_code",
        "field_no",
        "plot_name",
        "fid_plot",
    ),
    "crop": (
        "crop",
        "crop_type",
        "croptype",
        "crop_name",
        "crop_observed",
        "illicit_crop",
        "main_crop",
        "crop_label",
    ),
    "status": ("status", "plot_status", "field_status", "cultivation_status", "crop_status"),
    "survey_date": (
        "survey_date",
        "date",
        "visit_date",
        "date_of_visit",
        "date_visited",
        "observation_date",
        "survey_day",
        "today",
        "survey_dat",
    ),
    "team": ("team", "team_id", "team_name", "survey_team", "surveyor", "enumerator"),
    "gps_accuracy_m": (
        "gps_accuracy_m",
        "gps_accuracy",
        "accuracy_m",
        "accuracy",
        "gps_precision",
        "precision",
        "horizontal_accuracy",
        "gps_accura",
    ),
    "area": (
        "measured_area_ha",
        "area_ha",
        "field_area_ha",
        "plot_area_ha",
        "area_hectares",
        "measured_a",
        "area_m2",
        "area_sqm",
        "area_sq_m",
        "area_rai",
        "area",
    ),
    "district_id": (
        "district_id",
        "district_code",
        "districtid",
        "district",
        "township_id",
        "district_i",
        "township",
    ),
    "land_cover": (
        "land_cover",
        "landcover",
        "land_cover_class",
        "lc_class",
        "class",
        "cover_class",
    ),
    "yield_kg_ha": ("yield_kg_ha", "yield_kg_per_ha", "yield_kgha", "yield_kg_h", "yield"),
}
"""Spellings per plot field, best first."""

FALLBACK_SPELLINGS: dict[str, tuple[str, ...]] = {
    "plot_id": (
        "repeat_key",
        "_uuid",
        "meta-instanceid",
        "instanceid",
        "key",
        "_id",
        "name",
        "id",
    ),
    "crop": ("folder_name",),
    "survey_date": (
        "start",
        "end",
        "submissiondate",
        "_submission_time",
        "submission_time",
        "start_time",
        "time",
        "timestamp",
    ),
    "team": ("submittername", "_submitted_by", "username", "submitterid"),
}
"""Export metadata used when the form has no such question (matched on the whole header):
submission metadata (for plots in a repeat group, ``repeat_key``: the entry's own key,
``<submission uuid>/<repeat>[n]``, as ODK Central's ``KEY``), a KML placemark's innermost folder name for the crop (Google Earth
users file fields in folders such as ``Poppy``), a GPX track's start time."""


_SPACES = re.compile(r"[\s.]+")
_KOBO_META = (
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "__version__",
    "_index",
    "_submitted_by",
    "_notes",
    "_status",
    "_tags",
    "_attachments",
    "_geolocation",
)
_ODK_META = (
    "submissiondate",
    "meta-instanceid",
    "key",
    "submitterid",
    "submittername",
    "reviewstate",
    "attachmentspresent",
    "attachmentsexpected",
    "status",
    "deviceid",
    "edits",
    "formversion",
)


def header_key(column: object) -> str:
    """Return the comparable form of a header: case-folded, spaces and dots as ``_``."""
    return _SPACES.sub("_", str(column).strip().casefold())


def header_leaves(column: object) -> list[str]:
    """Return the header's whole key, then its last ``/`` and ``-`` path elements."""
    key = header_key(column)
    leaves = [key]
    for separator in ("/", "-"):
        leaf = leaves[-1].rsplit(separator, 1)[-1]
        if leaf and leaf not in leaves:
            leaves.append(leaf)
    return leaves


def export_flavour(columns: Iterable[object]) -> str:
    """Guess the tool that wrote a table: ``kobo``, ``odk`` or ``plain``."""
    keys = {header_key(c) for c in columns}
    if keys & {"_uuid", "_submission_time", "__version__", "_validation_status"}:
        return "kobo"
    if "key" in keys and keys & {"submissiondate", "meta-instanceid", "submitterid"}:
        return "odk"
    return "plain"


def is_metadata(column: object, flavour: str) -> bool:
    """True for export metadata columns (``_uuid``, ``KEY``, ``meta-instanceID``...)."""
    key = header_key(column)
    if flavour == "odk":
        return key in _ODK_META or key.startswith("meta-")
    return key in _KOBO_META or key.startswith("meta-") or key.startswith("meta/")


def resolve_columns(columns: Iterable[object], exclude: Iterable[object] = ()) -> dict[str, str]:
    """Map plot fields to the file's columns.

    A whole-header match wins over a last-path-element match; metadata
    columns (``_id``, ``KEY``...) are only used through ``FALLBACK_SPELLINGS``.
    Each column serves at most one field.

    Examples
    --------
    >>> resolve_columns(["_id", "plot/plot_id", "plot/crop", "_submission_time"])
    {'plot_id': 'plot/plot_id', 'crop': 'plot/crop', 'survey_date': '_submission_time'}
    """
    excluded = {str(c) for c in exclude}
    candidates = [str(c) for c in columns if str(c) not in excluded]
    flavour = export_flavour(candidates)
    found: dict[str, str] = {}
    used: set[str] = set()

    def pick(field: str, spellings: tuple[str, ...], whole_only: bool, allow_meta: bool) -> None:
        for spelling in spellings:
            for column in candidates:
                if column in used or (is_metadata(column, flavour) and not allow_meta):
                    continue
                keys = [header_key(column)] if whole_only else header_leaves(column)[1:]
                if spelling in keys:
                    found[field] = column
                    used.add(column)
                    return

    for field, spellings in FIELD_SPELLINGS.items():
        pick(field, spellings, whole_only=True, allow_meta=False)
        if field not in found:
            pick(field, spellings, whole_only=False, allow_meta=False)
    if "area" not in found:  # any "<...> area (<unit>)" header, e.g. a labels export's "Area (rai)"
        area = [c for c in candidates if c not in used and area_unit_in_header(c)]
        area = [c for c in area if not is_metadata(c, flavour)]
        if area:
            found["area"] = area[0]
            used.add(area[0])
    for field, spellings in FALLBACK_SPELLINGS.items():
        if field not in found:
            pick(field, spellings, whole_only=True, allow_meta=True)
    order = list(FIELD_SPELLINGS) + [f for f in FALLBACK_SPELLINGS if f not in FIELD_SPELLINGS]
    return {f: found[f] for f in order if f in found}


_LONLAT = re.compile(
    r"^(?P<prefix>.+?)[-_/](?P<part>latitude|longitude|lat|lon|lng|long|accuracy|precision)$"
)
_BARE = {
    "longitude": "longitude",
    "latitude": "latitude",
    "x": "longitude",
    "y": "latitude",
    "lon": "longitude",
    "long": "longitude",
    "lng": "longitude",
    "lat": "latitude",
    "easting": "longitude",
    "northing": "latitude",
}
_PART = {
    "lat": "latitude",
    "latitude": "latitude",
    "lon": "longitude",
    "lng": "longitude",
    "long": "longitude",
    "longitude": "longitude",
    "accuracy": "accuracy",
    "precision": "accuracy",
}


def find_lonlat_columns(columns: Iterable[object]) -> list[dict[str, str]]:
    """Find longitude/latitude column pairs, best first.

    Recognises bare names (``lon``/``long``/``longitude``/``x``, ``lat``/``latitude``/``y``),
    ODK Central split geopoints (``plot-location-Latitude``, ``-Longitude``, ``-Accuracy``)
    and KoboToolbox ones (``_plot/location_latitude``, ``_longitude``, ``_precision``).
    Each pair is ``{"longitude": col, "latitude": col, "accuracy": col?, "prefix": str}``.

    Examples
    --------
    >>> find_lonlat_columns(["id", "Long", "Lat"])[0]["longitude"]
    'Long'
    """
    groups: dict[str, dict[str, str]] = {}
    for column in columns:
        key = header_key(column)
        if key in _BARE:
            groups.setdefault("", {}).setdefault(_BARE[key], str(column))
            continue
        match = _LONLAT.match(key)
        if match and match["prefix"].strip("-_/ "):
            prefix = match["prefix"].strip("-_/ ")
            groups.setdefault(prefix, {}).setdefault(_PART[match["part"]], str(column))
    pairs = []
    for prefix, parts in groups.items():
        if "longitude" in parts and "latitude" in parts:
            pairs.append({**parts, "prefix": prefix})
    pairs.sort(key=lambda p: p["prefix"] != "")
    return pairs
