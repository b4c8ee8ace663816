"""A workspace with one run's interpretation package, for the /interpret tests.

The package is written by ``models.interpretation.write_package`` (the function
phase 1 calls) over a small drawn sample and two real GeoTIFFs: a float
reflectance composite and an RGB drone orthomosaic covering the first points.
One drone image is named with markup, to check that nothing from a file is
ever shown as HTML.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Point

from models.interpretation import ChipSource, write_package

RUN_ID = "2025-0123456789"
UTM = "EPSG:32647"
X0, Y0 = 380000.0, 2329000.0
HOSTILE_NAME = '<img src=x onerror="document.title=1">.tif'


def _geotiff(path: Path, data: np.ndarray, resolution: float) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1],
                       count=data.shape[0], dtype=data.dtype, crs=UTM,
                       transform=from_origin(X0, Y0, resolution, resolution)) as dst:  # fmt: skip
        dst.write(data)
        if data.shape[0] == 4:
            dst.descriptions = ("blue", "green", "red", "nir")
    return path


def interpretation_workspace(root: Path, n_points: int = 8, overlap_share: float = 0.25) -> Path:
    """Write ``root/runs/2025/<RUN_ID>/interpretation``; return the workspace ``root``."""
    run_dir = root / "runs" / "2025" / RUN_ID
    run_dir.mkdir(parents=True)
    rng = np.random.default_rng(1)
    composite = _geotiff(
        run_dir / "median.tif", rng.uniform(0, 0.4, (4, 60, 60)).astype("float32"), 10
    )
    drone = _geotiff(
        run_dir / HOSTILE_NAME, rng.integers(0, 255, (3, 400, 400)).astype("uint8"), 0.1
    )
    ids = np.arange(1, n_points + 1)
    sample = gpd.GeoDataFrame(
        {"sample_id": ids, "district_id": "D01", "map_class": 4, "stratum": 4},
        geometry=[Point(X0 + 5 + 10 * i, Y0 - 5 - 10 * i) for i in range(n_points)], crs=UTM,
    )  # fmt: skip
    sources = [
        ChipSource("composite_true", "composite", str(composite), "Season composite, true colour",
                   (3, 2, 1), 240.0, 48, (0.0, 0.25)),
        ChipSource("drone_1", "drone", str(drone), f"Drone orthomosaic {HOSTILE_NAME}",
                   half_width_m=15.0),
    ]  # fmt: skip
    covered = np.zeros(n_points, bool)
    covered[:3] = True
    profiles = pd.DataFrame({"sample_id": np.repeat(ids, 2), "date": ["2024-11-15", "2025-02-08"] * n_points,
                             "ndvi": np.tile([0.25, 0.7], n_points)})  # fmt: skip
    write_package(run_dir / "interpretation", run_id=RUN_ID, year=2025, sample=sample,
                  sources=sources, coverage={"drone_1": covered}, profiles=profiles,
                  pixel_size_m=10.0, overlap_share=overlap_share, seed=5)  # fmt: skip
    return root
