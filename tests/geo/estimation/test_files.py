"""``estimate_from_files`` (behind ``admon estimate``): real files in, estimate table out."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point, box

from core.errors import InvalidInputError
from geo.estimation import estimate_from_files, zonal_class_area

UTM = "EPSG:32647"
X0, Y0 = 500_000.0, 2_000_000.0


@pytest.fixture
def files(tmp_path):
    """classes.tif (COG-like tiled GeoTIFF), districts.gpkg, reference GeoJSON in EPSG:4326."""
    rng = np.random.default_rng(4)
    codes = rng.choice(np.array([1, 3, 4], dtype="uint8"), size=(60, 60), p=[0.1, 0.3, 0.6])
    classes = tmp_path / "classes.tif"
    profile = {"driver": "GTiff", "width": 60, "height": 60, "count": 1, "dtype": "uint8",
               "crs": UTM, "transform": Affine(10, 0, X0, 0, -10, Y0), "nodata": 0,
               "tiled": True, "blockxsize": 16, "blockysize": 16, "compress": "deflate"}  # fmt: skip
    with rasterio.open(classes, "w", **profile) as dst:
        dst.write(codes, 1)
    districts = gpd.GeoDataFrame(
        {"district_id": ["D01", "D02"], "district_name": ["Hopang", "Mongla"]},
        geometry=[box(X0, Y0 - 600, X0 + 300, Y0), box(X0 + 300, Y0 - 600, X0 + 600, Y0)],
        crs=UTM,
    )
    districts_path = tmp_path / "districts.gpkg"
    districts.to_file(districts_path, layer="districts")
    # 8 labelled points per map class and district at pixel centres
    points, labels, ids = [], [], []
    for zone_col in (0, 30):
        for code, label_cycle in ((1, ["opium_poppy"] * 6 + ["other_crops"] * 2),
                                  (3, ["other_crops"] * 7 + ["opium_poppy"]),
                                  (4, ["forest"] * 8)):  # fmt: skip
            rows, cols = np.nonzero(codes[:, zone_col : zone_col + 30] == code)
            for k, label in enumerate(label_cycle):
                points.append(Point(X0 + 10 * (cols[k] + zone_col) + 5, Y0 - 10 * rows[k] - 5))
                labels.append(label)
                ids.append(f"R{len(ids) + 1:03d}")
    reference = gpd.GeoDataFrame(
        {"plot_id": ids, "land_cover": labels, "survey_date": "2025-01-15"},
        geometry=points,
        crs=UTM,
    ).to_crs("EPSG:4326")
    reference_path = tmp_path / "reference.geojson"
    reference.to_file(reference_path, driver="GeoJSON")
    return classes, reference_path, districts_path, codes, districts


def test_estimate_from_files_matches_the_functions(files, tmp_path):
    classes, reference, districts_path, codes, districts = files
    out = tmp_path / "out" / "district_estimates.csv"
    table = estimate_from_files(classes, reference, districts_path, out=out)
    assert list(table.columns[:9]) == ["district_id", "district_name", "year", "crop", "area_ha",
                                       "ci_low_ha", "ci_high_ha", "method", "n_reference"]  # fmt: skip
    assert set(table["district_id"]) == {"D01", "D02", "ALL"}
    assert (table["year"] == 2025).all() and (table["n_reference"].iloc[:2] == 24).all()
    # same numbers by hand: D01 poppy = A1 * 6/8 + A3 * 1/8 (mapped ha from pixel counts)
    d01 = table[(table["district_id"] == "D01") & (table["crop"] == "opium_poppy")].iloc[0]
    a1 = (codes[:, :30] == 1).sum() * 0.01
    a3 = (codes[:, :30] == 3).sum() * 0.01
    assert d01["area_ha"] == pytest.approx(a1 * 6 / 8 + a3 / 8)
    assert d01["district_name"] == "Hopang"
    written = pd.read_csv(out)
    assert len(written) == len(table)
    assert written["area_ha"].to_numpy() == pytest.approx(table["area_ha"].to_numpy())
    # and the same as calling the functions on a hand-built sample
    map_area = zonal_class_area(classes, districts, "district_id")
    assert map_area.query("district_id == 'D01' and `class` == 1")[
        "area_ha"
    ].item() == pytest.approx(a1)


def test_zone_id_guess_and_other_class_columns(files, tmp_path):
    classes, reference, districts_path, _, districts = files
    renamed = districts.rename(columns={"district_id": "code"})[["code", "geometry"]]
    crop_reference = gpd.read_file(reference).rename(columns={"land_cover": "reference_class"})
    table = estimate_from_files(classes, crop_reference, renamed, include_region=False)
    assert set(table["district_id"]) == {"D01", "D02"}
    assert table["district_name"].tolist() == table["district_id"].tolist()


def test_bad_reference_files(files, tmp_path):
    classes, reference, districts_path, _, _ = files
    plain = gpd.read_file(reference).drop(columns="land_cover")
    with pytest.raises(InvalidInputError, match="class columns"):
        estimate_from_files(classes, plain, districts_path)
    far = gpd.read_file(reference).to_crs(UTM)
    far["geometry"] = far.geometry.translate(50_000, 0)
    with pytest.raises(InvalidInputError, match="valid class-map pixel"):
        estimate_from_files(classes, far, districts_path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        estimate_from_files(classes, tmp_path / "missing.geojson", districts_path)
    unknown = gpd.read_file(reference)
    unknown.loc[0, "land_cover"] = "poppy"
    with pytest.raises(InvalidInputError, match="'poppy'"):
        estimate_from_files(classes, unknown, districts_path)


def test_outside_points_are_dropped_with_a_warning(files, caplog):
    classes, reference, districts_path, _, _ = files
    labelled = gpd.read_file(reference)
    shifted = labelled.to_crs(UTM)
    shifted.loc[0, "geometry"] = Point(X0 + 5_000, Y0 - 5)
    table = estimate_from_files(classes, shifted, districts_path, include_region=False)
    assert "R001" in caplog.text
    assert table["n_reference"].sum() == 2 * (48 - 1)  # 47 usable points, two crops each
