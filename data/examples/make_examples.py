"""Write the example field exports in this folder, one survey in every supported layout.

The same five plots (southern Shan State, Myanmar, dry season 2024-25) are
written the way each tool exports them, so that every format can be checked
against the same expected table:

- ``kobo_export.csv``: KoboToolbox CSV, ``;``-delimited, ``/`` group paths, geoshape
  text, geopoint split into ``_plot/location_latitude`` etc., Kobo metadata;
- ``kobo_export_labels.csv``: the same export "with labels" (question and choice labels);
- ``kobo_export.xlsx``: KoboToolbox's default XLSX export of the same submissions;
- ``odk_central_export.csv``: ODK Central CSV, ``,``, ``-`` group paths,
  ``plot-location-Latitude``..., ``SubmissionDate``, ``meta-instanceID``, ``KEY``,
  ``SubmitterID``, ``SubmitterName``, ``ReviewState``;
- ``kobo_export.geojson`` and ``odk_central_export.geojson``: their GeoJSON exports (lon first);
- ``plots_lonlat.csv`` (points), ``plots_wkt.csv``, ``plots.geojson``, ``plots.gpkg``,
  ``plots_shapefile.zip``, ``plots.kml``, ``plots.kmz``: GIS layouts.

Run ``python data/examples/make_examples.py`` to rewrite them (deterministic).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point, Polygon

from core.io import atomic_path, atomic_write_text

HERE = Path(__file__).resolve().parent
SIDE_DEG = 0.0005  # about 52 m east-west and 55 m north-south at 20.2 N: about 0.29 ha

# plot_id, crop name, crop label (Kobo "with labels"), status, date, team,
# lon, lat (south-west corner or point), polygon?, land cover
PLOTS = [
    (
        "SHN-001",
        "poppy",
        "Opium poppy / ဘိန်း",
        "cultivated",
        "2025-01-14",
        "team-a",
        97.1012,
        20.2034,
        True,
        "",
    ),
    (
        "SHN-002",
        "cannabis",
        "Cannabis / ဆေးခြောက်",
        "eradicated",
        "2025-01-15",
        "team-a",
        97.2531,
        20.1517,
        True,
        "",
    ),
    (
        "SHN-003",
        "maize",
        "Maize / ပြောင်း",
        "cultivated",
        "2025-01-15",
        "team-b",
        97.1530,
        20.2521,
        True,
        "other_crops",
    ),
    (
        "SHN-004",
        "other",
        "Other / အခြား",
        "unknown",
        "2025-01-16",
        "team-b",
        97.0520,
        20.1010,
        False,
        "forest",
    ),
    ("SHN-005", "ဘိန်း", "ဘိန်း", "abandoned", "2025-01-16", "team-b", 97.3020, 20.2530, True, ""),
]
ALTITUDE_M, ACCURACY_M = 1210.0, 4.5


def square(lon: float, lat: float) -> list[tuple[float, float]]:
    """Corners of a plot, counter-clockwise from the south-west, closed (7 decimals, as GPS)."""
    e, n = round(lon + SIDE_DEG, 7), round(lat + SIDE_DEG, 7)
    return [(lon, lat), (e, lat), (e, n), (lon, n), (lon, lat)]


def geopoint(lon: float, lat: float, acc: float = ACCURACY_M) -> str:
    return f"{round(lat, 7)} {round(lon, 7)} {ALTITUDE_M} {acc}"


def geoshape(lon: float, lat: float) -> str:
    return ";".join(geopoint(x, y) for x, y in square(lon, lat))


def geometry(plot: tuple) -> Polygon | Point:
    lon, lat, is_polygon = plot[6], plot[7], plot[8]
    return Polygon(square(lon, lat)) if is_polygon else Point(lon, lat)


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], delimiter: str, quote_all: bool
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        lineterminator="\r\n" if quote_all else "\n",
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def kobo_rows(labels: bool) -> tuple[list[str], list[list[str]]]:
    if labels:
        header = [
            "start",
            "end",
            "Date of visit",
            "Plot ID",
            "Crop observed",
            "Status",
            "Plot location",
            "_Plot location_latitude",
            "_Plot location_longitude",
            "_Plot location_altitude",
            "_Plot location_precision",
            "Plot boundary",
            "Team",
        ]
    else:
        header = [
            "start",
            "end",
            "today",
            "plot/plot_id",
            "plot/crop",
            "plot/status",
            "plot/location",
            "_plot/location_latitude",
            "_plot/location_longitude",
            "_plot/location_altitude",
            "_plot/location_precision",
            "plot/boundary",
            "team",
        ]
    header += [
        "_id",
        "_uuid",
        "_submission_time",
        "_validation_status",
        "_notes",
        "_status",
        "_submitted_by",
        "__version__",
        "_tags",
        "_index",
    ]
    rows = []
    for index, plot in enumerate(PLOTS, start=1):
        pid, crop, label, status, day, team, lon, lat, is_polygon, _ = plot
        cx, cy = (lon + SIDE_DEG / 2, lat + SIDE_DEG / 2) if is_polygon else (lon, lat)
        status_text = status.capitalize() if labels else status
        rows.append(
            [
                f"{day}T08:{10 + index}:05.123+06:30",
                f"{day}T08:{20 + index}:44.907+06:30",
                day,
                pid,
                label if labels else crop,
                status_text,
                geopoint(cx, cy),
                str(round(cy, 7)),
                str(round(cx, 7)),
                str(ALTITUDE_M),
                str(ACCURACY_M),
                geoshape(lon, lat) if is_polygon else "",
                team,
                str(41800 + index),
                f"6f1c2a4e-0b7d-4f5e-9a3c-5d2e8b7a10{index:02d}",
                f"{day}T02:{30 + index}:12",
                "",
                "",
                "submitted_via_web",
                "shan_enum",
                "vQ8sbXkTzR4nM5Gd9pLw2e",
                "",
                str(index),
            ]
        )
    return header, rows


def odk_rows() -> tuple[list[str], list[list[str]]]:
    header = [
        "SubmissionDate",
        "start",
        "end",
        "today",
        "plot-plot_id",
        "plot-crop",
        "plot-status",
        "plot-location-Latitude",
        "plot-location-Longitude",
        "plot-location-Altitude",
        "plot-location-Accuracy",
        "plot-boundary",
        "team",
        "meta-instanceID",
        "KEY",
        "SubmitterID",
        "SubmitterName",
        "AttachmentsPresent",
        "AttachmentsExpected",
        "Status",
        "ReviewState",
        "DeviceID",
        "Edits",
        "FormVersion",
    ]
    rows = []
    for index, plot in enumerate(PLOTS, start=1):
        pid, crop, _, status, day, team, lon, lat, is_polygon, _ = plot
        cx, cy = (lon + SIDE_DEG / 2, lat + SIDE_DEG / 2) if is_polygon else (lon, lat)
        uuid = f"uuid:0c5f3f8e-9d2b-4c1a-8e7f-3a6b9d2e41{index:02d}"
        rows.append(
            [
                f"{day}T03:{40 + index}:01.000Z",
                f"{day}T09:{10 + index}:05.123+06:30",
                f"{day}T09:{20 + index}:44.907+06:30",
                day,
                pid,
                crop,
                status,
                str(round(cy, 7)),
                str(round(cx, 7)),
                str(ALTITUDE_M),
                str(ACCURACY_M),
                geoshape(lon, lat) if is_polygon else "",
                team,
                uuid,
                uuid,
                "17",
                "Shan Team Phone 2",
                "0",
                "0",
                "",
                "approved" if index % 2 else "hasIssues",
                "collect:Xb2kP9",
                "0",
                "2025011401",
            ]
        )
    return header, rows


def feature_collection(features: list[dict]) -> str:
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1
    )


def kobo_geojson() -> str:
    features = []
    for index, plot in enumerate(PLOTS, start=1):
        pid, crop, _, status, day, team = plot[:6]
        features.append(
            {
                "type": "Feature",
                "geometry": geometry(plot).__geo_interface__,
                "properties": {
                    "start": f"{day}T08:1{index}:05.123+06:30",
                    "today": day,
                    "plot_id": pid,
                    "crop": crop,
                    "status": status,
                    "team": team,
                    "_id": 41800 + index,
                    "_uuid": f"6f1c2a4e-0b7d-4f5e-9a3c-5d2e8b7a10{index:02d}",
                    "_submission_time": f"{day}T02:3{index}:12",
                    "_submitted_by": "shan_enum",
                },
            }
        )
    return feature_collection(features)


def odk_geojson() -> str:
    features = []
    for index, plot in enumerate(PLOTS, start=1):
        pid, crop, _, status, day, team = plot[:6]
        uuid = f"uuid:0c5f3f8e-9d2b-4c1a-8e7f-3a6b9d2e41{index:02d}"
        features.append(
            {
                "type": "Feature",
                "id": uuid,
                "geometry": geometry(plot).__geo_interface__,
                "properties": {
                    "today": day,
                    "plot": {"plot_id": pid, "crop": crop, "status": status},
                    "team": team,
                    "meta": {"instanceID": uuid},
                    "__system": {
                        "submissionDate": f"{day}T03:4{index}:01.000Z",
                        "submitterName": "Shan Team Phone 2",
                        "reviewState": "approved",
                    },
                },
            }
        )
    return feature_collection(features)


def gis_frame(points_only: bool = False) -> gpd.GeoDataFrame:
    records = []
    for plot in PLOTS:
        pid, crop, _, status, day, team, lon, lat, is_polygon, cover = plot
        shape = Point(lon, lat) if points_only or not is_polygon else geometry(plot)
        records.append(
            {
                "plot_id": pid,
                "crop": crop,
                "status": status,
                "survey_date": day,
                "team": team,
                "land_cover": cover,
                "geometry": shape,
            }
        )
    return gpd.GeoDataFrame(records, geometry="geometry", crs="EPSG:4326")


def main() -> None:
    write_csv(HERE / "kobo_export.csv", *kobo_rows(labels=False), delimiter=";", quote_all=True)
    write_csv(
        HERE / "kobo_export_labels.csv", *kobo_rows(labels=True), delimiter=";", quote_all=True
    )
    write_csv(HERE / "odk_central_export.csv", *odk_rows(), delimiter=",", quote_all=False)
    atomic_write_text(HERE / "kobo_export.geojson", kobo_geojson())
    atomic_write_text(HERE / "odk_central_export.geojson", odk_geojson())
    frame = gis_frame()
    points = gis_frame(points_only=True)
    write_csv(
        HERE / "plots_lonlat.csv",
        [
            "plot_id",
            "crop",
            "status",
            "survey_date",
            "team",
            "longitude",
            "latitude",
            "gps_accuracy_m",
        ],
        [
            [
                r.plot_id,
                r.crop,
                r.status,
                r.survey_date,
                r.team,
                f"{r.geometry.x}",
                f"{r.geometry.y}",
                "3.0",
            ]
            for r in points.itertuples()
        ],
        delimiter=",",
        quote_all=False,
    )
    write_csv(
        HERE / "plots_wkt.csv",
        ["plot_id", "crop", "status", "survey_date", "team", "land_cover", "WKT"],
        [
            [r.plot_id, r.crop, r.status, r.survey_date, r.team, r.land_cover, r.geometry.wkt]
            for r in frame.itertuples()
        ],
        delimiter=",",
        quote_all=False,
    )
    with atomic_path(HERE / "kobo_export.xlsx") as tmp:
        _kobo_workbook(tmp)
    with atomic_path(HERE / "plots.geojson") as tmp:
        frame.to_file(tmp, driver="GeoJSON", layer="plots")
    with atomic_path(HERE / "plots.gpkg") as tmp:
        frame.assign(survey_date=frame["survey_date"].astype("datetime64[ms]").dt.date).to_file(
            tmp, layer="survey_plots", driver="GPKG"
        )
    with atomic_path(HERE / "plots_shapefile.zip") as tmp:
        _shapefile_zip(frame, tmp)
    with atomic_path(HERE / "plots.kml") as tmp:
        frame.rename(columns={"plot_id": "Name"}).to_file(tmp, driver="KML", layer="plots")
    with atomic_path(HERE / "plots.kmz") as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as kmz:
            kmz.write(HERE / "plots.kml", "doc.kml")


def _kobo_workbook(target: Path) -> None:
    """The KoboToolbox XLSX export: same columns as the CSV, numbers and dates as typed cells."""
    import datetime as dt

    import openpyxl

    header, rows = kobo_rows(labels=False)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Plot survey 2024-25"
    sheet.append(header)
    numeric = {
        "_plot/location_latitude",
        "_plot/location_longitude",
        "_plot/location_altitude",
        "_plot/location_precision",
        "_id",
        "_index",
    }
    for row in rows:
        cells = []
        for column, value in zip(header, row, strict=True):
            if column == "today":
                cells.append(dt.date.fromisoformat(value))
            elif column in numeric and value:
                cells.append(float(value))
            else:
                cells.append(value or None)
        sheet.append(cells)
    workbook.create_sheet("plot_photos")  # Kobo puts repeat groups on further sheets
    workbook.save(target)


def _shapefile_zip(frame: gpd.GeoDataFrame, target: Path) -> None:
    import tempfile
    import warnings

    warnings.filterwarnings("ignore", message=".*(truncated|laundered).*")
    with tempfile.TemporaryDirectory() as tmp:
        # a Shapefile layer holds one geometry type: GIS users export polygons and points apart
        frame[frame.geom_type == "Polygon"].to_file(Path(tmp) / "plots.shp", encoding="UTF-8")
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(tmp).iterdir()):
                archive.write(part, part.name)


if __name__ == "__main__":
    main()
