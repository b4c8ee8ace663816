"""A team's form profile is stored with the team: its later uploads need no profile."""

from __future__ import annotations

import pytest

from core.errors import InvalidInputError
from models.field.profile_files import form_files
from models.store import open_store


def test_profile_is_stored_and_used_for_the_next_upload(
    tmp_path, odk_zip, kobo_xlsx, profile_with_xlsform
) -> None:
    store = open_store(tmp_path / "ws")
    first = store.ingest_upload(
        odk_zip.read_bytes(),
        odk_zip.name,
        "team-hopong",
        form_files=form_files(profile_with_xlsform),
    )
    assert (first.accepted, first.rejected) == (4, 0)
    assert store.team_form("team-hopong").questions["crop"] == "crop_grown"
    # a labels export in English: no profile sent, the stored one (with its XLSForm) is used
    labels = kobo_xlsx("English (en)")
    second = store.ingest_upload(labels.read_bytes(), labels.name, "team-hopong")
    assert (second.accepted, second.rejected) == (4, 0)
    plots = store.get_plots(team="team-hopong")
    assert sorted(plots["district_id"]) == ["D01", "D01", "D01", "D01", "D02", "D02", "D02", "D02"]
    assert plots["measured_area_ha"].sum() == pytest.approx(2 * (0.4 + 0.12 + 0.976 + 1.6))
    # another team has no profile: its export of the same form is refused with the advice
    import openpyxl

    book = openpyxl.load_workbook(labels)
    book["field"]["A2"] = "X-01"
    book.save(labels)
    with pytest.raises(InvalidInputError, match="no sheet has a crop column"):
        store.ingest_upload(labels.read_bytes(), "other.xlsx", "team-other")
    assert store.team_form("team-other") is None


def test_a_broken_profile_is_refused_before_anything_is_stored(tmp_path, odk_zip) -> None:
    store = open_store(tmp_path / "ws")
    with pytest.raises(InvalidInputError, match="bad.toml: .questions. crop_type is not a plot"):
        store.ingest_upload(
            odk_zip.read_bytes(),
            odk_zip.name,
            "t",
            form_files={"bad.toml": b'[questions]\ncrop_type = "x"\n'},
        )
    assert store.team_form("t") is None
    assert store.list_uploads().empty


def test_errors_in_the_store_name_the_repeat_sheet(tmp_path, kobo_xlsx, profile) -> None:
    import openpyxl

    path = kobo_xlsx("_xml")
    book = openpyxl.load_workbook(path)
    book["field"]["B2"] = "9"
    book.save(path)
    result = open_store(tmp_path / "ws").ingest_upload(
        path.read_bytes(), path.name, "t", form_files=form_files(profile)
    )
    assert result.errors[0] | {"message": ""} == {
        "row": 1,
        "field": "crop_grown",
        "sheet": "field",
        "message": "",
    }
