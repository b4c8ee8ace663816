"""Files that must be refused as a whole, with a message naming the file and the reason."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from core.errors import InvalidInputError
from models.field.safety import Limits, decode_text, safe_extract_zip
from models.survey import UnsupportedFormatError, load_plots

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples"
KML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
KML_BODY = """<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>
<name>&payload;</name><Point><coordinates>97.1,20.1</coordinates></Point>
</Placemark></Document></kml>"""


def zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return path


def example_shapefile_members() -> dict[str, bytes]:
    with zipfile.ZipFile(EXAMPLES / "plots_shapefile.zip") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize(
    "evil_name",
    ["../plots.shp", "/tmp/plots.shp", "a/../../plots.shp", "C:/temp/plots.shp", "..\\plots.shp"],
)
def test_zip_member_outside_the_archive_is_refused(
    tmp_path: Path, evil_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = example_shapefile_members()
    members[evil_name] = members.pop("plots.shp")
    upload = zip_with(tmp_path / "plots.zip", members)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(work))
    with pytest.raises(InvalidInputError, match=r"plots.zip: member .* points outside the archive"):
        load_plots(upload)
    assert list(work.rglob("*")) == []  # nothing extracted, temporary directory removed


def test_zip_bomb_is_refused_before_extracting(tmp_path: Path) -> None:
    members = example_shapefile_members()
    members["padding.dbf"] = b"\0" * (4 * 1024**2)  # 4 MB of zeros deflate about 1000-fold
    upload = zip_with(tmp_path / "plots.zip", members)
    with pytest.raises(InvalidInputError, match=r"expands \d+-fold .* zip bomb"):
        load_plots(upload)


def test_total_uncompressed_size_is_bounded(tmp_path: Path) -> None:
    upload = zip_with(tmp_path / "plots.zip", example_shapefile_members())
    with pytest.raises(InvalidInputError, match=r"expands to 0 MB, over the 0 MB limit"):
        safe_extract_zip(upload, tmp_path / "out", Limits(max_unzipped_bytes=1000))
    assert not (tmp_path / "out").exists()


def test_zip_with_too_many_members_is_refused(tmp_path: Path) -> None:
    upload = zip_with(tmp_path / "plots.zip", {f"f{i}.txt": b"x" for i in range(100)})
    with pytest.raises(InvalidInputError, match=r"100 files in the archive"):
        load_plots(upload)


def test_zipped_shapefile_needs_exactly_one_complete_shp(tmp_path: Path) -> None:
    members = example_shapefile_members()
    two = {**members, **{n.replace("plots", "more"): b for n, b in members.items()}}
    with pytest.raises(InvalidInputError, match=r"exactly one \.shp \(found: "):
        load_plots(zip_with(tmp_path / "two.zip", two))
    without_dbf = {n: b for n, b in members.items() if not n.endswith(".dbf")}
    with pytest.raises(InvalidInputError, match=r"plots.shp comes without \.dbf"):
        load_plots(zip_with(tmp_path / "nodbf.zip", without_dbf))


BILLION_LAUGHS = (
    KML_HEAD
    + '<!DOCTYPE kml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    + '<!ENTITY payload "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
    + KML_BODY
)
EXTERNAL_ENTITY = (
    KML_HEAD + '<!DOCTYPE kml [<!ENTITY payload SYSTEM "file:///etc/passwd">]>\n' + KML_BODY
)


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_kml_with_entities_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "plots.kml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"plots.kml: XML declares a DOCTYPE or entities"):
        load_plots(path)
    kmz = zip_with(tmp_path / "plots.kmz", {"doc.kml": text.encode()})
    with pytest.raises(InvalidInputError, match=r"doc.kml: XML declares a DOCTYPE"):
        load_plots(kmz)


def test_kml_that_is_not_xml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plots.kml"
    path.write_text("<kml><Placemark>", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"plots.kml: not well-formed XML"):
        load_plots(path)


def test_cp1252_csv_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "plots.csv"
    path.write_bytes(
        "plot_id,crop,note,lon,lat\np1,poppy,caf\xe9 nearby,97.1,20.1\n".encode("cp1252")
    )
    plots, report = load_plots(path)
    assert plots["note"].tolist() == ["café nearby"]
    assert [(w.row, w.field) for w in report.warnings] == [(0, "file")]
    assert "not UTF-8 (byte 0xe9 on line 2)" in report.warnings[0].message


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_utf8_bom_and_utf16_keep_burmese_labels(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "plots.csv"
    path.write_bytes("plot_id,crop,lon,lat\np1,ဘိန်း,97.1,20.1\n".encode(encoding))
    plots, report = load_plots(path)
    assert report.ok and not report.warnings
    assert plots["crop"].tolist() == ["opium_poppy"] and plots["crop_label"].tolist() == ["ဘိန်း"]


def test_binary_content_in_a_csv_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"x.csv: contains NUL bytes"):
        decode_text(b"plot_id\x00\x01\x02", "x.csv")


def test_too_many_rows_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "plots.csv"
    path.write_text(
        "plot_id,crop,lon,lat\n" + "".join(f"p{i},poppy,97.1,20.{i}\n" for i in range(11))
    )
    with pytest.raises(InvalidInputError, match=r"plots.csv: more than 10 data rows"):
        load_plots(path, max_rows=10)
    assert load_plots(path, max_rows=11)[1].total_rows == 11
    features = [
        {
            "type": "Feature",
            "properties": {"crop": "poppy"},
            "geometry": {"type": "Point", "coordinates": [97.1, 20.1]},
        }
    ] * 3
    geojson = tmp_path / "plots.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(InvalidInputError, match=r"3 features, more than 2"):
        load_plots(geojson, max_rows=2)


@pytest.mark.parametrize(
    ("name", "content", "error", "words"),
    [
        (
            "plots.docx",
            b"PK\x03\x04rest",
            UnsupportedFormatError,
            "not a supported field data format",
        ),
        ("plots", b"plot_id", UnsupportedFormatError, "no extension is not a supported"),
        ("plots.csv", b"PK\x03\x04rest", UnsupportedFormatError, "the content is a .zip file"),
        ("plots.gpkg", b"not sqlite at all", InvalidInputError, "wrong signature"),
        ("plots.zip", b"PK\x03\x04broken", InvalidInputError, "not a readable zip archive"),
        ("plots.csv", b"", InvalidInputError, "the file is empty"),
        ("plots.geojson", b"{not json", InvalidInputError, "not valid JSON"),
        ("plots.geojson", b"[" * 100_000, InvalidInputError, "not valid JSON"),
        (
            "plots.geojson",
            b'{"type": "Point"}',
            InvalidInputError,
            "not a GeoJSON FeatureCollection",
        ),
        ("plots.csv", b"plot_id,crop\np1,poppy\n", InvalidInputError, "no geometry found"),
        ("plots.csv", b"plot_id,crop,lon,lat\n", InvalidInputError, "no data rows"),
        (
            "plots.geojson",
            b'{"type":"FeatureCollection","features":[]}',
            InvalidInputError,
            "no data rows",
        ),
        ("plots.csv", b"plot_id,lon,lat\np1,97.1,20.1\n", InvalidInputError, "no crop column"),
    ],
)
def test_unreadable_files_raise_naming_file_and_reason(
    tmp_path: Path, name: str, content: bytes, error: type, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=name.replace(".", r"\.")) as caught:
        load_plots(path)
    assert words in str(caught.value)


def test_unsupported_format_is_an_invalid_input_and_a_value_error() -> None:
    assert issubclass(UnsupportedFormatError, InvalidInputError)
    assert issubclass(UnsupportedFormatError, ValueError)


@pytest.mark.filterwarnings("ignore:GPKG. bad application_id")
def test_corrupt_geopackage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plots.gpkg"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(InvalidInputError, match=r"plots.gpkg: GDAL cannot open it"):
        load_plots(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"nothere.csv: no such file"):
        load_plots(tmp_path / "nothere.csv")


def test_kmz_member_outside_the_archive_is_refused(tmp_path: Path) -> None:
    kml = (EXAMPLES / "plots.kml").read_bytes()
    upload = zip_with(tmp_path / "plots.kmz", {"../../doc.kml": kml})
    with pytest.raises(InvalidInputError, match=r"points outside the archive"):
        load_plots(upload)


def test_geojson_bad_feature_is_one_rejected_row(tmp_path: Path) -> None:
    good = {
        "type": "Feature",
        "properties": {"plot_id": "g1", "crop": "poppy"},
        "geometry": {"type": "Point", "coordinates": [97.1, 20.1]},
    }
    bad = {
        "type": "Feature",
        "properties": {"plot_id": "g2", "crop": "poppy"},
        "geometry": {"type": "Polygon", "coordinates": [[97.1, 20.1]]},
    }
    empty = {"type": "Feature", "properties": {"plot_id": "g3", "crop": "poppy"}, "geometry": None}
    path = tmp_path / "plots.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [good, bad, empty]}))
    plots, report = load_plots(path)
    assert plots["plot_id"].tolist() == ["g1"]
    assert [(e.row, e.field) for e in report.errors] == [(2, "geometry"), (3, "geometry")]
    assert report.errors[0].message.startswith("unreadable geometry")
    assert report.errors[1].message == "no geometry in this feature"


def test_xlsx_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    upload = zip_with(tmp_path / "plots.xlsx", {"hello.txt": b"not a workbook"})
    with pytest.raises(InvalidInputError, match=r"plots.xlsx: not a readable Excel workbook"):
        load_plots(upload)
    bomb = zip_with(tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": b" " * (4 * 1024**2)})
    with pytest.raises(InvalidInputError, match=r"bomb.xlsx: member .* zip bomb"):
        load_plots(bomb)


def test_xlsx_with_xml_entities_is_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(EXAMPLES / "kobo_export.xlsx") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    sheet = members["xl/worksheets/sheet1.xml"]
    members["xl/worksheets/sheet1.xml"] = (
        b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "lol">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>' + sheet.replace(b"<v>", b"<v>&b;", 1)
    )
    with pytest.raises(InvalidInputError, match=r"evil.xlsx: not a readable Excel workbook"):
        load_plots(zip_with(tmp_path / "evil.xlsx", members))


def test_symbolic_link_member_is_refused(tmp_path: Path) -> None:
    members = example_shapefile_members()
    upload = tmp_path / "plots.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
        link = zipfile.ZipInfo("evil.prj")
        link.external_attr = 0o120777 << 16  # a Unix symlink, as `zip --symlinks` stores it
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(InvalidInputError, match=r"member 'evil.prj' is a symbolic link"):
        load_plots(upload)
