"""The run's analysis grid (flows.plan.grid_for): always metric, whatever CRS the districts use.

District boundaries from HDX, geoBoundaries and MIMU come in WGS 84; the
fixtures imitate a MIMU township layer (``TS_PCODE``, ``TS``, Burmese
``TS_MMR`` names) around Taunggyi, Shan State, as GeoJSON and as TopoJSON
(which carries no CRS).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Transformer
from shapely.geometry import box

from core.errors import ConfigError
from flows.config import load_config
from flows.plan import MIN_GRID_PIXELS, find_scenes, grid_for, normalised_districts

TOWNSHIPS = [  # (pcode, name, Burmese name, lon/lat box): about 10.4 x 11.1 km each
    ("MMR014001", "Taunggyi", "တောင်ကြီး", (97.00, 20.70, 97.10, 20.80)),
    ("MMR014002", "Hopong", "ဟိုပုံး", (97.10, 20.70, 97.20, 20.80)),
]


def _config(tmp_path: Path, districts: Path, stac: dict | None = None, **grid: object):
    return load_config(
        {
            "survey": {"years": [2025]},
            "inputs": {
                "districts": str(districts),
                "district_id": "TS_PCODE",
                "district_name": "TS",
                "imagery": ["scenes/*.json"],
                "training_plots": "plots.geojson",
                **({"stac": stac} if stac else {}),
            },
            "grid": grid,
        },
        base_dir=tmp_path,
    )


def _wgs84_geojson(tmp_path: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {
            "TS_PCODE": [t[0] for t in TOWNSHIPS],
            "TS": [t[1] for t in TOWNSHIPS],
            "TS_MMR": [t[2] for t in TOWNSHIPS],
        },
        geometry=[box(*t[3]) for t in TOWNSHIPS],
        crs="EPSG:4326",
    )
    path = tmp_path / "mmr_townships.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


def _run_grid(tmp_path: Path, districts: Path, **grid: object):
    config = _config(tmp_path, districts, **grid)
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    return grid_for(config, normalised_districts(config, run_dir))


def test_wgs84_districts_get_the_utm_zone_of_their_area(tmp_path):
    grid = _run_grid(tmp_path, _wgs84_geojson(tmp_path), resolution_m=10)
    assert grid.crs.to_epsg() == 32647  # 97.0-97.2 E, 20.7-20.8 N
    assert grid.resolution == 10.0
    # independently: the boundary, densified, projected by pyproj, snapped outward to 10 m
    outline = box(97.0, 20.7, 97.2, 20.8).segmentize(0.001).exterior.coords
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32647", always_xy=True)
    xs, ys = to_utm.transform(*zip(*outline, strict=True))
    expected_width = math.ceil(max(xs) / 10) - math.floor(min(xs) / 10)
    expected_height = math.ceil(max(ys) / 10) - math.floor(min(ys) / 10)
    assert (grid.width, grid.height) == (expected_width, expected_height)
    assert 2080 < grid.width < 2110  # 0.2 degrees of longitude at 20.75 N is about 20.8 km


def test_equal_area_gives_epsg_6933(tmp_path):
    grid = _run_grid(tmp_path, _wgs84_geojson(tmp_path), resolution_m=20, equal_area=True)
    assert grid.crs.to_epsg() == 6933 and grid.resolution == 20.0


def test_projected_districts_keep_their_own_crs(tmp_path):
    path = tmp_path / "utm.gpkg"
    gpd.read_file(_wgs84_geojson(tmp_path)).to_crs("EPSG:32647").to_file(path)
    grid = _run_grid(tmp_path, path)
    assert grid.crs.to_epsg() == 32647 and grid.resolution == 10.0


def test_a_grid_crs_in_degrees_is_refused_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"grid.crs = EPSG:4326 is in degrees"):
        _run_grid(tmp_path, _wgs84_geojson(tmp_path), crs="EPSG:4326")


def test_a_grid_crs_in_feet_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"grid.crs = EPSG:2227 has .*foot"):
        _run_grid(tmp_path, _wgs84_geojson(tmp_path), crs="EPSG:2227")


def test_an_absurdly_coarse_grid_is_refused_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"grid.resolution_m = 5000 .* only 5 x 4 pixels"):
        _run_grid(tmp_path, _wgs84_geojson(tmp_path), resolution_m=5000)
    assert MIN_GRID_PIXELS > 15


def _topojson_without_crs(tmp_path: Path) -> Path:
    topology = {
        "type": "Topology",
        "objects": {
            "townships": {
                "type": "GeometryCollection",
                "geometries": [
                    {
                        "type": "Polygon",
                        "arcs": [[0]],
                        "properties": {"TS_PCODE": "MMR014001", "TS": "Taunggyi"},
                    }
                ],
            }
        },
        "arcs": [[[97.0, 20.7], [97.1, 20.7], [97.1, 20.8], [97.0, 20.8], [97.0, 20.7]]],
    }
    path = tmp_path / "townships.topojson"
    path.write_text(json.dumps(topology), encoding="utf-8")
    return path


def test_topojson_without_crs_is_refused_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"inputs.districts .*townships.topojson: .*no CRS"):
        _run_grid(tmp_path, _topojson_without_crs(tmp_path))


def test_a_stac_search_over_districts_without_crs_is_refused_naming_the_file(tmp_path):
    """The search box is the districts' extent in WGS 84: no CRS, no box."""
    stac = {"catalog": str(tmp_path / "catalog.json")}
    config = _config(tmp_path, _topojson_without_crs(tmp_path), stac=stac)
    with pytest.raises(ConfigError, match=r"inputs.districts .*townships.topojson: .*no CRS"):
        find_scenes(config, 2025)
