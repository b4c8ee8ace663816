"""KML folders and ExtendedData as attributes; GPX tracks closed into field polygons."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from models.survey import load_plots

EXPECTED_AREAS_HA = [0.4, 0.12, 0.976, 1.6]


def test_google_earth_folders_tag_the_crops(google_earth_kml, districts, expected) -> None:
    plots, report = load_plots(google_earth_kml, districts=districts)
    assert report.ok, report.summary()
    # document order: the Poppy folder (H-01, S-01), Cannabis (H-02), Upland rice (S-02)
    assert plots["plot_id"].tolist() == ["H-01", "S-01", "H-02", "S-02"]
    assert plots["crop"].tolist() == ["opium_poppy", "opium_poppy", "cannabis", "other"]
    assert plots["district_id"].tolist() == ["D01", "D02", "D01", "D02"]
    assert plots["folder"].tolist()[0] == "My Places/Hopong 2025/Poppy"
    # the boundary is the area: squares drawn to the stated size (within a few per cent)
    areas = dict(zip(plots["plot_id"], plots["measured_area_ha"], strict=True))
    for code, area in zip(expected["plot_id"], EXPECTED_AREAS_HA, strict=True):
        assert areas[code] == pytest.approx(area, rel=0.05)


def test_kml_folder_path_through_a_profile(google_earth_kml, tmp_path: Path) -> None:
    profile = tmp_path / "ge.toml"
    profile.write_text(
        '[questions]\ncrop = "folder"\n[values.crop]\nother = ["Upland rice"]\n', encoding="utf-8"
    )
    plots, report = load_plots(google_earth_kml, form=profile)
    assert report.ok, report.summary()
    assert plots["crop"].tolist() == ["opium_poppy", "opium_poppy", "cannabis", "other"]


def test_kml_schema_data_and_data_values_are_columns(tmp_path: Path) -> None:
    """QGIS/ogr2ogr write typed SchemaData; Google Earth untyped Data/value."""
    path = tmp_path / "qgis.kml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8" ?>\n<kml xmlns="http://www.opengis.net/kml/2.2">\n'
        '<Document id="root_doc">\n<Schema name="fields" id="fields">\n'
        '\t<SimpleField name="crop" type="string"></SimpleField>\n'
        '\t<SimpleField name="area_rai" type="float"></SimpleField>\n</Schema>\n'
        "<Folder><name>fields</name>\n  <Placemark>\n\t<name>Q-1</name>\n"
        '\t<ExtendedData><SchemaData schemaUrl="#fields">\n'
        '\t\t<SimpleData name="crop">ဘိန္း</SimpleData>\n'
        '\t\t<SimpleData name="area_rai">2.5</SimpleData>\n\t</SchemaData>'
        '<Data name="village"><value>Nam Hu</value></Data></ExtendedData>\n'
        "      <Point><coordinates>97.1012,20.2034</coordinates></Point>\n  </Placemark>\n"
        "</Folder>\n</Document></kml>\n",
        encoding="utf-8",
    )
    plots, report = load_plots(path)
    assert plots["crop"].tolist() == ["opium_poppy"]  # Zawgyi ဘိန္း read as ဘိန်း
    assert plots["measured_area_ha"].tolist() == [pytest.approx(0.4)]
    assert plots["village"].tolist() == ["Nam Hu"]
    assert any("Zawgyi" in w.message for w in report.warnings)


def test_etrex_tracks_are_closed_into_fields_and_waypoints_are_points(
    etrex, tmp_path, districts
) -> None:
    profile = tmp_path / "garmin.toml"
    profile.write_text(
        '[questions]\ncrop = "display_color"\nland_cover = "cmt"\n'
        '[values.crop]\nopium_poppy = ["Red"]\ncannabis = ["Magenta"]\n',
        encoding="utf-8",
    )
    plots, report = load_plots(etrex, form=profile, districts=districts)
    assert report.ok, report.summary()
    assert plots["district_id"].tolist() == ["D01", "D01", "D01"]
    # tracks first, then waypoints
    assert plots["plot_id"].tolist() == ["H-01", "H-02", "F-01"]
    assert plots["crop"].tolist() == ["opium_poppy", "cannabis", "other"]
    assert plots["land_cover"].tolist() == ["opium_poppy", "cannabis", "forest"]
    assert plots.geom_type.tolist() == ["Polygon", "Polygon", "Point"]
    assert plots["measured_area_ha"].tolist()[:2] == pytest.approx([0.4, 0.12], rel=0.05)
    assert math.isnan(plots["measured_area_ha"].iloc[2])
    # GPX times are UTC: 02:25 UTC is still 14 January in Myanmar
    assert plots["survey_date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-01-14"] * 3
    assert any("GPX times are UTC" in w.message for w in report.warnings)
    assert plots["gps_accuracy_m"].isna().all()  # Garmin tracks carry no dilution of precision


def test_gpx_accuracy_from_hdop(dop_gpx, tmp_path: Path, districts) -> None:
    from core.errors import InvalidInputError

    with pytest.raises(
        InvalidInputError, match='(?s)Columns found: kind, name, desc.*crop = "desc"'
    ):
        load_plots(dop_gpx)  # the crop is free text in <desc>: the error shows the profile line
    profile = tmp_path / "walks.toml"
    profile.write_text('[questions]\ncrop = "desc"\n', encoding="utf-8")
    plots, report = load_plots(dop_gpx, form=profile, districts=districts)
    assert report.ok, report.summary()
    assert plots["crop"].tolist() == ["opium_poppy"]  # <desc>poppy</desc>
    assert plots["district_id"].tolist() == ["D02"]
    # worst HDOP 1.8 x the default 5 m UERE
    assert plots["gps_accuracy_m"].tolist() == [pytest.approx(9.0)]
    assert plots["measured_area_ha"].tolist() == [pytest.approx(0.976, rel=0.05)]


def test_gpx_track_too_short_is_one_rejected_row(tmp_path: Path) -> None:
    path = tmp_path / "short.gpx"
    path.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX'
        '/1/1"><trk><name>A</name><desc>poppy</desc><trkseg><trkpt lat="20.1" lon="97.1"/>'
        '<trkpt lat="20.1" lon="97.1"/><trkpt lat="20.2" lon="97.1"/></trkseg></trk>'
        '<trk><name>B</name><desc>poppy</desc><trkseg><trkpt lat="20.1" lon="97.1"/>'
        '<trkpt lat="20.1" lon="97.1005"/><trkpt lat="20.1005" lon="97.1005"/></trkseg></trk></gpx>',
        encoding="utf-8",
    )
    profile = tmp_path / "walks.toml"
    profile.write_text('[questions]\ncrop = "desc"\n', encoding="utf-8")
    plots, report = load_plots(path, form=profile)
    assert plots["plot_id"].tolist() == ["B"]
    assert [(e.row, e.message) for e in report.errors] == [
        (1, "the track has 2 distinct points; a walked field boundary needs at least 3")
    ]
