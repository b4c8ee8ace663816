"""Screening of uploads before parsing: sizes, archives, XML entities, encodings, rows."""

from __future__ import annotations

import codecs
import io
import zipfile

import pytest

from core.errors import InvalidInputError
from models.store.screening import UploadLimits, UploadTooLargeError, safe_filename, screen_upload

CSV = "plot_id,crop,longitude,latitude\nP1,poppy,97.1,20.2\nP2,cannabis,97.2,20.3\n"


def _write(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("plots.csv", "plots.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\field\\kobo export (2).csv", "kobo_export_2_.csv"),
        ("..", "upload.bin"),
        (".hidden.kml", "hidden.kml"),
    ],
)
def test_safe_filename_keeps_only_a_harmless_base_name(sent, kept):
    assert safe_filename(sent) == kept


def test_plain_utf8_utf8_bom_and_utf16_bom_text_pass(tmp_path):
    limits = UploadLimits()
    screen_upload(_write(tmp_path, "a.csv", CSV.encode("utf-8")), limits)
    screen_upload(_write(tmp_path, "b.csv", codecs.BOM_UTF8 + "ပိုး,ဘိန်း\n".encode()), limits)
    screen_upload(_write(tmp_path, "c.csv", CSV.encode("utf-16")), limits)  # BOM + UTF-16


def test_legacy_code_page_text_is_refused_with_line_and_byte(tmp_path):
    content = CSV.replace("P2", "Pé").encode("cp1252")
    with pytest.raises(InvalidInputError) as error:
        screen_upload(_write(tmp_path, "plots.csv", content), UploadLimits())
    offset = content.index(b"\xe9")
    assert f"plots.csv line 3: byte {offset} (0xe9) is not UTF-8" in str(error.value)


def test_size_limit(tmp_path):
    path = _write(tmp_path, "plots.csv", CSV.encode())
    screen_upload(path, UploadLimits(max_bytes=len(CSV)))
    with pytest.raises(UploadTooLargeError, match=f"{len(CSV)} bytes is over .* {len(CSV) - 1}"):
        screen_upload(path, UploadLimits(max_bytes=len(CSV) - 1))


def test_row_limit_counts_data_rows_without_the_header(tmp_path):
    path = _write(tmp_path, "plots.csv", CSV.encode())
    screen_upload(path, UploadLimits(max_rows=2))
    with pytest.raises(InvalidInputError, match="about 2 rows, more than the limit of 1"):
        screen_upload(path, UploadLimits(max_rows=1))


@pytest.mark.parametrize(
    "member", ["../plots.csv", "/etc/plots.csv", "shp/../../plots.csv", "C:/plots.csv"]
)
def test_archive_members_must_stay_inside(tmp_path, member):
    path = _write(tmp_path, "export.zip", _zip({member: CSV.encode()}))
    with pytest.raises(InvalidInputError, match="outside the archive"):
        screen_upload(path, UploadLimits())


def test_a_highly_compressed_member_is_a_zip_bomb(tmp_path):
    two_mb_of_zeros = bytes(2 * 1024 * 1024)
    path = _write(tmp_path, "bomb.zip", _zip({"plots.shp": two_mb_of_zeros}))
    with pytest.raises(UploadTooLargeError, match="expands .*-fold .*zip bomb"):
        screen_upload(path, UploadLimits())
    # the same bytes stored uncompressed (ratio 1) are only refused by the total size
    stored = _write(
        tmp_path, "stored.zip", _zip({"plots.shp": two_mb_of_zeros}, zipfile.ZIP_STORED)
    )
    screen_upload(stored, UploadLimits(max_bytes=3 * 1024 * 1024))
    with pytest.raises(UploadTooLargeError, match="expands to more than 1048576 bytes"):
        screen_upload(
            stored, UploadLimits(max_bytes=3 * 1024 * 1024, max_unzipped_bytes=1024 * 1024)
        )


def test_too_many_members(tmp_path):
    path = _write(tmp_path, "many.zip", _zip({f"f{i}.txt": b"x" for i in range(6)}))
    with pytest.raises(InvalidInputError, match="6 members, more than the limit of 5"):
        screen_upload(path, UploadLimits(max_members=5))


def test_text_inside_an_archive_is_screened_too(tmp_path):
    kmz = _zip(
        {"doc.kml": b'<?xml version="1.0"?><!DOCTYPE kml SYSTEM "file:///etc/passwd"><kml/>'}
    )
    with pytest.raises(InvalidInputError, match="plots.kmz:doc.kml: XML declares a DTD"):
        screen_upload(_write(tmp_path, "plots.kmz", kmz), UploadLimits())


def test_xml_entities_and_external_entities_are_refused(tmp_path):
    laughs = b'<?xml version="1.0"?><!DOCTYPE k [<!ENTITY a "aaaa">]><kml>&a;</kml>'
    external = (
        b'<?xml version="1.0"?><!DOCTYPE k [<!ENTITY x SYSTEM "file:///etc/passwd">]><kml>&x;</kml>'
    )
    for content in (laughs, external):
        with pytest.raises(InvalidInputError, match="DTD or entities"):
            screen_upload(_write(tmp_path, "plots.kml", content), UploadLimits())
    screen_upload(
        _write(tmp_path, "ok.kml", b'<?xml version="1.0"?><kml><Document/></kml>'), UploadLimits()
    )
    with pytest.raises(InvalidInputError, match="not well-formed XML"):
        screen_upload(_write(tmp_path, "broken.kml", b"<kml><Document></kml>"), UploadLimits())
