"""Repeat groups: Kobo XLSX repeat sheets and ODK Central zips; each entry is a plot with its visit."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.survey import load_plots

EXPORTERS = Path(__file__).resolve().parents[3] / "data" / "examples" / "exporters"


def check_survey(plots, expected) -> None:
    assert plots["plot_id"].tolist() == expected["plot_id"]
    assert plots["crop"].tolist() == expected["crop"]
    assert plots["measured_area_ha"].tolist() == pytest.approx(expected["area_ha"])
    assert plots["district_id"].tolist() == expected["district_id"]
    assert plots["survey_date"].dt.strftime("%Y-%m-%d").tolist() == expected["survey_date"]


@pytest.mark.parametrize("language", ["_xml", "English (en)", "Myanmar (my)"])
def test_kobo_xlsx_repeat_sheet_through_the_profile(
    kobo_xlsx, profile_with_xlsform, expected, language
) -> None:
    plots, report = load_plots(kobo_xlsx(language), form=profile_with_xlsform)
    assert report.ok, report.summary()
    check_survey(plots, expected)
    # the visit's fields reach each plot through _parent_index -> _index
    assert plots["team"].tolist() == ["team-hopong"] * 4
    assert plots["village"].tolist() == ["Nam Hu", "Nam Hu", "Loi Mwe", "Loi Mwe"]
    assert report.sheet == "field"
    assert plots["source_row"].tolist() == [1, 2, 3, 4]


def test_kobo_xml_export_needs_no_xlsform_when_the_profile_maps_the_questions(
    kobo_xlsx, profile, expected
) -> None:
    plots, report = load_plots(kobo_xlsx("_xml"), form=profile)
    assert report.ok, report.summary()
    check_survey(plots, expected)


def test_report_rows_name_the_repeat_sheet(kobo_xlsx, profile, tmp_path: Path) -> None:
    import openpyxl

    path = kobo_xlsx("_xml")
    book = openpyxl.load_workbook(path)
    book["field"]["B4"] = "9"  # S-01's crop: a choice the profile does not map
    book.save(path)
    plots, report = load_plots(path, form=profile)
    assert len(plots) == 3
    [error] = report.errors
    assert (error.sheet, error.row, error.field) == ("field", 3, "crop_grown")
    assert str(error).startswith("sheet 'field' row 3, crop_grown: unknown crop label '9'")
    assert report.to_dict()["errors"][0]["sheet"] == "field"


def test_labels_export_without_profile_refuses_with_the_profile_that_fixes_it(kobo_xlsx) -> None:
    from core.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as caught:
        load_plots(kobo_xlsx("_xml"))
    message = str(caught.value)
    assert "no sheet has a crop column" in message
    assert "'field' (4 rows: field_code, crop_grown, area_rai, boundary" in message
    assert 'plots = "field"' in message
    assert 'crop = "crop_grown"' in message
    assert '[units]\narea = "rai"' in message
    assert 'district_id = "township"' in message


# -- the real formpack and briefcase outputs (data/examples/exporters/) ----------------
POPPY_DEMO = {  # written down by hand from the poppy demo submissions (see its SOURCES.txt)
    "crop": ["opium_poppy", "cannabis", "opium_poppy"],
    "area_ha": [0.35, 0.12, 1.2],
    "survey_date": ["2024-11-01", "2024-11-01", "2024-11-02"],
}


@pytest.mark.parametrize(
    "name", ["kobo_xlsx_xml_groups.xlsx", "kobo_xlsx_labels_en.xlsx", "kobo_xlsx_labels_my.xlsx"]
)
def test_real_formpack_xlsx_with_a_repeat_sheet(name: str) -> None:
    plots, report = load_plots(EXPORTERS / name, form=EXPORTERS / "poppy_plot_survey.xlsx")
    assert report.ok, report.summary()
    assert plots["crop"].tolist() == POPPY_DEMO["crop"]
    assert plots["measured_area_ha"].tolist() == pytest.approx(POPPY_DEMO["area_ha"])
    assert plots["survey_date"].dt.strftime("%Y-%m-%d").tolist() == POPPY_DEMO["survey_date"]
    assert plots["team"].tolist() == ["enum01"] * 3
    # the entry's own key, as ODK Central writes KEY: submission uuid / repeat[n]
    assert plots["plot_id"].tolist() == [
        "5c1c2a8e-3f0b-4d0e-9b3a-1f2e3d4c5b6a/plot[1]",
        "5c1c2a8e-3f0b-4d0e-9b3a-1f2e3d4c5b6a/plot[2]",
        "9d8e7f6a-5b4c-4d3e-8f2a-0b1c2d3e4f5a/plot[1]",
    ]
    # the plot's own centre is not taken for the boundary; the village location is kept as text
    assert plots.geom_type.tolist() == ["Polygon"] * 3
    assert plots["gps_accuracy_m"].tolist() == [5.0, 6.0, 5.0]


def test_real_formpack_labels_export_reads_without_its_xlsform_too() -> None:
    """English labels ('Crop', 'Plot area (ha)') match admon's spellings and units by name."""
    plots, report = load_plots(EXPORTERS / "kobo_xlsx_labels_en.xlsx")
    assert report.ok, report.summary()
    assert plots["crop"].tolist() == POPPY_DEMO["crop"]
    assert plots["measured_area_ha"].tolist() == pytest.approx(POPPY_DEMO["area_ha"])


@pytest.mark.parametrize("name", ["odk_default.zip", "odk_groupPaths_false.zip"])
def test_real_odk_central_zip_with_a_repeat_csv(name: str, districts_poppy_demo) -> None:
    plots, report = load_plots(EXPORTERS / name, districts=districts_poppy_demo)
    assert report.ok, report.summary()
    # briefcase.js writes newest submissions first: visit B's plot, then visit A's two
    assert plots["crop"].tolist() == ["opium_poppy", "opium_poppy", "cannabis"]
    assert plots["measured_area_ha"].tolist() == pytest.approx([1.2, 0.35, 0.12])
    assert plots["district_id"].tolist() == ["B", "A", "A"]
    assert plots["plot_id"].tolist() == [
        "uuid:9d8e7f6a-5b4c-4d3e-8f2a-0b1c2d3e4f5a/village/plot[1]",
        "uuid:5c1c2a8e-3f0b-4d0e-9b3a-1f2e3d4c5b6a/village/plot[1]",
        "uuid:5c1c2a8e-3f0b-4d0e-9b3a-1f2e3d4c5b6a/village/plot[2]",
    ]
    assert plots["team"].tolist() == ["enum01"] * 3
    assert report.sheet == "poppy_plot_survey-plot.csv"


@pytest.fixture
def districts_poppy_demo():
    import geopandas as gpd
    from shapely.geometry import box

    return gpd.GeoDataFrame(
        {"district_id": ["A", "B"]},
        geometry=[box(97.60, 21.10, 97.68, 21.15), box(97.68, 21.18, 97.75, 21.22)],
        crs="EPSG:4326",
    )


def test_odk_zip_through_the_profile(odk_zip, profile, expected) -> None:
    plots, report = load_plots(odk_zip, form=profile)
    assert report.ok, report.summary()
    order = [2, 3, 0, 1]  # newest submission first
    check_survey(plots, {k: [v[i] for i in order] for k, v in expected.items()})
    assert plots["repeat_key"].tolist()[0].endswith("/visit/field[1]")


def test_odk_nested_repeat_inherits_through_every_level(odk_nested_zip, profile, expected) -> None:
    plots, report = load_plots(odk_nested_zip, form=profile)
    assert report.ok, report.summary()
    order = [2, 3, 0, 1]
    check_survey(plots, {k: [v[i] for i in order] for k, v in expected.items()})
    assert plots["head_name"].tolist() == ["Household 2"] * 2 + ["Household 1"] * 2
    assert plots["visit-village"].tolist() == ["Loi Mwe", "Loi Mwe", "Nam Hu", "Nam Hu"]


def test_another_repeat_group_is_named_as_not_read(odk_zip, profile, tmp_path) -> None:
    """Nothing is dropped silently: a repeat that is not the plots is named in the report."""
    import zipfile

    with zipfile.ZipFile(odk_zip) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members["hopong_survey-member.csv"] = b"member_name,PARENT_KEY,KEY\nAye,uuid:x,uuid:x/m[1]\n"
    path = tmp_path / "with_members.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    plots, report = load_plots(path, form=profile)
    assert len(plots) == 4
    assert "'hopong_survey-member.csv' (1 rows) not read: neither the plots nor their visit" in [
        w.message for w in report.warnings
    ]
