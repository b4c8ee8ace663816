"""The season stage against its I/O floor and against writing its products one by one.

For each scale K, the demo region K times larger (as ``admon demo --scale K`` builds it)
gives one survey year's scenes and grid; each way below runs in a fresh child process
(peak memory is that process's ``ru_maxrss``), under the environment ``admon run`` sets,
alternating ways over ``--rounds`` rounds (the table gives medians):

- **one pass**: ``flows.stages.season_products`` (every product from one read of each
  scene block, ``geo.cog.write_cogs``);
- **per product**: the stage as it was, one ``write_cog`` per product, each rebuilding its
  graph from the scene files (``tests.flows.test_season_products.product_by_product``);
- **floor**: rasterio reads every input band file of every scene once, window by window,
  and writes the very values the stage wrote (read back from its output outside the
  timer) through the same tiled scratch file and COG copy (``features.tif`` as the stage
  writes it: no overviews, ``geo.cog.INTERNAL_COMPRESS`` at its level); no maths.

Beside a peer, a smaller job on the same STAC items (the season median of the six bands
and the NDVI median, written with ``geo.cog.write_cogs`` by both):

- **admon job**: ``read_season`` -> ``season_composite`` and ``indices.compute`` -> median;
- **odc-stac job**: ``odc.stac.load`` (the items' own scale, offset and nodata; SCL masked
  with admon's classes) -> xarray ``median`` over time -> NDVI median. Needs
  ``uv pip install odc-stac`` (not a dependency of admon); skipped without it.

    .venv/bin/python tests/benchmarks/bench_season.py [--scales 1 4] [--rounds 2] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WAYS = ("one_pass", "per_product", "floor", "admon_job", "odc_stac_job")
ODC_BANDS = {"blue": "blue", "green": "green", "red": "red", "nir": "nir",
             "swir16": "swir1", "swir22": "swir2"}  # fmt: skip


def _inputs(config_path: Path, year: int):
    from flows.config import load_config
    from flows.plan import grid_for, normalised_districts, plan_run, run_context

    config = load_config(config_path)
    plan, _ = plan_run(config, year)
    context = run_context(config_path, config, plan, normalised_districts(config, plan.run_dir))
    return context, plan.scenes, grid_for(config, context.districts)


def one_pass(config_path: Path, year: int, out: Path) -> dict[str, str]:
    from dataclasses import replace

    from flows import stages

    context, scenes, grid = _inputs(config_path, year)
    started, cpu = time.monotonic(), time.process_time()
    products = stages.season_products.fn(replace(context, run_dir=str(out)), scenes, grid)
    return {
        "seconds": time.monotonic() - started,
        "cpu": time.process_time() - cpu,
        "products": products,
    }


def per_product(config_path: Path, year: int, out: Path) -> dict:
    from geo.imagery import read_season

    sys.path.insert(0, str(REPO))  # the reference lives in the test suite
    from tests.flows.test_season_products import product_by_product

    _, scenes, grid = _inputs(config_path, year)
    started, cpu = time.monotonic(), time.process_time()
    product_by_product(read_season(scenes, grid), out)
    return {"seconds": time.monotonic() - started, "cpu": time.process_time() - cpu}


def admon_job(config_path: Path, year: int, out: Path) -> dict:
    from geo import composite, indices
    from geo.cog import write_cogs
    from geo.imagery import read_season

    _, scenes, grid = _inputs(config_path, year)
    started, cpu = time.monotonic(), time.process_time()
    season = read_season(scenes, grid)
    median = composite.season_composite(season[[*ODC_BANDS.values(), "valid"]], "median")
    ndvi = indices.compute(season, ["NDVI"])[["NDVI"]]
    ndvi_median = composite.season_composite(ndvi, "median")["NDVI"]
    write_cogs({out / "median.tif": median.drop_vars("valid_count"), out / "ndvi.tif": ndvi_median})
    return {"seconds": time.monotonic() - started, "cpu": time.process_time() - cpu}


def odc_stac_job(config_path: Path, year: int, out: Path) -> dict:
    import numpy as np
    import odc.stac
    import pystac
    import xarray as xr
    from odc.geo.geobox import GeoBox

    from geo.cog import write_cogs
    from geo.readers.masks import SCL_INVALID

    _, scenes, grid = _inputs(config_path, year)
    started, cpu = time.monotonic(), time.process_time()
    items = [pystac.Item.from_file(scene) for scene in scenes]
    geobox = GeoBox(grid.shape, grid.transform, str(grid.crs))
    raw = odc.stac.load(
        items, bands=[*ODC_BANDS, "scl"], geobox=geobox, chunks={"x": 512, "y": 512},
        resampling="nearest", groupby="id",
    )  # fmt: skip
    clear = ~raw["scl"].isin(SCL_INVALID)
    bands = {}
    for asset, name in ODC_BANDS.items():
        dn = raw[asset]
        declared = items[0].assets[asset].extra_fields["raster:bands"][0]
        scale, offset = np.float32(declared["scale"]), np.float32(declared["offset"])
        reflectance = dn.astype("float32") * scale + offset
        bands[name] = reflectance.where(clear & (dn != 0))
    season = xr.Dataset(bands).chunk({"time": -1})
    median = season.median("time", skipna=True)
    ndvi = (season["nir"] - season["red"]) / (season["nir"] + season["red"])
    ndvi_median = ndvi.median("time", skipna=True).rename("NDVI")
    median = median.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    ndvi_median = ndvi_median.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    write_cogs({out / "median.tif": median, out / "ndvi.tif": ndvi_median})
    return {"seconds": time.monotonic() - started, "cpu": time.process_time() - cpu}


def floor(config_path: Path, year: int, out: Path, written: dict[str, str]) -> dict:
    """Read every input band once, write the stage's very output values as the same COGs."""
    import numpy as np
    import rasterio
    from rasterio.windows import Window

    from geo.cog import INTERNAL_COMPRESS, INTERNAL_LEVEL, copy_as_cog

    _, scenes, _ = _inputs(config_path, year)
    files = sorted(p for scene in scenes for p in Path(scene).parent.glob("*.tif"))
    outputs = {Path(path): Path(out) / Path(path).name for path in written.values()}
    spent = spent_cpu = 0.0
    sources = [rasterio.open(p) for p in files]
    references = {path: rasterio.open(path) for path in outputs}
    scratches = {}
    try:
        targets = {}
        for path, target in outputs.items():
            profile = dict(references[path].profile)
            for key in ("compress", "predictor", "interleave", "driver", "tiled"):
                profile.pop(key, None)
            scratches[path] = target.with_suffix(".scratch.tif")
            targets[path] = rasterio.open(
                scratches[path], "w", driver="GTiff", tiled=True, **profile
            )
        height, width = next(iter(references.values())).shape
        for row in range(0, height, 512):
            for col in range(0, width, 512):
                h, w = min(512, height - row), min(512, width - col)
                window = Window(col, row, w, h)
                values = {p: ref.read(window=window) for p, ref in references.items()}
                started, cpu = time.monotonic(), time.process_time()
                for src in sources:
                    factor = max(1, width // src.width)
                    src.read(1, window=Window(col // factor, row // factor, -(-w // factor),
                                              -(-h // factor)))  # fmt: skip
                for path, target in targets.items():
                    target.write(np.asarray(values[path]), window=window)
                spent += time.monotonic() - started
                spent_cpu += time.process_time() - cpu
        for target in targets.values():
            target.close()
        started, cpu = time.monotonic(), time.process_time()
        for path, target in outputs.items():
            reference = references[path]
            resampling = "average" if reference.dtypes[0].startswith("float") else "nearest"
            if reference.overviews(1):
                copy_as_cog(scratches[path], target, resampling=resampling)
            else:  # features.tif: as the stage writes it, no overviews
                copy_as_cog(scratches[path], target, compress=INTERNAL_COMPRESS,
                            overviews=False, level=INTERNAL_LEVEL)  # fmt: skip
        spent += time.monotonic() - started
        spent_cpu += time.process_time() - cpu
    finally:
        for handle in (*sources, *references.values()):
            handle.close()
        for scratch in scratches.values():
            scratch.unlink(missing_ok=True)
    return {"seconds": spent, "cpu": spent_cpu}


def _child(way: str, config: Path, year: int, out: Path, written: Path | None) -> None:
    from flows.config import load_config
    from flows.runtime import configure_environment

    configure_environment(load_config(config).workspace)
    if way == "one_pass":
        result = one_pass(config, year, out)
    elif way == "per_product":
        result = per_product(config, year, out)
    elif way in ("admon_job", "odc_stac_job"):
        result = globals()[way](config, year, out)
    else:
        result = floor(config, year, out, json.loads(written.read_text()))
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS),
                        help="floor needs a one_pass run first (its products.json)")  # fmt: skip
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        way, config, out, written = args.child
        _child(way, Path(config), args.year, Path(out), Path(written) if written != "-" else None)
        return

    from flows.demo import demo_config_text
    from synthetic import build_demo_region

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="admon-bench-season-"))
    rows = []
    for scale in args.scales:
        region = build_demo_region(workdir / f"region_x{scale}", seed=42, scale=scale)
        workspace = workdir / f"ws_season_x{scale}"
        workspace.mkdir(parents=True, exist_ok=True)
        config = workspace / "run.toml"
        config.write_text(demo_config_text(Path(region.root), workspace, list(region.years)))
        written = workspace / "products.json"
        runs: dict[str, list[dict]] = {way: [] for way in WAYS}
        ways = [w for w in args.ways if w != "odc_stac_job" or importlib.util.find_spec("odc.stac")]
        for round_ in range(args.rounds):
            for way in ways:
                out = workspace / f"{way}_{round_}"
                out.mkdir(parents=True, exist_ok=True)
                command = [sys.executable, __file__, "--year", str(args.year), "--child", way,
                           str(config), str(out), str(written) if way == "floor" else "-"]  # fmt: skip
                load = Path("/proc/loadavg").read_text().split()[0]
                child = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
                if child.returncode != 0:
                    raise RuntimeError(f"{way} at {scale}x failed:\n{child.stderr[-3000:]}")
                result = json.loads(child.stdout.strip().splitlines()[-1])
                result["load"] = float(load)
                if way == "one_pass":
                    written.write_text(json.dumps(result.pop("products")))
                runs[way].append(result)
                print(scale, way, json.dumps(result), flush=True)
        floors = runs.get("floor") or [{"seconds": float("nan"), "cpu": float("nan")}]
        floor_s = statistics.median(r["seconds"] for r in floors)
        floor_cpu = statistics.median(r["cpu"] for r in floors)
        for way in ways:
            seconds = statistics.median(r["seconds"] for r in runs[way])
            cpu = statistics.median(r["cpu"] for r in runs[way])
            rows.append(
                f"| {scale}x | {way} | {seconds:.1f} | {seconds / floor_s:.2f} | "
                f"{cpu:.1f} | {cpu / floor_cpu:.2f} | "
                f"{max(r['peak_mb'] for r in runs[way]):.0f} | "
                f"{min(r['load'] for r in runs[way]):.1f}-{max(r['load'] for r in runs[way]):.1f} |"
            )
    print(
        f"Command: `.venv/bin/python tests/benchmarks/bench_season.py --scales "
        f"{' '.join(map(str, args.scales))} --rounds {args.rounds}`\n\n"
        "| area | way | wall s | wall / floor | CPU s | CPU / floor | peak MB | load (1 min) |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
