"""The service under test, tokens, and field exports written in their real layouts.

Every export carries the same three plots (Shan State uplands, EPSG:4326); the
second has the crop label ``banana``, which the survey reader refuses, so each
format must answer 2 accepted, 1 rejected (data row 2, a crop field).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Polygon

from models.store import open_store
from web.app import create_app


@dataclass(frozen=True)
class FieldPlot:
    plot_id: str
    crop: str
    status: str
    date: str
    team: str
    lon: float
    lat: float

    @property
    def ring(self) -> list[tuple[float, float]]:
        """A 50 m square field boundary, closed, (lon, lat)."""
        x, y, d = self.lon, self.lat, 0.0005
        return [(x, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y)]


PLOTS = (
    FieldPlot("SHN-101", "poppy", "cultivated", "2025-01-14", "team-a", 97.1012, 20.2034),
    FieldPlot("SHN-102", "banana", "cultivated", "2025-01-15", "team-a", 97.2531, 20.1517),
    FieldPlot("SHN-103", "cannabis", "eradicated", "2025-01-16", "team-a", 97.1530, 20.2521),
)
ACCEPTED_IDS = ["SHN-101", "SHN-103"]


def _geoshape(plot: FieldPlot) -> str:
    """ODK/Kobo geoshape: 'lat lon alt accuracy' points joined by ';', latitude first."""
    return ";".join(f"{lat} {lon} 1210.0 4.5" for lon, lat in plot.ring)


def kobo_csv(plots=PLOTS) -> bytes:
    """KoboToolbox CSV export: ';'-delimited, '/' group paths, split geopoint, metadata."""
    header = [
        "start", "end", "today", "plot/plot_id", "plot/crop", "plot/status", "plot/location",
        "_plot/location_latitude", "_plot/location_longitude", "_plot/location_altitude",
        "_plot/location_precision", "plot/boundary", "team", "_id", "_uuid",
        "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by",
        "__version__", "_tags", "_index",
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    for i, p in enumerate(plots, start=1):
        writer.writerow([
            f"{p.date}T08:1{i}:05.123+06:30", f"{p.date}T08:2{i}:44.907+06:30", p.date,
            p.plot_id, p.crop, p.status, f"{p.lat} {p.lon} 1210.0 4.5", p.lat, p.lon,
            "1210.0", "4.5", _geoshape(p), p.team, 41800 + i,
            f"6f1c2a4e-0b7d-4f5e-9a3c-5d2e8b7a10{i:02d}", f"{p.date}T02:3{i}:12", "", "",
            "submitted_via_web", "shan_enum", "vQ8sbXkTzR4nM5Gd9pLw2e", "", i,
        ])  # fmt: skip
    return out.getvalue().encode("utf-8")


def odk_central_csv(plots=PLOTS) -> bytes:
    """ODK Central CSV export: ',' delimited, '-' group paths, <name>-Latitude..., metadata."""
    header = [
        "SubmissionDate", "start", "end", "today", "plot-plot_id", "plot-crop", "plot-status",
        "plot-location-Latitude", "plot-location-Longitude", "plot-location-Altitude",
        "plot-location-Accuracy", "plot-boundary", "team", "meta-instanceID", "KEY",
        "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status",
        "ReviewState", "DeviceID", "Edits", "FormVersion",
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for i, p in enumerate(plots, start=1):
        uuid = f"uuid:0c5f3f8e-9d2b-4c1a-8e7f-3a6b9d2e41{i:02d}"
        writer.writerow([
            f"{p.date}T03:4{i}:01.000Z", f"{p.date}T09:1{i}:05.123+06:30",
            f"{p.date}T09:2{i}:44.907+06:30", p.date, p.plot_id, p.crop, p.status,
            p.lat, p.lon, "1210.0", "4.5", _geoshape(p), p.team, uuid, uuid, 17,
            "Shan Team Phone 2", 0, 0, "", "approved", "collect:Xb2kP9", 0, "2025011401",
        ])  # fmt: skip
    return out.getvalue().encode("utf-8")


def _plots_frame(plots=PLOTS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "plot_id": [p.plot_id for p in plots],
            "crop": [p.crop for p in plots],
            "status": [p.status for p in plots],
            "survey_date": [p.date for p in plots],
            "team": [p.team for p in plots],
        },
        geometry=[Polygon(p.ring) for p in plots],
        crs="EPSG:4326",
    )


def geojson(plots=PLOTS) -> bytes:
    """GeoJSON as QGIS/ogr2ogr export it (RFC 7946: longitude first, CRS84)."""
    features = [
        {
            "type": "Feature",
            "properties": {
                "plot_id": p.plot_id, "crop": p.crop, "status": p.status,
                "survey_date": p.date, "team": p.team,
            },
            "geometry": {"type": "Polygon", "coordinates": [[list(xy) for xy in p.ring]]},
        }
        for p in plots
    ]  # fmt: skip
    collection = {
        "type": "FeatureCollection",
        "name": "plots",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }
    return json.dumps(collection, indent=1).encode()


def kml(plots=PLOTS) -> bytes:
    """KML as Google Earth / ogr2ogr write it: Placemark name, ExtendedData SchemaData."""
    placemarks = []
    for i, p in enumerate(plots, start=1):
        coords = " ".join(f"{lon},{lat}" for lon, lat in p.ring)
        data = "".join(
            f'<SimpleData name="{k}">{v}</SimpleData>'
            for k, v in (("crop", p.crop), ("status", p.status), ("survey_date", p.date),
                         ("team", p.team))
        )  # fmt: skip
        placemarks.append(
            f'<Placemark id="plots.{i}"><name>{p.plot_id}</name>'
            f'<ExtendedData><SchemaData schemaUrl="#plots">{data}</SchemaData></ExtendedData>'
            f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates>"
            f"</LinearRing></outerBoundaryIs></Polygon></Placemark>"
        )
    schema = "".join(
        f'<SimpleField name="{k}" type="string"></SimpleField>'
        for k in ("crop", "status", "survey_date", "team")
    )
    return (
        '<?xml version="1.0" encoding="utf-8" ?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        f'<Document id="root_doc"><Schema name="plots" id="plots">{schema}</Schema>'
        f"<Folder><name>plots</name>{''.join(placemarks)}</Folder></Document></kml>\n"
    ).encode()


def kmz(plots=PLOTS) -> bytes:
    """KMZ: a zip holding doc.kml (Google Earth's layout)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("doc.kml", kml(plots))
    return buffer.getvalue()


def zipped_shapefile(tmp: Path, plots=PLOTS) -> bytes:
    """A Shapefile written by GDAL (.shp .shx .dbf .prj .cpg) zipped at the archive root."""
    folder = tmp / "shp"
    folder.mkdir()
    # a .dbf field name holds 10 characters: GDAL writes survey_date as survey_dat
    frame = _plots_frame(plots).rename(columns={"survey_date": "survey_dat"})
    pyogrio.write_dataframe(frame, folder / "plots.shp")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(folder.iterdir()):
            archive.write(part, part.name)
    return buffer.getvalue()


def geopackage(tmp: Path, plots=PLOTS) -> bytes:
    """A GeoPackage with one 'plots' layer, written by GDAL."""
    path = tmp / "plots.gpkg"
    pyogrio.write_dataframe(_plots_frame(plots), path, layer="plots")
    return path.read_bytes()


@pytest.fixture
def exports(tmp_path):
    """name -> bytes of each export format, all carrying :data:`PLOTS`."""
    return {
        "kobo_export.csv": kobo_csv(),
        "odk_central_export.csv": odk_central_csv(),
        "plots.geojson": geojson(),
        "plots.kml": kml(),
        "plots.kmz": kmz(),
        "plots_shapefile.zip": zipped_shapefile(tmp_path),
        "plots.gpkg": geopackage(tmp_path),
    }


@pytest.fixture
def workspace(tmp_path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def app(workspace):
    # a queue long enough for the concurrency tests; tests/security checks the bound itself
    application = create_app(workspace, max_upload_bytes=2 * 1024 * 1024, upload_queue=32)
    yield application
    application.state.store.close()


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def tokens(app):
    """Bearer headers per role."""
    store = app.state.store
    return {
        role: {"Authorization": f"Bearer {store.create_token(team, role)}"}
        for role, team in (("uploader", "team-a"), ("reviewer", "ministry"), ("admin", "ops"))
    } | {"other_uploader": {"Authorization": f"Bearer {store.create_token('team-b', 'uploader')}"}}


@pytest.fixture
def upload(client, tokens):
    """upload(name, content, role="uploader", **params) -> response."""

    def send(name, content, role="uploader", **params):
        return client.post(
            "/api/v1/uploads",
            files={"file": (name, content, "application/octet-stream")},
            headers=tokens[role],
            params=params,
        )

    return send


@pytest.fixture
def open_store_for(workspace):
    """Open the workspace store again, as a second client would."""
    return lambda: open_store(workspace / "store.gpkg", workspace=workspace)


@pytest.fixture
def fieldkit():
    """The export writers and plot records above, for tests that build their own files."""
    import types

    return types.SimpleNamespace(
        FieldPlot=FieldPlot,
        PLOTS=PLOTS,
        ACCEPTED_IDS=ACCEPTED_IDS,
        kobo_csv=kobo_csv,
        odk_central_csv=odk_central_csv,
        geojson=geojson,
        kml=kml,
    )
