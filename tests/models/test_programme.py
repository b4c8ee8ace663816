"""Tests for models/programme.py: reading and validating AD programme baselines."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from openpyxl import Workbook
from shapely.geometry import box

from core.errors import InvalidInputError
from models.programme import PROGRAMME_COLUMNS, load_programmes, programmes_to_table

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples"

HEADER = ",".join(PROGRAMME_COLUMNS)


def _districts() -> gpd.GeoDataFrame:
    """Four 1 km × 1 km districts in UTM 47N, side by side (100 ha each)."""
    return gpd.GeoDataFrame(
        {"district_id": ["D01", "D02", "D03", "D04"], "district_name": list("ABCD")},
        geometry=[
            box(500_000 + 1000 * i, 2_300_000, 501_000 + 1000 * i, 2_301_000) for i in range(4)
        ],
        crs="EPSG:32647",
    )


def _write_csv(tmp_path: Path, lines: list[str], sep: str = ",") -> Path:
    path = tmp_path / "programmes.csv"
    path.write_text("\n".join([HEADER.replace(",", sep), *lines]) + "\n", encoding="utf-8")
    return path


def test_demo_style_csv_is_parsed_into_typed_columns(tmp_path):
    path = _write_csv(
        tmp_path,
        [
            "P1,Coffee,DoA,UNODC,2024-01-15,2028-12-31,D01;D02,2024,420,,1850,9200,410.5,"
            "Coffee;Macadamia,5200,Customary",
            "P2,Tea,PDO,JICA,2024-06-01,,D03,2024,,3.5,960,4700,385,tea,3100,mixed",
        ],
    )
    programmes, report = load_programmes(path)
    assert (report.total_rows, report.accepted, report.rejected) == (2, 2, 0)
    assert list(programmes.columns[: len(PROGRAMME_COLUMNS)]) == list(PROGRAMME_COLUMNS)
    p1, p2 = programmes.iloc[0], programmes.iloc[1]
    assert p1["district_ids"] == ["D01", "D02"]
    assert p1["start_date"] == dt.date(2024, 1, 15) and p2["end_date"] is None
    assert p1["baseline_opium_poppy_ha"] == 420.0 and math.isnan(p1["baseline_cannabis_ha"])
    assert p2["baseline_cannabis_ha"] == 3.5
    assert p1["income_per_capita_usd"] == 410.5 and p1["households"] == 1850
    assert p1["alternative_crops"] == "coffee;macadamia"
    assert p1["land_tenure_status"] == "customary"
    assert int(p1["baseline_year"]) == 2024
    assert programmes.geometry.isna().all()


def test_semicolon_delimited_csv_with_quoted_district_list(tmp_path):
    path = _write_csv(
        tmp_path, ['P1;Coffee;DoA;UNODC;2024-01-15;;"D01;D04";2024;12;;;;;;;'], sep=";"
    )
    programmes, report = load_programmes(path)
    assert report.ok
    assert programmes.iloc[0]["district_ids"] == ["D01", "D04"]
    assert programmes.iloc[0]["baseline_opium_poppy_ha"] == 12.0


def test_bad_rows_are_rejected_with_row_field_and_fix(tmp_path):
    path = _write_csv(
        tmp_path,
        [
            "P1,Good,DoA,UNODC,2024-01-15,,D01,2024,10,,,,,,,",  # row 1 ok
            "P1,Duplicate,DoA,UNODC,2024-01-15,,D02,2024,,,,,,,,",  # row 2
            "P3,Backwards,DoA,UNODC,2025-01-01,2024-12-31,D02,2025,,,,,,,,",  # row 3
            "P4,Bad numbers,DoA,UNODC,2024-01-01,,D02,2024,lots,,-5,,,,,",  # row 4
            "P5,Unknown district,DoA,UNODC,2024-01-01,,D09,2024,,,,,,,,",  # row 5
            "P6,Nowhere,DoA,UNODC,2024-01-01,,,2024,,,,,,,,",  # row 6
            ",No id,DoA,UNODC,2024-01-01,,D01,,,,,,,,,",  # row 7
            "P8,Bad date,DoA,UNODC,15/01/2024,,D01,2024,,,,,,,,",  # row 8
        ],
    )
    programmes, report = load_programmes(path, districts=_districts())
    assert list(programmes["programme_id"]) == ["P1"]
    assert (report.total_rows, report.accepted, report.rejected) == (8, 1, 7)
    found = {(e.row, e.field) for e in report.errors}
    assert found == {
        (2, "programme_id"),
        (3, "end_date"),
        (4, "baseline_opium_poppy_ha"),
        (4, "households"),
        (5, "district_ids"),
        (6, "district_ids"),
        (7, "programme_id"),
        (7, "baseline_year"),
        (8, "start_date"),
    }
    messages = {(e.row, e.field): e.message for e in report.errors}
    assert "already used in row 1" in messages[(2, "programme_id")]
    assert "D09" in messages[(5, "district_ids")] and "D01" in messages[(5, "district_ids")]
    assert "YYYY-MM-DD" in messages[(8, "start_date")]
    with pytest.raises(InvalidInputError, match="programmes.csv"):
        load_programmes(path, districts=_districts(), strict=True)


def test_missing_required_column_names_file_and_columns(tmp_path):
    path = tmp_path / "programmes.csv"
    path.write_text("programme_id,name,start_date\nP1,x,2024-01-01\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"programmes\.csv.*baseline_year"):
        load_programmes(path)


def test_unsupported_and_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(InvalidInputError, match="no such programme file"):
        load_programmes(tmp_path / "absent.csv")
    odd = tmp_path / "programmes.docx"
    odd.write_bytes(b"PK")
    with pytest.raises(InvalidInputError, match="unsupported"):
        load_programmes(odd)


def test_districts_union_becomes_the_geometry(tmp_path):
    path = _write_csv(tmp_path, ["P1,Coffee,DoA,UNODC,2024-01-15,,D01;D02,2024,,,,,,,,"])
    programmes, _ = load_programmes(path, districts=_districts())
    assert programmes.crs == "EPSG:32647"
    assert programmes.iloc[0]["geometry_source"] == "districts"
    # two adjacent 1 km squares: 2 km² = 200 ha, bounds of both
    assert programmes.geometry.iloc[0].area == pytest.approx(2_000_000)
    assert programmes.geometry.iloc[0].bounds == (500_000, 2_300_000, 502_000, 2_301_000)


def test_xlsx_with_date_cells_reads_like_csv(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Programmes"
    ws.append(list(PROGRAMME_COLUMNS))
    ws.append(
        [
            "P1",
            "Coffee",
            "DoA",
            "UNODC",
            dt.datetime(2024, 1, 15),
            None,
            "D01;D02",
            2024,
            420,
            None,
            1850,
            9200,
            410,
            "coffee",
            5200,
            "customary",
        ]
    )
    wb.create_sheet("readme").append(["not the table"])
    path = tmp_path / "programmes.xlsx"
    wb.save(path)
    programmes, report = load_programmes(path)
    assert report.ok and len(programmes) == 1
    row = programmes.iloc[0]
    assert row["start_date"] == dt.date(2024, 1, 15)
    assert row["district_ids"] == ["D01", "D02"] and row["baseline_opium_poppy_ha"] == 420


def test_geojson_area_polygons_are_reprojected_to_the_districts(tmp_path):
    # a polygon given in WGS84, arrays for district_ids as Kobo/QGIS exports write them
    props = {
        "programme_id": "P1",
        "name": "Area",
        "start_date": "2024-01-01",
        "baseline_year": 2024,
        "district_ids": ["D01"],
        "baseline_opium_poppy_ha": 5,
    }
    feature = {
        "type": "Feature",
        "properties": props,
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[99.0, 20.8], [99.01, 20.8], [99.01, 20.81], [99.0, 20.81], [99.0, 20.8]]
            ],
        },
    }
    path = tmp_path / "programmes.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    programmes, report = load_programmes(path, districts=_districts())
    assert report.ok
    assert programmes.crs == "EPSG:32647"
    assert programmes.iloc[0]["geometry_source"] == "area"
    assert programmes.iloc[0]["district_ids"] == ["D01"]
    # 0.01° × 0.01° near 20.8°N: ~1040 m × ~1106 m, checked against a geodesic area
    geodesic = abs(gpd.GeoSeries([box(99.0, 20.8, 99.01, 20.81)], crs=4326).to_crs(6933).area[0])
    assert programmes.geometry.area.iloc[0] == pytest.approx(geodesic, rel=2e-3)


def test_geopackage_is_read(tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "programme_id": ["P1"],
            "name": ["x"],
            "start_date": ["2024-01-01"],
            "baseline_year": [2024],
            "district_ids": ["D02"],
        },
        geometry=[box(501_100, 2_300_100, 501_200, 2_300_200)],
        crs="EPSG:32647",
    )
    frame.to_file(tmp_path / "programmes.gpkg", layer="programmes")
    programmes, report = load_programmes(tmp_path / "programmes.gpkg")
    assert report.ok and programmes.geometry.area.iloc[0] == pytest.approx(10_000)


@pytest.mark.parametrize(
    ("name", "accepted", "rejected"),
    [
        ("programmes.csv", 3, 0),
        ("programmes.xlsx", 3, 0),
        ("programmes.geojson", 2, 0),
        ("programmes_with_errors.csv", 1, 5),
    ],
)
def test_committed_examples_load(name, accepted, rejected):
    programmes, report = load_programmes(EXAMPLES / name)
    assert (report.accepted, report.rejected) == (accepted, rejected)
    assert len(programmes) == accepted


def test_table_round_trips_through_csv(tmp_path):
    programmes, _ = load_programmes(EXAMPLES / "programmes.csv")
    table = programmes_to_table(pd.DataFrame(programmes.drop(columns="geometry")))
    assert table.iloc[0]["district_ids"] == "D01;D02"
    table[list(PROGRAMME_COLUMNS)].to_csv(tmp_path / "again.csv", index=False)
    again, report = load_programmes(tmp_path / "again.csv")
    assert report.ok
    pd.testing.assert_frame_equal(
        pd.DataFrame(again[list(PROGRAMME_COLUMNS)]),
        pd.DataFrame(programmes[list(PROGRAMME_COLUMNS)]),
    )


def test_missing_baseline_figures_are_warnings_not_errors(tmp_path):
    path = _write_csv(tmp_path, ["P1,Coffee,DoA,UNODC,2024-01-15,,D01,2024,12,,,,,,,"])
    programmes, report = load_programmes(path)
    assert report.ok and len(programmes) == 1
    fields = [(w.row, w.field) for w in report.warnings]
    assert fields == [(1, "baseline_opium_poppy_ha"), (1, "baseline_cannabis_ha")]
    assert "no SE or interval" in report.warnings[0].message
    assert "conditional on an exact baseline" in report.warnings[0].message
    assert "derived from the 2024" in report.warnings[1].message


def _with_uncertainty(tmp_path: Path, cells: list[str]) -> Path:
    """A programme table with the optional baseline-uncertainty columns after the others."""
    from models.programme import BASELINE_UNCERTAINTY_COLUMNS

    header = ",".join([*PROGRAMME_COLUMNS, *BASELINE_UNCERTAINTY_COLUMNS])
    base = "{pid},Coffee,DoA,UNODC,2024-01-15,,D01,2024,{poppy},,,,,,,"
    lines = [base.format(pid=f"P{i + 1}", poppy=poppy) + "," + extra for i, (poppy, extra) in
             enumerate(cells)]  # fmt: skip
    path = tmp_path / "programmes.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_baseline_se_or_interval_is_read_per_crop(tmp_path):
    path = _with_uncertainty(
        tmp_path, [("420", "38,,,,,"), ("150", ",118,196,,,"), ("90", ",,,,,")]
    )
    programmes, report = load_programmes(path)
    assert report.ok and len(programmes) == 3
    by_id = programmes.set_index("programme_id")
    assert by_id.loc["P1", "baseline_opium_poppy_se_ha"] == 38.0
    assert math.isnan(by_id.loc["P1", "baseline_opium_poppy_ci_low_ha"])
    assert (by_id.loc["P2", "baseline_opium_poppy_ci_low_ha"],
            by_id.loc["P2", "baseline_opium_poppy_ci_high_ha"]) == (118.0, 196.0)  # fmt: skip
    # only P3's poppy baseline has no uncertainty: one warning says so (cannabis: derived)
    exact = [w for w in report.warnings if w.field == "baseline_opium_poppy_ha"]
    assert [w.row for w in exact] == [3] and "treated as exact" in exact[0].message


@pytest.mark.parametrize(
    ("poppy", "cells", "field", "words"),
    [
        ("420", "-3,,,,,", "baseline_opium_poppy_se_ha", "negative"),
        ("420", "about 30,,,,,", "baseline_opium_poppy_se_ha", "not a number"),
        ("420", ",400,,,,", "baseline_opium_poppy_ci_high_ha", "needs both"),
        ("420", ",430,500,,,", "baseline_opium_poppy_ci_low_ha", "does not contain"),
        ("420", "30,400,450,,,", "baseline_opium_poppy_se_ha", "give one of them"),
        ("", "30,,,,,", "baseline_opium_poppy_se_ha", "baseline_opium_poppy_ha is empty"),
    ],
)
def test_bad_baseline_uncertainty_rejects_the_row_naming_the_field(
    tmp_path, poppy, cells, field, words
):
    path = _with_uncertainty(tmp_path, [(poppy, cells), ("100", "10,,,,,")])
    programmes, report = load_programmes(path)
    assert list(programmes["programme_id"]) == ["P2"]
    assert [(e.row, e.field) for e in report.errors] == [(1, field)]
    assert words in report.errors[0].message


def test_committed_example_carries_an_se_and_an_interval():
    programmes, _ = load_programmes(EXAMPLES / "programmes.csv")
    by_id = programmes.set_index("programme_id")
    assert by_id.loc["AD-001", "baseline_opium_poppy_se_ha"] == 38
    assert by_id.loc["AD-003", "baseline_opium_poppy_ci_high_ha"] == 196
    _, report = load_programmes(EXAMPLES / "programmes_with_errors.csv")
    assert any(e.row == 6 and "does not contain" in e.message for e in report.errors)
