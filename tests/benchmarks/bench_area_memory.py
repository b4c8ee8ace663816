"""Time and peak memory of ``zonal_class_area`` + ``draw_reference_sample`` on a growing map.

Usage: ``.venv/bin/python tests/benchmarks/bench_area_memory.py 4096`` (map edge in
pixels). Run each size in its own process: peak RSS is the process maximum. The
class map (6 classes, random) is written window by window as a tiled GeoTIFF and
cut into 12 districts; the sample uses the recommended allocation with buffer strata.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window
from shapely.geometry import box

from geo.estimation import (
    RECOMMENDED_ALLOCATION,
    RECOMMENDED_BUFFER_PX,
    draw_reference_sample,
    zonal_class_area,
)

X0, Y0, BLOCK = 500_000.0, 2_000_000.0, 512


def write_class_map(path: Path, edge_px: int) -> None:
    """Write a random 6-class map of ``edge_px`` squared 10 m pixels, one block at a time."""
    rng = np.random.default_rng(0)
    codes = np.arange(1, 7, dtype="uint8")
    profile = {"driver": "GTiff", "width": edge_px, "height": edge_px, "count": 1,
               "dtype": "uint8", "crs": "EPSG:32647", "transform": Affine(10, 0, X0, 0, -10, Y0),
               "nodata": 0, "tiled": True, "blockxsize": BLOCK, "blockysize": BLOCK,
               "compress": "deflate"}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, edge_px, BLOCK):
            for col in range(0, edge_px, BLOCK):
                h, w = min(BLOCK, edge_px - row), min(BLOCK, edge_px - col)
                block = rng.choice(codes, size=(h, w), p=[0.03, 0.01, 0.13, 0.6, 0.21, 0.02])
                dst.write(block, 1, window=Window(col, row, w, h))


def districts(edge_px: int) -> gpd.GeoDataFrame:
    """Twelve rectangular districts (4 x 3) covering the map."""
    width, height = edge_px * 10 / 4, edge_px * 10 / 3
    shapes = [box(X0 + (k % 4) * width, Y0 - (k // 4 + 1) * height,
                  X0 + (k % 4 + 1) * width, Y0 - (k // 4) * height) for k in range(12)]  # fmt: skip
    return gpd.GeoDataFrame({"district_id": [f"D{k + 1:02d}" for k in range(12)]},
                            geometry=shapes, crs="EPSG:32647")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("edge_px", type=int)
    edge_px = parser.parse_args().edge_px
    path = Path(tempfile.mkdtemp()) / "classes.tif"
    write_class_map(path, edge_px)
    zones = districts(edge_px)
    start = time.perf_counter()
    zonal_class_area(path, zones, "district_id")
    zonal_s = time.perf_counter() - start
    sample = draw_reference_sample(path, zones, "district_id", seed=0,
                                   n_per_stratum=RECOMMENDED_ALLOCATION,
                                   buffer_px=RECOMMENDED_BUFFER_PX)  # fmt: skip
    sample_s = time.perf_counter() - start - zonal_s
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{edge_px}x{edge_px} px: zonal {zonal_s:.1f} s, sample {sample_s:.1f} s "
          f"({len(sample)} points), peak RSS {peak_mb:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
