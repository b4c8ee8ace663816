"""Every rejection reason, with the 1-based data row number of the original file.

Inputs are KoboToolbox-style CSV exports written here by hand: ``;`` delimiter,
``/`` group paths, geoshapes as ``"lat lon alt acc;..."`` text, Kobo metadata.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from core.errors import InvalidInputError
from models.report import RowError
from models.survey import load_plots

HEADER = [
    "today",
    "plot/plot_id",
    "plot/crop",
    "plot/status",
    "plot/area_ha",
    "plot/boundary",
    "plot/notes",
    "_id",
    "_uuid",
    "_submission_time",
    "_submitted_by",
    "__version__",
    "_index",
]
DISTRICTS = gpd.GeoDataFrame(
    {"district_id": ["D01", "D02"]},
    geometry=[box(97.0, 20.0, 97.2, 20.3), box(97.2, 20.0, 97.4, 20.3)],
    crs="EPSG:4326",
)
SEASON = ("2024-09-01", "2025-03-31")


def shape(lon: float, lat: float, side: float = 0.0005, order: str = "latlon") -> str:
    """A closed square geoshape as ODK/Kobo write it (latitude first unless order='lonlat')."""
    corners = [
        (lon, lat),
        (lon + side, lat),
        (lon + side, lat + side),
        (lon, lat + side),
        (lon, lat),
    ]
    pairs = [(y, x) if order == "latlon" else (x, y) for x, y in corners]
    return ";".join(f"{round(a, 7)} {round(b, 7)} 1200.0 5.0" for a, b in pairs)


def kobo_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(HEADER)
    for index, values in enumerate(rows, start=1):
        record = {
            "today": "2025-01-10",
            "plot/status": "cultivated",
            "plot/area_ha": "",
            "plot/notes": "",
            "_id": str(900 + index),
            "_uuid": f"uuid-{index}",
            "_submission_time": "2025-01-10T04:00:00",
            "_submitted_by": "enum1",
            "__version__": "v1",
            "_index": str(index),
            **values,
        }
        writer.writerow([record[h] for h in HEADER])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def good(plot_id: str, lon: float = 97.10, lat: float = 20.10, **extra: str) -> dict[str, str]:
    return {
        "plot/plot_id": plot_id,
        "plot/crop": "poppy",
        "plot/boundary": shape(lon, lat),
        **extra,
    }


BOWTIE = "20.1 97.1 0 5;20.1005 97.1005 0 5;20.1 97.1005 0 5;20.1005 97.1 0 5;20.1 97.1 0 5"
SPIKE = (
    "20.1 97.1 0 5;20.1 97.1005 0 5;20.1005 97.1005 0 5;20.1005 97.10025 0 5;"
    "20.1008 97.10025 0 5;20.1005 97.10025 0 5;20.1005 97.1 0 5;20.1 97.1 0 5"
)

CASES = [  # (row values, field, words the reason must contain)
    (good("A-01"), None, None),
    (
        {**good("A-02"), "plot/boundary": "20.1 97.1 0 5;20.1 abc 0 5;20.2 97.2 0 5"},
        "plot/boundary",
        "unreadable geometry",
    ),
    (
        {**good("A-03"), "plot/boundary": "20.1 97.1 0 5;20.1 97.1005 0 5;20.1 97.1 0 5"},
        "plot/boundary",
        "2 distinct vertices",
    ),
    ({**good("A-04"), "plot/boundary": BOWTIE}, "plot/boundary", "crosses itself"),
    (
        {**good("A-05"), "plot/boundary": shape(97.1, 20.1, order="lonlat")},
        "plot/boundary",
        "swapped",
    ),
    (good("A-06", lon=99.80, lat=19.90), "plot/boundary", "outside the survey region"),
    (
        {**good("A-07"), "plot/boundary": shape(97.1, 20.1, side=0.00005)},
        "plot/area_ha",
        "implausible",
    ),
    (good("A-08", **{"plot/area_ha": "120"}), "plot/area_ha", "120 ha is implausible"),
    (good("A-09", today="2024-06-01"), "today", "outside the survey season"),
    (good("A-10", **{"plot/crop": "banana"}), "plot/crop", "unknown crop label 'banana'"),
    (good("A-01", lon=97.11), "plot/plot_id", "duplicate plot_id 'A-01' (first used on row 1)"),
    ({**good("A-12"), "plot/boundary": SPIKE}, None, None),
    (good("A-13", today="14/01/2025"), "today", "not a date"),
    (good("A-14", **{"plot/crop": ""}), "plot/crop", "no crop label"),
]


@pytest.fixture
def survey(tmp_path: Path):
    path = kobo_csv(tmp_path / "kobo_bad_rows.csv", [values for values, _, _ in CASES])
    return load_plots(path, districts=DISTRICTS, season=SEASON)


@pytest.mark.parametrize("row", range(1, len(CASES) + 1))
def test_each_reason_names_row_and_field(survey, row: int) -> None:
    plots, report = survey
    _, field, words = CASES[row - 1]
    found = [e for e in report.errors if e.row == row]
    if field is None:
        assert not found and row in plots["source_row"].tolist()
    else:
        assert [e.field for e in found] == [field], found
        assert words in found[0].message
        assert row not in plots["source_row"].tolist()


def test_counts_and_accepted_rows(survey) -> None:
    plots, report = survey
    assert report.total_rows == 14
    assert report.accepted == 2 and report.rejected == 12
    assert plots["plot_id"].tolist() == ["A-01", "A-12"]
    assert plots["district_id"].tolist() == ["D01", "D01"]


def test_repaired_spike_is_a_warning_not_an_error(survey) -> None:
    _, report = survey
    warnings = {(w.row, w.field): w.message for w in report.warnings}
    assert set(warnings) == {(8, "plot/area_ha"), (12, "plot/boundary")}
    assert "repaired" in warnings[12, "plot/boundary"]
    assert (
        "stated area 120.000 ha but the boundary measures 0.289 ha" == warnings[8, "plot/area_ha"]
    )


def test_strict_rejects_the_whole_file_with_the_report(tmp_path: Path) -> None:
    path = kobo_csv(tmp_path / "kobo.csv", [good("B-1"), good("B-2", **{"plot/crop": "xyz"})])
    with pytest.raises(InvalidInputError, match=r"kobo.csv: 1 of 2 rows rejected") as caught:
        load_plots(path, strict=True)
    assert caught.value.report.errors == [
        RowError(2, "plot/crop", caught.value.report.errors[0].message)
    ]
    plots, report = load_plots(path)  # not strict: the good row is accepted
    assert plots["plot_id"].tolist() == ["B-1"] and report.rejected == 1


def test_row_numbers_count_records_not_lines(tmp_path: Path) -> None:
    # a quoted note with a line break is still one record; a blank line is still a row
    path = kobo_csv(
        tmp_path / "kobo.csv",
        [
            good("C-1", **{"plot/notes": "steep slope\nnear stream"}),
            good("C-2", **{"plot/crop": "??"}),
        ],
    )
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    lines = text.split("\n")
    path.write_text("\n".join([*lines[:3], "", *lines[3:]]), encoding="utf-8")
    _, report = load_plots(path)
    assert report.total_rows == 2
    assert [(e.row, e.field) for e in report.errors] == [(3, "plot/crop")]


def test_swapped_coordinates_detected_against_the_region(tmp_path: Path) -> None:
    # near 20 E 10 N both orders are valid degrees: only the region tells the swap
    path = tmp_path / "plots.csv"
    path.write_text("plot_id,crop,lon,lat\np1,poppy,20.5,10.5\np2,poppy,10.5,20.5\n")
    plots, report = load_plots(path, region=(20.0, 10.0, 21.0, 11.0))
    assert plots["plot_id"].tolist() == ["p1"]
    assert [(e.row, e.field) for e in report.errors] == [(2, "lon")]
    assert "look swapped" in report.errors[0].message


def test_area_bounds_are_configurable(tmp_path: Path) -> None:
    path = kobo_csv(tmp_path / "kobo.csv", [good("D-1", **{"plot/area_ha": "60"})])
    assert load_plots(path)[1].rejected == 1
    plots, report = load_plots(path, area_bounds_ha=(0.01, 100.0))
    assert report.ok and plots["measured_area_ha"].tolist() == [60.0]


def test_missing_date_with_a_season_is_rejected(tmp_path: Path) -> None:
    path = kobo_csv(tmp_path / "kobo.csv", [good("E-1", today="")])
    # "today" is empty: the date column chosen is today, not the submission time
    _, report = load_plots(path, season=SEASON)
    assert [(e.row, e.field) for e in report.errors] == [(1, "today")]
    assert "no survey date" in report.errors[0].message


def test_projected_csv_with_crs_argument(tmp_path: Path) -> None:
    # UTM 47N easting/northing of 97.1 E 20.1 N (pyproj), written as x/y columns
    path = tmp_path / "utm.csv"
    path.write_text("plot_id,crop,x,y\nu1,opium,301347.878,2223679.600\n")
    plots, report = load_plots(path, crs="EPSG:32647")
    assert report.ok
    assert plots.geometry.iloc[0].x == pytest.approx(97.1, abs=1e-5)
    assert plots.geometry.iloc[0].y == pytest.approx(20.1, abs=1e-5)
    _, without_crs = load_plots(path)
    assert "not longitude/latitude degrees" in without_crs.errors[0].message


def test_unquoted_delimiter_inside_a_value_rejects_that_row_only(tmp_path: Path) -> None:
    # a Kobo export edited by hand: the geoshape of row 2 lost its quotes, so its ';' split it
    path = kobo_csv(tmp_path / "kobo.csv", [good("F-1"), good("F-2"), good("F-3")])
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    lines[2] = lines[2].replace(f'"{shape(97.10, 20.10)}"', shape(97.10, 20.10))
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    plots, report = load_plots(path)
    assert plots["plot_id"].tolist() == ["F-1", "F-3"]
    assert report.errors[0].row == 2 and report.errors[0].field == "row"
    assert "17 fields where the header has 13" in report.errors[0].message
