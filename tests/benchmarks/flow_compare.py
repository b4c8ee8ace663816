"""The comparisons ``bench_flow.py --compare`` makes beside each whole-flow run.

For one scale, after the flow ran with the default runner in ``run_dir``:

- **flow floor**: every input band file of the year's scenes read once, window by window,
  the vector inputs read once, and every raster the run wrote (every ``.tif`` of the run
  folder) written once more as the same kind of file: the same values (read back outside
  the timer), the same compression (``features.tif`` at ``geo.cog``'s internal codec and
  level, as admon writes it), a COG with overviews where the run's file has them;
  no maths. CSV, GeoPackage and HTML outputs are small and not counted.
- **in-process stage sum**: ``bench_stages.py``'s child, every stage called directly in one
  process (dask's threaded scheduler), in its own workspace; the sum of the stages' seconds.
- **season**: ``bench_season.py``'s children: the stage (one pass), its floor, and the
  odc-stac job beside admon's same job (skipped without odc-stac installed).
- **classify**: ``bench_classify.py`` on the run folder: admon's map writer against
  scikit-learn's own ``predict_proba`` on the same features.

Each runs in a fresh child process, one after another.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def flow_floor(run_dir: Path, scenes: list[str], districts: str, plots: str, out: Path) -> dict:
    """Read the year's inputs once and write the run's rasters once; seconds and CPU timed."""
    import geopandas as gpd
    import numpy as np
    import rasterio
    from rasterio.windows import Window

    from geo.cog import INTERNAL_COMPRESS, INTERNAL_LEVEL, copy_as_cog

    spent = spent_cpu = 0.0

    def timed(function, *args, **kwargs):
        nonlocal spent, spent_cpu
        started, cpu = time.monotonic(), time.process_time()
        result = function(*args, **kwargs)
        spent += time.monotonic() - started
        spent_cpu += time.process_time() - cpu
        return result

    timed(gpd.read_file, districts)
    timed(gpd.read_file, plots)
    band_files = sorted(p for scene in scenes for p in Path(scene).parent.glob("*.tif"))
    read_px = 0
    for path in band_files:
        with timed(rasterio.open, path) as src:
            for _, window in src.block_windows(1):
                read_px += int(timed(src.read, window=window).size)
    written = sorted(run_dir.rglob("*.tif"))
    out.mkdir(parents=True, exist_ok=True)
    for number, path in enumerate(written):
        with rasterio.open(path) as ref:
            profile = dict(ref.profile)
            overviews = bool(ref.overviews(1))
            for key in ("interleave", "driver", "tiled", "blockxsize", "blockysize"):
                profile.pop(key, None)
            scratch = out / f"{number}.scratch.tif"
            target = out / f"{number}.tif"
            codec = str(profile.get("compress", "deflate")).lower()
            options = {} if overviews else {"compress": codec}
            if codec == INTERNAL_COMPRESS:  # features.tif, a geo.cog.write_cogs internal output
                options[f"{INTERNAL_COMPRESS}_level"] = INTERNAL_LEVEL
            if overviews:
                profile.pop("compress", None)
                profile.pop("predictor", None)
            with timed(rasterio.open, scratch, "w", driver="GTiff", tiled=True,
                       blockxsize=512, blockysize=512, **{**profile, **options}) as dst:  # fmt: skip
                for row in range(0, ref.height, 512):
                    for col in range(0, ref.width, 512):
                        window = Window(col, row, min(512, ref.width - col),
                                        min(512, ref.height - row))  # fmt: skip
                        timed(dst.write, np.asarray(ref.read(window=window)), window=window)
            if overviews:
                float_data = ref.dtypes[0].startswith("float")
                timed(copy_as_cog, scratch, target,
                      resampling="average" if float_data else "nearest")  # fmt: skip
                scratch.unlink()
            else:
                scratch.replace(target)
    return {"seconds": spent, "cpu": spent_cpu, "band_files": len(band_files),
            "read_mpx": read_px / 1e6, "rasters_written": len(written)}  # fmt: skip


def _child_floor(arguments: list[str]) -> None:
    run_dir, plan_json, out = Path(arguments[0]), Path(arguments[1]), Path(arguments[2])
    plan = json.loads(plan_json.read_text())
    result = flow_floor(run_dir, plan["scenes"], plan["districts"], plan["plots"], out)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _run(command: list[str], what: str) -> dict:
    child = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{child.stderr[-3000:]}")
    text = child.stdout.strip()
    try:
        return json.loads(text.splitlines()[-1])
    except json.JSONDecodeError:
        return json.loads(text[text.index("{") :])  # an indented JSON document


def compare(config: Path, region_root: Path, years: list[int], year: int, run_dir: Path,
            workdir: Path) -> dict:  # fmt: skip
    """Every comparison of the module docstring for one finished run; one flat record."""
    from flows.config import load_config
    from flows.demo import demo_config_text
    from flows.plan import find_scenes

    loaded = load_config(config)
    record: dict = {"load_before": os.getloadavg()[0]}
    plan = {
        "scenes": find_scenes(loaded, year),
        "districts": str(loaded.path(loaded.inputs.districts)),
        "plots": str(loaded.path(loaded.inputs.training_plots, year)),
    }
    workdir.mkdir(parents=True, exist_ok=True)
    plan_json = workdir / "floor_inputs.json"
    plan_json.write_text(json.dumps(plan))
    floor = _run([sys.executable, __file__, "floor", str(run_dir), str(plan_json),
                  str(workdir / "floor_out")], "flow floor")  # fmt: skip
    record |= {"floor_s": floor["seconds"], "floor_cpu_s": floor["cpu"],
               "floor_rasters": floor["rasters_written"]}  # fmt: skip

    stages_ws = workdir / "stages_ws"
    stages_ws.mkdir(parents=True, exist_ok=True)
    stages_config = stages_ws / "run.toml"
    stages_config.write_text(demo_config_text(region_root, stages_ws, years))
    staged = _run([sys.executable, str(HERE / "bench_stages.py"), "--child", str(stages_config),
                   "--year", str(year)], "in-process stages")  # fmt: skip
    record["in_process_s"] = sum(stage["seconds"] for stage in staged)
    record["in_process_peak_mb"] = max(stage["peak_mb"] for stage in staged)

    season_ws = workdir / "season_ws"
    season_ws.mkdir(parents=True, exist_ok=True)
    season_config = season_ws / "run.toml"
    season_config.write_text(stages_config.read_text().replace(str(stages_ws), str(season_ws)))
    products = season_ws / "products.json"
    ways = ["one_pass", "floor", "admon_job"]
    if importlib.util.find_spec("odc") and importlib.util.find_spec("odc.stac"):  # the peer
        ways.append("odc_stac_job")
    for way in ways:
        out = season_ws / way
        out.mkdir(parents=True, exist_ok=True)
        result = _run([sys.executable, str(HERE / "bench_season.py"), "--year", str(year),
                       "--child", way, str(season_config), str(out),
                       str(products) if way == "floor" else "-"], f"season {way}")  # fmt: skip
        if way == "one_pass":
            products.write_text(json.dumps(result.pop("products")))
        record[f"season_{way}_s"] = result["seconds"]
    classified = _run([sys.executable, str(HERE / "bench_classify.py"), str(run_dir), "--reps", "1"],
                      "classify")  # fmt: skip
    record["classify_s"] = classified["median_s"]["classify"]
    record["predict_proba_s"] = classified["median_s"]["predict_proba"]
    record["classify_bit_identical"] = classified["bit_identical_to_one_job_predict_proba"]
    record["load_after"] = os.getloadavg()[0]
    return record


SHAN_MPX = 1560.0
"""Shan State wall to wall at 10 m: about 155,800 km²."""


def projection(rows: list[dict]) -> list[str]:
    """Hours for a Shan-State year from the marginal cost between the two largest scales."""
    default = sorted((r for r in rows if r["workers"] == -1), key=lambda r: r["grid_px"])
    if len(default) < 2:
        return ["(a projection needs the default runner at two scales)"]
    small, large = default[-2], default[-1]
    mpx = (large["grid_px"] - small["grid_px"]) / 1e6
    wall_per_mpx = (large["wall_s"] - small["wall_s"]) / mpx
    cpu_per_mpx = (large["cpu_s"] - small["cpu_s"]) / mpx
    hours_2 = (large["wall_s"] + (SHAN_MPX - large["grid_px"] / 1e6) * wall_per_mpx) / 3600
    hours_16 = SHAN_MPX * cpu_per_mpx / 16 / 3600
    return [
        f"- marginal cost between {small['scale']}x and {large['scale']}x (default runner): "
        f"{wall_per_mpx:.1f} s wall and {cpu_per_mpx:.1f} s CPU per Mpx (5 scenes)",
        f"- projected Shan-State year ({SHAN_MPX:.0f} Mpx): {hours_2:.1f} h on 2 cores "
        f"(target <= 8 h); {hours_16:.1f} h on 16 cores if the CPU time spread over them "
        "perfectly (a lower bound)",
    ]


if __name__ == "__main__":
    if sys.argv[1] == "floor":
        _child_floor(sys.argv[2:])
