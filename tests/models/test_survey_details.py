"""Smaller reading rules documented in data/README.md: units, CRS members, teams, KML styles."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, box

from models.survey import load_plots


def test_area_units_are_converted_to_hectares(tmp_path: Path) -> None:
    path = tmp_path / "plots.csv"
    path.write_text("plot_id,crop,area_m2,lon,lat\np1,poppy,2500,97.1,20.1\n", encoding="utf-8")
    assert load_plots(path)[0]["measured_area_ha"].tolist() == [0.25]
    path.write_text("plot_id,crop,area_rai,lon,lat\np1,ฝิ่น,2,97.1,20.1\n", encoding="utf-8")
    assert load_plots(path)[0]["measured_area_ha"].tolist() == [pytest.approx(0.32)]
    path.write_text("plot_id,crop,area,lon,lat\np1,poppy,0.4,97.1,20.1\n", encoding="utf-8")
    plots, report = load_plots(path)
    assert plots["measured_area_ha"].tolist() == [0.4]
    assert report.warnings[0].message.startswith(
        "area column has no unit in its name; read as hectares"
    )


def test_geojson_legacy_crs_member_is_honoured(tmp_path: Path) -> None:
    easting, northing = Transformer.from_crs(4326, 32647, always_xy=True).transform(97.1, 20.1)
    document = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32647"}},
        "features": [
            {
                "type": "Feature",
                "properties": {"plot_id": "u", "crop": "opium"},
                "geometry": {"type": "Point", "coordinates": [easting, northing]},
            }
        ],
    }
    path = tmp_path / "utm.geojson"
    path.write_text(json.dumps(document))
    plots, report = load_plots(path)
    assert report.ok
    assert plots.geometry.iloc[0].coords[0] == pytest.approx((97.1, 20.1), abs=1e-7)


def test_team_argument_overrides_submitter_metadata_but_not_a_team_column(tmp_path: Path) -> None:
    path = tmp_path / "kobo.csv"
    path.write_text(
        "plot_id;crop;lon;lat;_submitted_by;_uuid\np1;poppy;97.1;20.1;enum7;u1\n", encoding="utf-8"
    )
    assert load_plots(path)[0]["team"].tolist() == ["enum7"]
    assert load_plots(path, team="team-north")[0]["team"].tolist() == ["team-north"]
    path.write_text("plot_id;crop;lon;lat;team\np1;poppy;97.1;20.1;team-a\n", encoding="utf-8")
    assert load_plots(path, team="team-north")[0]["team"].tolist() == ["team-a"]


def test_google_earth_kml_with_data_values_and_altitudes(tmp_path: Path) -> None:
    path = tmp_path / "ge.kml"
    path.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>survey</name>
<Folder><name>fields</name>
<Placemark><name>K-1</name>
 <ExtendedData><Data name="crop"><value>ဘိန်း</value></Data>
  <Data name="survey_date"><value>2025-01-20</value></Data></ExtendedData>
 <Polygon><outerBoundaryIs><LinearRing><coordinates>
  97.1,20.1,1210 97.1005,20.1,1212 97.1005,20.1005,1215 97.1,20.1005,1211 97.1,20.1,1210
 </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
</Folder>
<Folder><name>points</name>
<Placemark><name>K-2</name>
 <ExtendedData><Data name="crop"><value>other</value></Data>
  <Data name="land_cover"><value>Forest</value></Data></ExtendedData>
 <Point><coordinates>97.2,20.2,1300</coordinates></Point></Placemark>
</Folder></Document></kml>""",
        encoding="utf-8",
    )
    plots, report = load_plots(path)
    assert report.ok, report.summary()
    assert plots["plot_id"].tolist() == ["K-1", "K-2"]
    assert plots["crop"].tolist() == ["opium_poppy", "other"]
    assert plots["land_cover"].tolist() == ["opium_poppy", "forest"]
    assert not plots.geometry.has_z.any()
    assert plots.geometry.iloc[0].equals(box(97.1, 20.1, 97.1005, 20.1005))


def test_geopackage_layer_choice_and_multipolygons(tmp_path: Path) -> None:
    path = tmp_path / "survey.gpkg"
    fields = gpd.GeoDataFrame(
        {"plot_id": ["m1"], "crop": ["cannabis"]},
        geometry=[
            MultiPolygon([box(97.1, 20.1, 97.1004, 20.1004), box(97.101, 20.1, 97.1014, 20.1004)])
        ],
        crs="EPSG:4326",
    )
    other = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    other.to_file(path, layer="villages")
    fields.to_file(path, layer="survey_plots")
    plots, report = load_plots(path)
    assert plots["plot_id"].tolist() == ["m1"]
    assert plots.geom_type.tolist() == ["MultiPolygon"]
    # two squares of 0.0004 degrees: each about 41.8 m x 44.2 m
    assert plots["measured_area_ha"].iloc[0] == pytest.approx(2 * 0.1848, rel=0.01)
    assert report.warnings[0].message == "2 layers; read 'survey_plots'"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (
            {"districts": gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(0, 0)], crs=4326)},
            "districts= needs a district_id column",
        ),
        ({"season": ("2025-03-01", "2024-09-01")}, "ends before it starts"),
        ({"area_bounds_ha": (5, 1)}, "must be (low, high)"),
        ({"crs": "EPSG:999999"}, "is not a coordinate reference system"),
    ],
)
def test_bad_arguments_are_named(tmp_path: Path, kwargs: dict, words: str) -> None:
    path = tmp_path / "plots.csv"
    path.write_text("plot_id,crop,lon,lat\np1,poppy,97.1,20.1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="plots.csv") as caught:
        load_plots(path, **kwargs)
    assert words in str(caught.value)


def test_empty_accuracy_cell_falls_back_to_the_geopoint_accuracy(tmp_path: Path) -> None:
    path = tmp_path / "odk.csv"
    path.write_text(
        "KEY,SubmissionDate,plot-crop,plot-gps,plot-gps_accuracy_m\n"
        "uuid:1,2025-01-10T03:00:00.000Z,poppy,20.1 97.1 1200 7.5,\n"
        "uuid:2,2025-01-10T03:00:00.000Z,poppy,20.2 97.2 1200 7.5,3.25\n",
        encoding="utf-8",
    )
    plots, report = load_plots(path)
    assert report.ok
    assert plots["gps_accuracy_m"].tolist() == [7.5, 3.25]
    assert plots["plot_id"].tolist() == ["uuid:1", "uuid:2"]


ODK_MAIN = (
    "SubmissionDate,today,team,village,meta-instanceID,KEY,SubmitterID,SubmitterName,"
    "AttachmentsPresent,AttachmentsExpected,Status,ReviewState,DeviceID,Edits,FormVersion\n"
    "2025-01-12T04:10:00.000Z,2025-01-12,team-c,Ho Pong,uuid:aa,uuid:aa,21,Phone 4,0,0,,"
    "approved,collect:A1,0,3\n"
    "2025-01-13T04:10:00.000Z,2025-01-13,team-c,Nam Lan,uuid:bb,uuid:bb,21,Phone 4,0,0,,"
    ",collect:A1,0,3\n"
)
ODK_REPEAT = (
    "plots-plot_id,plots-crop,plots-boundary,PARENT_KEY,KEY\n"
    "H1-1,poppy,20.1 97.1 0 4;20.1 97.1005 0 4;20.1005 97.1005 0 4;20.1 97.1 0 4,"
    "uuid:aa,uuid:aa/plots[1]\n"
    "H1-2,ganja,20.2 97.2 0 6;20.2 97.2005 0 6;20.2005 97.2005 0 6;20.2 97.2 0 6,"
    "uuid:aa,uuid:aa/plots[2]\n"
    "H2-1,banana,20.3 97.3 0 4;20.3 97.3005 0 4;20.3005 97.3005 0 4;20.3 97.3 0 4,"
    "uuid:bb,uuid:bb/plots[1]\n"
)


def test_odk_central_zip_with_plots_in_a_repeat_group(tmp_path: Path) -> None:
    import zipfile

    upload = tmp_path / "plot_survey.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr("plot_survey.csv", ODK_MAIN)
        archive.writestr("plot_survey-plots.csv", ODK_REPEAT)
    plots, report = load_plots(upload)
    assert plots["plot_id"].tolist() == ["H1-1", "H1-2"]
    assert plots["crop"].tolist() == ["opium_poppy", "cannabis"]
    # the submission's date, team and village reach each plot through PARENT_KEY
    assert plots["survey_date"].astype(str).tolist() == ["2025-01-12", "2025-01-12"]
    assert plots["team"].tolist() == ["team-c", "team-c"]
    assert plots["village"].tolist() == ["Ho Pong", "Ho Pong"]
    assert plots["gps_accuracy_m"].tolist() == [4.0, 6.0]
    assert [(e.row, e.field) for e in report.errors] == [(3, "plots-crop")]
    assert report.source == "plot_survey.zip"
    assert "rows are numbered in plot_survey-plots.csv" in [w.message for w in report.warnings]


def test_kml_multigeometry_with_a_label_point_keeps_the_polygon(tmp_path: Path) -> None:
    path = tmp_path / "ge.kml"
    path.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>G-1</name><ExtendedData><Data name="crop"><value>ຝິ່ນ</value></Data>
 </ExtendedData><MultiGeometry>
 <Point><coordinates>97.10025,20.10025,0</coordinates></Point>
 <Polygon><outerBoundaryIs><LinearRing><coordinates>
  97.1,20.1,0 97.1005,20.1,0 97.1005,20.1005,0 97.1,20.1005,0 97.1,20.1,0
 </coordinates></LinearRing></outerBoundaryIs></Polygon></MultiGeometry></Placemark>
<Placemark><name>G-2</name><ExtendedData><Data name="crop"><value>ກັນຊາ</value></Data>
 </ExtendedData><MultiGeometry>
 <Point><coordinates>97.2,20.2,0</coordinates></Point>
 <Point><coordinates>97.3,20.3,0</coordinates></Point></MultiGeometry></Placemark>
</Document></kml>""",
        encoding="utf-8",
    )
    plots, report = load_plots(path)
    assert plots["plot_id"].tolist() == ["G-1"]
    assert plots.geometry.iloc[0].equals(box(97.1, 20.1, 97.1005, 20.1005))
    assert [(w.row, w.message) for w in report.warnings] == [
        (1, "1 non-polygon part(s) of the geometry were ignored")
    ]
    assert [(e.row, e.message) for e in report.errors] == [
        (2, "a MultiPoint is not a field plot; expected a polygon or a point")
    ]


def test_stated_district_is_kept_but_a_disagreement_is_reported(tmp_path: Path) -> None:
    districts = gpd.GeoDataFrame(
        {"district_id": ["D01", "D02"]},
        geometry=[box(97.0, 20.0, 97.2, 20.3), box(97.2, 20.0, 97.4, 20.3)],
        crs="EPSG:4326",
    )
    path = tmp_path / "plots.csv"
    path.write_text(
        "plot_id,crop,district,lon,lat\n"
        "p1,poppy,D01,97.1,20.1\n"
        "p2,poppy,D01,97.3,20.1\n"
        "p3,poppy,,97.3,20.2\n",
        encoding="utf-8",
    )
    plots, report = load_plots(path, districts=districts)
    assert plots["district_id"].tolist() == ["D01", "D01", "D02"]
    assert [(w.row, w.field) for w in report.warnings] == [(2, "district")]
    assert "lies in district 'D02'" in report.warnings[0].message
