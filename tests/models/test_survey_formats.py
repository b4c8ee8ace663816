"""Every supported layout gives the same plots (data/examples/: one survey, every layout)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import box

from models.schema import PLOT_COLUMNS, PLOT_SCHEMA
from models.survey import load_plots

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples"

# What the five example plots are, written down by hand from data/examples/make_examples.py
EXPECTED = pd.DataFrame(
    {
        "plot_id": ["SHN-001", "SHN-002", "SHN-003", "SHN-004", "SHN-005"],
        "crop": ["opium_poppy", "cannabis", "other", "other", "opium_poppy"],
        "status": ["cultivated", "eradicated", "cultivated", "unknown", "abandoned"],
        "survey_date": pd.to_datetime(
            ["2025-01-14", "2025-01-15", "2025-01-15", "2025-01-16", "2025-01-16"]
        ),
        "team": ["team-a", "team-a", "team-b", "team-b", "team-b"],
    }
)
SW_CORNERS = {  # south-west corner (lon, lat) of each 0.0005-degree square plot
    "SHN-001": (97.1012, 20.2034),
    "SHN-002": (97.2531, 20.1517),
    "SHN-003": (97.1530, 20.2521),
    "SHN-005": (97.3020, 20.2530),
}
POINT_SHN_004 = (97.0520, 20.1010)

ALL_PLOTS = [
    "kobo_export.csv",
    "kobo_export_labels.csv",
    "kobo_export.xlsx",
    "odk_central_export.csv",
    "kobo_export.geojson",
    "odk_central_export.geojson",
    "plots_wkt.csv",
    "plots.geojson",
    "plots.gpkg",
    "plots.kml",
    "plots.kmz",
]


def equal_area_ha(polygon) -> float:
    """Area by an independent method: Lambert azimuthal equal-area centred on the plot."""
    lon, lat = polygon.centroid.coords[0]
    to_laea = Transformer.from_crs(
        "EPSG:4326", f"+proj=laea +lat_0={lat} +lon_0={lon} +datum=WGS84", always_xy=True
    )
    projected = shapely.transform(
        polygon, lambda xy: np.column_stack(to_laea.transform(xy[:, 0], xy[:, 1]))
    )
    return projected.area / 10_000


@pytest.mark.parametrize("name", ALL_PLOTS)
def test_every_layout_reads_the_same_survey(name: str) -> None:
    plots, report = load_plots(EXAMPLES / name)

    assert report.ok and report.total_rows == 5 and report.accepted == 5, report.summary()
    assert list(plots.columns[: len(PLOT_COLUMNS)]) == list(PLOT_COLUMNS)
    assert plots.crs.to_epsg() == 4326
    pd.testing.assert_frame_equal(
        plots[EXPECTED.columns].reset_index(drop=True), EXPECTED, check_dtype=False
    )
    assert plots["source_row"].tolist() == [1, 2, 3, 4, 5]
    assert (plots["source_upload"] == name).all()
    by_id = plots.set_index("plot_id")
    for plot_id, (lon, lat) in SW_CORNERS.items():
        expected_square = box(lon, lat, lon + 0.0005, lat + 0.0005)
        assert by_id.geometry[plot_id].geom_type == "Polygon"
        # longitude first in the result even where the file wrote latitude first (ODK/Kobo)
        assert by_id.geometry[plot_id].symmetric_difference(expected_square).area < 1e-12
        assert by_id.at[plot_id, "measured_area_ha"] == pytest.approx(
            equal_area_ha(expected_square), rel=1e-4
        )
    assert by_id.geometry["SHN-004"].coords[0] == pytest.approx(POINT_SHN_004)
    assert np.isnan(by_id.at["SHN-004", "measured_area_ha"])
    assert by_id.loc[["SHN-001", "SHN-002", "SHN-005"], "land_cover"].tolist() == [
        "opium_poppy",
        "cannabis",
        "opium_poppy",
    ]
    PLOT_SCHEMA.validate(plots)


def test_plot_area_is_close_to_hand_value() -> None:
    # 0.0005 deg x 0.0005 deg at 20.2 N: 111,320 m x cos(20.2) x 0.0005 = 52.24 m east-west,
    # about 110,590 m x 0.0005 = 55.30 m north-south: 2,889 m2, so about 0.289 ha
    plots, _ = load_plots(EXAMPLES / "odk_central_export.csv")
    area = plots.set_index("plot_id").at["SHN-001", "measured_area_ha"]
    assert area == pytest.approx(0.2889, abs=0.0005)


@pytest.mark.parametrize(
    ("name", "accuracy"),
    [
        ("kobo_export.csv", 4.5),
        ("kobo_export.xlsx", 4.5),
        ("odk_central_export.csv", 4.5),
        ("plots_lonlat.csv", 3.0),
    ],
)
def test_gps_accuracy_comes_from_geopoints_or_a_column(name: str, accuracy: float) -> None:
    plots, _ = load_plots(EXAMPLES / name)
    assert plots["gps_accuracy_m"].tolist() == [accuracy] * 5


def test_geojson_exports_have_no_accuracy() -> None:
    plots, _ = load_plots(EXAMPLES / "kobo_export.geojson")
    assert plots["gps_accuracy_m"].isna().all()


def test_lonlat_csv_gives_points_at_the_given_coordinates() -> None:
    plots, report = load_plots(EXAMPLES / "plots_lonlat.csv")
    assert report.ok and len(plots) == 5
    assert (plots.geom_type == "Point").all()
    first = plots.geometry.iloc[0]
    assert (first.x, first.y) == (97.1012, 20.2034)


def test_zipped_shapefile_with_truncated_field_names() -> None:
    # Shapefile field names are cut to 10 characters: survey_date arrives as survey_dat
    plots, report = load_plots(EXAMPLES / "plots_shapefile.zip")
    assert report.ok and plots["plot_id"].tolist() == ["SHN-001", "SHN-002", "SHN-003", "SHN-005"]
    assert plots["survey_date"].iloc[0] == pd.Timestamp("2025-01-14")
    assert "survey_dat" not in plots.columns


def test_kobo_metadata_columns_are_kept_after_the_plot_columns() -> None:
    plots, _ = load_plots(EXAMPLES / "kobo_export.csv")
    extras = list(plots.columns[len(PLOT_COLUMNS) :])
    assert extras[0] == "source_row"
    assert {"_uuid", "_submission_time", "_validation_status", "__version__", "_index"} <= set(
        extras
    )
    assert plots["crop_label"].tolist() == ["poppy", "cannabis", "maize", "other", "ဘိန်း"]


def test_odk_central_metadata_columns_are_kept() -> None:
    plots, _ = load_plots(EXAMPLES / "odk_central_export.csv")
    assert {"KEY", "SubmitterName", "ReviewState", "meta-instanceID"} <= set(plots.columns)
    assert plots["ReviewState"].tolist()[:2] == ["approved", "hasIssues"]


def test_district_id_is_filled_by_spatial_join_in_any_crs() -> None:
    districts = gpd.GeoDataFrame(
        {"district_id": ["D01", "D02"]},
        geometry=[box(97.0, 20.0, 97.2, 20.3), box(97.2, 20.0, 97.4, 20.3)],
        crs="EPSG:4326",
    ).to_crs("EPSG:32647")
    plots, report = load_plots(EXAMPLES / "kobo_export.csv", districts=districts)
    assert report.ok
    assert plots["district_id"].tolist() == ["D01", "D02", "D01", "D01", "D02"]


def test_team_and_source_upload_arguments() -> None:
    plots, _ = load_plots(
        EXAMPLES / "plots_wkt.csv", source_upload="upload-17", team="ignored: file has team"
    )
    assert (plots["source_upload"] == "upload-17").all()
    assert plots["team"].tolist() == EXPECTED["team"].tolist()
