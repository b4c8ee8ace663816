"""CPU of the COG copy of one raster with and without overviews, at deflate's default and level 1.

Takes a finished run's ``features.tif`` (or any GeoTIFF), rewrites it once as the plain tiled
scratch file the stage writes, then copies that to a COG the four ways, ``--repeat`` times
each, alternately; reports the median CPU (user + system of this process, GDAL's threads
included), wall time and file size, and whether the values of all four are identical.

    .venv/bin/python tests/benchmarks/bench_cog_options.py RUN_DIR/features.tif [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import rasterio
import rasterio.shutil

WAYS = {
    "overviews, default level (before)": {},
    "no overviews, default level": {"OVERVIEWS": "NONE"},
    "no overviews, level 1 (features.tif now)": {"OVERVIEWS": "NONE", "LEVEL": "1"},
    "overviews, level 1": {"LEVEL": "1"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raster", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="admon-bench-cog-"))
    plain = workdir / "scratch.tif"
    rasterio.shutil.copy(
        args.raster, plain, driver="GTiff", TILED="YES", BLOCKXSIZE=512, BLOCKYSIZE=512
    )
    options = {
        "driver": "COG",
        "COMPRESS": "DEFLATE",
        "BLOCKSIZE": 512,
        "OVERVIEWS": "AUTO",
        "RESAMPLING": "AVERAGE",
        "PREDICTOR": "YES",
        "NUM_THREADS": "ALL_CPUS",
        "BIGTIFF": "IF_SAFER",
    }  # fmt: skip  (geo.cog.copy_as_cog's options)
    times: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
    outputs = {way: workdir / f"cog_{i}.tif" for i, way in enumerate(WAYS)}
    for _ in range(args.repeat):
        for way, extra in WAYS.items():
            cpu, wall = time.process_time(), time.perf_counter()
            rasterio.shutil.copy(plain, outputs[way], **{**options, **extra})
            times[way].append((time.process_time() - cpu, time.perf_counter() - wall))
    values = []
    for way in WAYS:
        with rasterio.open(outputs[way]) as src:
            values.append(src.read().tobytes())
            levels = src.overviews(1)
        cpu = statistics.median(t[0] for t in times[way])
        wall = statistics.median(t[1] for t in times[way])
        size = outputs[way].stat().st_size / 1e6
        print(f"| {way} | {cpu:.2f} | {wall:.2f} | {size:.1f} | {levels} |")
    print("values identical in all four:", all(v == values[0] for v in values))


if __name__ == "__main__":
    main()
