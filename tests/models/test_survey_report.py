"""ValidationReport and the plot schema: the shapes other packages rely on."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pandera.errors
import pytest
from shapely.geometry import Point

from models.report import RowError, ValidationReport
from models.schema import PLOT_COLUMNS, PLOT_SCHEMA


def test_counts_follow_rejections_once_per_row() -> None:
    report = ValidationReport(source="plots.csv", total_rows=4)
    report.reject(2, "crop", "unknown crop label 'x'")
    report.reject(2, "geometry", "no geometry in this row")
    report.reject(4, "plot_id", "duplicate plot_id 'a' (first used on row 1)")
    report.warn(1, "status", "status '?' not recognised; recorded as unknown")
    assert (report.total_rows, report.accepted, report.rejected, report.ok) == (4, 2, 2, False)
    assert report.rejected_rows == {2, 4}


def test_to_dict_is_the_documented_payload() -> None:
    report = ValidationReport(source="plots.csv", total_rows=2)
    report.reject(2, "crop", "unknown crop label 'x'")
    assert report.to_dict() == {
        "source": "plots.csv",
        "total_rows": 2,
        "accepted": 1,
        "rejected": 1,
        "errors": [{"row": 2, "field": "crop", "message": "unknown crop label 'x'"}],
        "warnings": [],
    }


def test_explicit_counts_are_kept_and_file_level_errors_do_not_count_as_rows() -> None:
    given = ValidationReport(source="a", total_rows=3, accepted=1, rejected=2)
    assert (given.accepted, given.rejected) == (1, 2)
    report = ValidationReport(source="a", total_rows=3, errors=[RowError(0, "file", "bad")])
    assert (report.accepted, report.rejected, report.ok) == (3, 0, False)


def test_to_frame_and_summary() -> None:
    report = ValidationReport(source="plots.csv", total_rows=3)
    report.reject(3, "crop", "unknown crop label 'x'")
    report.warn(1, "status", "recorded as unknown")
    frame = report.to_frame()
    assert frame.to_dict("records") == [
        {"level": "error", "row": 3, "field": "crop", "message": "unknown crop label 'x'"},
        {"level": "warning", "row": 1, "field": "status", "message": "recorded as unknown"},
    ]
    assert report.summary().splitlines() == [
        "plots.csv: 3 rows, 2 accepted, 1 rejected (row 1 = first data row after the header)",
        "  row 3, crop: unknown crop label 'x'",
    ]


def plot_table(**overrides) -> gpd.GeoDataFrame:
    columns = {
        "plot_id": ["p1"],
        "crop": ["opium_poppy"],
        "status": ["cultivated"],
        "survey_date": pd.to_datetime(["2025-01-14"]).astype("datetime64[ns]"),
        "team": ["t"],
        "gps_accuracy_m": [4.0],
        "measured_area_ha": [0.3],
        "district_id": ["D01"],
        "source_upload": ["u"],
        "land_cover": ["opium_poppy"],
        "yield_kg_ha": [np.nan],
    }
    columns.update(overrides)
    return gpd.GeoDataFrame(columns, geometry=[Point(97.1, 20.1)], crs="EPSG:4326")


def test_schema_accepts_a_plot_table_and_fixes_the_column_order() -> None:
    table = plot_table()
    assert tuple(table.columns) == PLOT_COLUMNS
    PLOT_SCHEMA.validate(table)
    with pytest.raises((pandera.errors.SchemaError, pandera.errors.SchemaErrors)):
        PLOT_SCHEMA.validate(table[list(reversed(table.columns))])


@pytest.mark.parametrize(
    "override",
    [
        {"crop": ["poppy"]},
        {"status": ["growing"]},
        {"land_cover": ["jungle"]},
        {"measured_area_ha": [-1.0]},
    ],
)
def test_schema_refuses_values_outside_the_vocabulary(override) -> None:
    with pytest.raises(pandera.errors.SchemaError):
        PLOT_SCHEMA.validate(plot_table(**override))


def test_schema_refuses_another_crs() -> None:
    # pandera's geopandas engine reports a CRS mismatch as a TypeError
    with pytest.raises((pandera.errors.SchemaError, TypeError), match="CRS mismatch"):
        PLOT_SCHEMA.validate(plot_table().to_crs("EPSG:32647"))
