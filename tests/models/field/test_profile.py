"""Form profiles: a team's own question names, answers and units, read from TOML or the XLSForm."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InvalidInputError
from models.field.profile_files import form_files, load_form, load_form_files
from models.survey import load_plots


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_differently_named_questions_through_a_profile_with_rai(tmp_path, profile) -> None:
    """A plain CSV of the team's own questions: areas in rai become hectares (x 0.16)."""
    path = write_csv(
        tmp_path / "fields.csv",
        [
            "field_code,crop_grown,area_rai,township,team_name,visit_date,lon,lat",
            "T-1,1,2.5,D01,team-hopong,2025-01-14,97.161,20.811",
            "T-2,2,0.75,D01,team-hopong,2025-01-14,97.163,20.812",
            "T-3,3,10,D02,team-hopong,2025-01-15,97.304,20.653",
        ],
    )
    plots, report = load_plots(path, form=profile)
    assert report.ok, report.summary()
    assert plots["plot_id"].tolist() == ["T-1", "T-2", "T-3"]
    assert plots["crop"].tolist() == ["opium_poppy", "cannabis", "other"]
    assert plots["measured_area_ha"].tolist() == pytest.approx([0.4, 0.12, 1.6])
    assert plots["district_id"].tolist() == ["D01", "D01", "D02"]
    assert plots["team"].tolist() == ["team-hopong"] * 3
    # without the profile the same file is refused, naming its columns and the fix
    with pytest.raises(InvalidInputError) as caught:
        load_plots(path)
    assert "field_code, crop_grown, area_rai, township" in str(caught.value)
    assert 'crop = "crop_grown"' in str(caught.value)


def test_english_labels_export_keeps_the_rai_unit_and_the_township_code(
    kobo_xlsx, xlsform, districts
) -> None:
    """The labels export's 'Area (rai)' and township label 'Hopong' read back through the XLSForm:
    0.976 ha stated for S-01 (6.1 rai), not the boundary's area, and D02 not 'Hsihseng'."""
    plots, report = load_plots(kobo_xlsx("English (en)"), form=xlsform, districts=districts)
    assert report.ok, report.summary()
    assert plots["district_id"].tolist() == ["D01", "D01", "D02", "D02"]
    assert plots["measured_area_ha"].tolist() == pytest.approx([0.4, 0.12, 0.976, 1.6])
    assert plots["crop"].tolist() == ["opium_poppy", "cannabis", "opium_poppy", "other"]


def test_values_map_answers_and_district_labels(tmp_path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(
        '[questions]\ncrop = "what"\ndistrict_id = "tsp"\nstatus = "state"\n'
        '[values.crop]\nopium_poppy = ["A"]\n[values.district_id]\nMMR-D07 = ["Ho Pong", "ဟိုပုံး"]\n'
        '[values.status]\neradicated = ["cut down"]\n',
        encoding="utf-8",
    )
    path = write_csv(
        tmp_path / "x.csv",
        ["what,tsp,state,lon,lat", "A,Ho Pong,cut down,97.1,20.1", "ganja,ဟိုပုံး,,97.2,20.2"],
    )
    plots, report = load_plots(path, form=profile)
    assert report.ok, report.summary()
    assert plots["crop"].tolist() == ["opium_poppy", "cannabis"]  # the label table still applies
    assert plots["district_id"].tolist() == ["MMR-D07", "MMR-D07"]
    assert plots["status"].tolist() == ["eradicated", "unknown"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[questions]\ncrop_type = "x"\n', "crop_type is not a plot field"),
        ('[units]\narea = "bigha"\n', "area unit 'bigha' is not known"),
        ('[values.crop]\nheroin = ["1"]\n', "'heroin' is not one of opium_poppy"),
        ('[values.crop]\nopium_poppy = ["1"]\ncannabis = ["1"]\n', "given for both"),
        ('[form]\nxlsform = "missing.xlsx"\n', "not found next to the profile"),
        ('[gps]\nutc_offset = "6.5h"\n', "not an offset"),
        ("[questions\n", "not valid TOML"),
        ('[colums]\ncrop = "x"\n', "unknown section(s) colums"),
    ],
)
def test_profile_mistakes_name_the_file_key_and_fix(tmp_path, text: str, words: str) -> None:
    path = tmp_path / "team.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInputError, match="team.toml") as caught:
        load_form(path)
    assert words in str(caught.value)


def test_a_profile_question_missing_from_the_file_is_an_error_for_crop(tmp_path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text('[questions]\ncrop = "crop_grown"\n', encoding="utf-8")
    path = write_csv(tmp_path / "x.csv", ["crop,lon,lat", "poppy,97.1,20.1"])
    with pytest.raises(
        InvalidInputError, match="maps crop to 'crop_grown'.*columns: crop, lon, lat"
    ):
        load_plots(path, form=profile)


def test_utc_offset_and_uere(tmp_path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[gps]\nutc_offset = "+06:30"\nuere_m = 4.0\n', encoding="utf-8")
    form = load_form(path)
    assert (form.utc_offset_h, form.uere_m) == (6.5, 4.0)


def test_profile_files_round_trip_with_their_xlsform(profile_with_xlsform) -> None:
    files = form_files(profile_with_xlsform)
    assert sorted(files) == ["hopong_profile_labels.toml", "hopong_survey.xlsx"]
    form = load_form_files(files)
    assert form.xlsform is not None and form.xlsform.repeats == ("field",)
    assert form.questions["area"] == "area_rai" and form.area_unit == "rai"
    with pytest.raises(InvalidInputError, match="give one .toml profile"):
        load_form_files({"a.csv": b""})


def test_xlsform_alone_is_a_profile(xlsform) -> None:
    form = load_form(xlsform)
    assert form.title == "Hopong opium poppy field survey 2025"
    assert form.xlsform.languages == ("English (en)", "Myanmar (my)")
    names = form.xlsform.header_names()
    assert names["Area (rai)"] == "area_rai"
    assert names["_Village location_latitude"] == "_village_gps_latitude"
    assert names["Visit/Field/Crop grown"] == "visit/field/crop_grown"  # "include groups"
    crop = form.xlsform.question("crop_grown")
    assert crop.repeat == "field"
    assert form.xlsform.choice_names(crop)["ဘိန်းပင်"] == "1"
    # the select question whose choices are crops is the crop question; its names mean them
    assert form.questions == {"crop": "crop_grown"}
    assert form.value_of("crop", "1") == "opium_poppy"
    assert form.value_of("crop", "3") == "other"


def test_the_xlsform_uploaded_as_data_says_what_it_is(xlsform) -> None:
    with pytest.raises(InvalidInputError, match="is a form .an XLSForm.*not its data"):
        load_plots(xlsform)


def test_a_label_two_questions_share_is_kept_and_named(tmp_path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label::English (en)"])
    survey.append(["text", "crop", "Crop"])
    survey.append(["text", "note_a", "Notes"])
    survey.append(["text", "note_b", "Notes"])
    book.create_sheet("choices").append(["list_name", "name", "label::English (en)"])
    form = tmp_path / "form.xlsx"
    book.save(form)
    path = tmp_path / "x.csv"
    path.write_text("Crop,Notes,lon,lat\npoppy,dry,97.1,20.1\n", encoding="utf-8")
    plots, report = load_plots(path, form=form)
    assert plots["crop"].tolist() == ["opium_poppy"]
    assert plots["Notes"].tolist() == ["dry"]
    assert any(w.field == "Notes" and "several questions" in w.message for w in report.warnings)
