"""Crop labels, header spellings and ODK geo text: the vocabulary layer of load_plots."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from models.field.columns import find_lonlat_columns, resolve_columns
from models.field.geotext import GeoTextError, parse_odk_geo, parse_wkt
from models.field.labels import CROP_LABELS_PATH, crop_label_table, crop_of, status_of
from models.field.values import as_date

LABELS = {
    "poppy": "opium_poppy",
    "Opium": "opium_poppy",
    "OPIUM_POPPY": "opium_poppy",
    "ဘိန်း": "opium_poppy",  # Burmese
    "ຝິ່ນ": "opium_poppy",  # Lao
    "ฝิ่น": "opium_poppy",  # Thai
    "ၾိၼ်": "opium_poppy",  # Shan
    "cannabis": "cannabis",
    "Ganja": "cannabis",
    "marijuana": "cannabis",
    "ဆေးခြောက်": "cannabis",
    "ກັນຊາ": "cannabis",
    "กัญชา": "cannabis",
    "maize": "other",
    "ชา": "other",  # Thai tea: must not be read as cannabis (กัญชา ends with ชา)
    "Opium poppy / ဘိန်း": "opium_poppy",  # KoboToolbox export with multi-language labels
    "Cannabis (กัญชา)": "cannabis",
}


@pytest.mark.parametrize(("label", "crop"), LABELS.items())
def test_crop_labels_in_local_languages(label: str, crop: str) -> None:
    assert crop_of(label) == crop


@pytest.mark.parametrize("label", ["banana", "poppy / ganja", "", "rice/poppy"])
def test_unknown_or_contradictory_labels_are_not_guessed(label: str) -> None:
    assert crop_of(label) is None


def test_label_table_file_is_consistent() -> None:
    with open(CROP_LABELS_PATH, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["crop"] for r in rows} == {"opium_poppy", "cannabis", "other"}
    # every ASEAN member state's languages where a published spelling was found
    assert {"en", "my", "shn", "kac", "lo", "th", "km", "vi", "id", "ms", "tl", "ahk"} <= {
        r["language"] for r in rows
    }
    local = [r for r in rows if r["crop"] != "other" and r["language"] not in ("en", "la")]
    assert all(r["note"].strip() for r in local)  # each names its source, or says UNSOURCED
    assert all(crop_of(r["label"]) == r["crop"] for r in rows)
    assert len(crop_label_table()) >= 60


def test_label_table_refuses_a_label_with_two_crops(tmp_path: Path) -> None:
    bad = tmp_path / "labels.csv"
    bad.write_text("label,crop,language,note\npoppy,opium_poppy,en,\nPoppy,cannabis,en,\n")
    with pytest.raises(ValueError, match=r"line 3: label 'Poppy' maps to two crops"):
        crop_label_table(bad)


@pytest.mark.parametrize(
    ("label", "status"),
    [("Cultivated", "cultivated"), ("destroyed", "eradicated"), ("", "unknown"), ("?", None)],
)
def test_status_labels(label: str, status: str | None) -> None:
    assert status_of(label) == status


def test_kobo_headers_group_paths_and_metadata() -> None:
    columns = [
        "start",
        "today",
        "plot/plot_id",
        "plot/crop",
        "plot/status",
        "_id",
        "_uuid",
        "_submission_time",
        "_submitted_by",
        "__version__",
        "_index",
    ]
    assert resolve_columns(columns) == {
        "plot_id": "plot/plot_id",
        "crop": "plot/crop",
        "status": "plot/status",
        "survey_date": "today",
        "team": "_submitted_by",
    }


def test_odk_central_headers_group_paths_and_metadata() -> None:
    columns = [
        "SubmissionDate",
        "plot-crop",
        "plot-status",
        "meta-instanceID",
        "KEY",
        "SubmitterID",
        "SubmitterName",
        "Status",
        "ReviewState",
    ]
    # no plot_id question: the instance id identifies the submission; Status is ODK metadata
    assert resolve_columns(columns) == {
        "crop": "plot-crop",
        "status": "plot-status",
        "plot_id": "meta-instanceID",
        "survey_date": "SubmissionDate",
        "team": "SubmitterName",
    }


@pytest.mark.parametrize(
    ("columns", "lon", "lat", "accuracy"),
    [
        (["lon", "lat"], "lon", "lat", None),
        (["Long", "Latitude"], "Long", "Latitude", None),
        (["X", "Y"], "X", "Y", None),
        (
            ["plot-location-Latitude", "plot-location-Longitude", "plot-location-Accuracy"],
            "plot-location-Longitude",
            "plot-location-Latitude",
            "plot-location-Accuracy",
        ),
        (
            ["_plot/gps_latitude", "_plot/gps_longitude", "_plot/gps_precision", "_index"],
            "_plot/gps_longitude",
            "_plot/gps_latitude",
            "_plot/gps_precision",
        ),
    ],
)
def test_longitude_latitude_spellings(columns, lon, lat, accuracy) -> None:
    pair = find_lonlat_columns(columns)[0]
    assert (pair["longitude"], pair["latitude"], pair.get("accuracy")) == (lon, lat, accuracy)


def test_geopoint_is_latitude_first() -> None:
    parsed = parse_odk_geo("20.1 97.2 1200 3.5")
    assert (parsed.geometry.x, parsed.geometry.y, parsed.accuracy_m) == (97.2, 20.1, 3.5)
    assert math.isnan(parse_odk_geo("20.1 97.2").accuracy_m)


def test_geoshape_closed_or_open_gives_the_same_polygon_and_worst_accuracy() -> None:
    closed = parse_odk_geo("20 97 0 3;20 97.001 0 8;20.001 97.001 0 4;20 97 0 3")
    trace = parse_odk_geo("20 97 0 3;20 97.001 0 8;20.001 97.001 0 4;")
    assert closed.geometry.equals(trace.geometry)
    assert closed.geometry.exterior.coords[1] == (97.001, 20.0)
    assert closed.accuracy_m == 8.0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("97.2 20.1 0 0", "look swapped"),
        ("20.1", "has 1 numbers"),
        ("20.1 east", "not numeric"),
        ("20 97;20 97.1;20 97", "2 distinct vertices"),
        ("20 197", "outside -180..180"),
    ],
)
def test_bad_geo_text(text: str, words: str) -> None:
    with pytest.raises(GeoTextError, match=words):
        parse_odk_geo(text)


def test_wkt_and_ewkt() -> None:
    assert parse_wkt("SRID=4326;POINT (97.1 20.1)").coords[0] == (97.1, 20.1)
    with pytest.raises(GeoTextError, match="not valid WKT"):
        parse_wkt("POLYGON ((97 20, 97.1 20")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-14", "2025-01-14"),
        ("2025-01-14T23:50:00.000+06:30", "2025-01-14"),  # the device's local date, not UTC
        ("2025/1/4", "2025-01-04"),
    ],
)
def test_dates_keep_the_local_calendar_day(value: str, expected: str) -> None:
    assert str(as_date(value)[0].date()) == expected


@pytest.mark.parametrize("value", ["04/01/2025", "2025-02-30", "yesterday"])
def test_ambiguous_or_impossible_dates_are_refused(value: str) -> None:
    parsed, problem = as_date(value)
    assert parsed is None and "YYYY-MM-DD" in problem
