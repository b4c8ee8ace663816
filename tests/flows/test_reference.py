"""A labelled file named by inputs.reference: used with its design, refused without one."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Point, box

from core.errors import EstimationError
from flows.reference import _from_file

UTM = "EPSG:32647"


@pytest.fixture
def run(tmp_path):
    """A 10 x 10 class map (forest, a poppy block at the top left) and one district over it."""
    classes = np.full((10, 10), 4, dtype="uint8")
    classes[:3, :3] = 1
    with rasterio.open(tmp_path / "classes.tif", "w", driver="GTiff", width=10, height=10, count=1,
                       dtype="uint8", crs=UTM, transform=from_origin(0, 100, 10, 10), nodata=0) as dst:  # fmt: skip
        dst.write(classes, 1)
    gpd.GeoDataFrame({"district_id": ["D01"], "district_name": ["One"]}, geometry=[box(0, 0, 100, 100)],
                     crs=UTM).to_file(tmp_path / "districts.gpkg")  # fmt: skip
    return tmp_path


def _context(run, reference):
    return SimpleNamespace(estimation=SimpleNamespace(reference=str(reference)),
                           districts=str(run / "districts.gpkg"), run_dir=str(run))  # fmt: skip


def test_a_file_with_admons_design_columns_is_put_on_the_map(run):
    labelled = gpd.GeoDataFrame(
        {"sample_id": [7, 8], "reference_class": ["opium_poppy", "forest"], "stratum": [1, 4],
         "stratum_pixels": [9, 91], "stratum_area_ha": [0.9, 9.1], "stratum_sample_size": [1, 1],
         "inclusion_probability": [1 / 9, 1 / 91]},
        geometry=[Point(15, 85), Point(75, 25)], crs=UTM,
    ).to_crs(4326)  # fmt: skip
    labelled.to_file(run / "labels.gpkg")

    state = _from_file(_context(run, run / "labels.gpkg"), str(run / "classes.tif"))

    assert state["complete"] and state["n_labelled"] == 2
    units = gpd.read_file(state["labelled_sample"])
    assert units["sample_id"].tolist() == [7, 8] and units["map_class"].tolist() == [1, 4]
    assert units["district_id"].tolist() == ["D01", "D01"]
    assert units["stratum_pixels"].tolist() == [9, 91]


def test_a_file_without_a_design_is_refused_with_what_is_missing(run):
    gpd.GeoDataFrame({"reference_class": ["forest"]}, geometry=[Point(75, 25)], crs=UTM).to_file(
        run / "srs.gpkg"
    )
    with pytest.raises(
        EstimationError, match=r"no sampling design \(columns \['stratum', 'stratum_pixels'\]"
    ):
        _from_file(_context(run, run / "srs.gpkg"), str(run / "classes.tif"))
    assert not (run / "reference_labelled.gpkg").exists()
