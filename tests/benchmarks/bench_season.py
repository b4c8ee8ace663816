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
  timer) through the same tiled scratch file and COG copy; no maths.

    .venv/bin/python tests/benchmarks/bench_season.py [--scales 1 4] [--rounds 2] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WAYS = ("one_pass", "per_product", "floor")


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
    started = time.monotonic()
    products = stages.season_products.fn(replace(context, run_dir=str(out)), scenes, grid)
    return {"seconds": time.monotonic() - started, "products": products}


def per_product(config_path: Path, year: int, out: Path) -> dict:
    from geo.imagery import read_season
    from tests.flows.test_season_products import product_by_product

    _, scenes, grid = _inputs(config_path, year)
    started = time.monotonic()
    product_by_product(read_season(scenes, grid), out)
    return {"seconds": time.monotonic() - started}


def floor(config_path: Path, year: int, out: Path, written: dict[str, str]) -> dict:
    """Read every input band once, write the stage's very output values as the same COGs."""
    import numpy as np
    import rasterio
    from rasterio.windows import Window

    from geo.cog import copy_as_cog

    _, scenes, _ = _inputs(config_path, year)
    files = sorted(p for scene in scenes for p in Path(scene).parent.glob("*.tif"))
    outputs = {Path(path): Path(out) / Path(path).name for path in written.values()}
    spent = 0.0
    sources = [rasterio.open(p) for p in files]
    references = {path: rasterio.open(path) for path in outputs}
    scratches = {}
    try:
        targets = {}
        for path, target in outputs.items():
            profile = dict(references[path].profile)
            for key in ("compress", "predictor", "interleave", "driver"):
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
                started = time.monotonic()
                for src in sources:
                    factor = max(1, width // src.width)
                    src.read(1, window=Window(col // factor, row // factor, -(-w // factor),
                                              -(-h // factor)))  # fmt: skip
                for path, target in targets.items():
                    target.write(np.asarray(values[path]), window=window)
                spent += time.monotonic() - started
        for target in targets.values():
            target.close()
        started = time.monotonic()
        for path, target in outputs.items():
            resampling = "average" if references[path].dtypes[0].startswith("float") else "nearest"
            copy_as_cog(scratches[path], target, resampling=resampling)
        spent += time.monotonic() - started
    finally:
        for handle in (*sources, *references.values()):
            handle.close()
        for scratch in scratches.values():
            scratch.unlink(missing_ok=True)
    return {"seconds": spent}


def _child(way: str, config: Path, year: int, out: Path, written: Path | None) -> None:
    from flows.config import load_config
    from flows.runtime import configure_environment

    configure_environment(load_config(config).workspace)
    if way == "one_pass":
        result = one_pass(config, year, out)
    elif way == "per_product":
        result = per_product(config, year, out)
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
        for round_ in range(args.rounds):
            for way in WAYS:
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
        floor_s = statistics.median(r["seconds"] for r in runs["floor"])
        for way in WAYS:
            seconds = statistics.median(r["seconds"] for r in runs[way])
            rows.append(
                f"| {scale}x | {way} | {seconds:.1f} | {seconds / floor_s:.2f} | "
                f"{max(r['peak_mb'] for r in runs[way]):.0f} | "
                f"{min(r['load'] for r in runs[way]):.1f}-{max(r['load'] for r in runs[way]):.1f} |"
            )
    print(
        f"Command: `.venv/bin/python tests/benchmarks/bench_season.py --scales "
        f"{' '.join(map(str, args.scales))} --rounds {args.rounds}`\n\n"
        "| area | way | median s | / floor | peak MB | load (1 min) |\n|---|---|---|---|---|---|"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
