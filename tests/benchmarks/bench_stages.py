"""Peak memory and time of each annual-survey stage, run in one process, at growing scales.

For each scale K the demo region K times larger (as ``admon demo --scale K`` builds it)
runs one survey year stage by stage in a fresh child process: the stage functions of
``flows.stages`` and ``flows.outputs`` called directly, with dask's threaded scheduler,
under the environment ``admon run`` sets (``flows.runtime.configure_environment``).
A thread samples the process's resident memory every 50 ms; the table gives each
stage's seconds, the resident memory when it starts and its peak. It shows which stage
holds memory as the area grows, which the whole-flow benchmark (``bench_flow.py``),
summing every process, cannot.

    .venv/bin/python tests/benchmarks/bench_stages.py [--scales 1 4 16] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STAGES = ("season_products", "classify", "estimate", "link", "publish")


def run_stages(config_path: Path, year: int) -> list[dict]:
    """Run every stage of ``year`` in this process; one record per stage."""
    import psutil

    from flows import outputs, stages
    from flows.config import load_config
    from flows.plan import grid_for, normalised_districts, plan_run, run_context

    process = psutil.Process()
    peak = [0]

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    records = []

    def stage(name: str, function, *args):
        start_rss = peak[0] = process.memory_info().rss
        started = time.monotonic()
        result = function(*args)
        records.append(
            {
                "stage": name,
                "seconds": time.monotonic() - started,
                "start_mb": start_rss / 2**20,
                "peak_mb": peak[0] / 2**20,
            }
        )
        return result

    config = load_config(config_path)
    plan, _ = plan_run(config, year)
    context = run_context(config_path, config, plan, normalised_districts(config, plan.run_dir))
    grid = grid_for(config, context.districts)
    products = stage("season_products", stages.season_products.fn, context, plan.scenes, grid)
    classified = stage("classify", stages.train_and_classify.fn, context, products["features"])

    def estimate(classes: str) -> dict:
        parts = [
            stages.district_map_area.fn(classes, context.districts, batch)
            for batch in stages.district_batches(context.districts)
        ]
        estimated = stages.estimate_areas.fn(context, classes, parts)
        estimated |= stages.field_estimates.fn(
            context, estimated["map_area"], estimated["reference_sample"]
        )
        return estimated

    estimated = stage("estimate", estimate, classified["classes"])
    linked = stage(
        "link",
        outputs.link_programmes.fn,
        context,
        estimated["district_estimates"],
        {},
        classified["classes"],
    )
    stage("publish", outputs.publish_outputs.fn, context, classified, products, estimated, linked)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from flows.config import load_config
        from flows.runtime import configure_environment

        configure_environment(load_config(args.child).workspace)
        print(json.dumps(run_stages(args.child, args.year)))
        return

    from flows.demo import demo_config_text
    from synthetic import build_demo_region

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="admon-bench-stages-"))
    table = {}
    for scale in args.scales:
        region = build_demo_region(workdir / f"region_x{scale}", seed=42, scale=scale)
        workspace = workdir / f"ws_stages_x{scale}"
        workspace.mkdir(parents=True, exist_ok=True)
        config = workspace / "run.toml"
        config.write_text(demo_config_text(Path(region.root), workspace, list(region.years)))
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(config), "--year", str(args.year)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise RuntimeError(f"scale {scale} failed:\n{child.stderr[-3000:]}")
        table[scale] = json.loads(child.stdout.strip().splitlines()[-1])
        print(scale, json.dumps(table[scale]), flush=True)

    scales = list(table)
    header = "| stage | " + " | ".join(f"{k}x s | {k}x start MB | {k}x peak MB" for k in scales)
    lines = [
        f"Command: `.venv/bin/python tests/benchmarks/bench_stages.py --scales "
        f"{' '.join(map(str, scales))}`",
        "",
        header + " |",
        "|---|" + "---|---|---|" * len(scales),
    ]
    for i, name in enumerate(STAGES):
        cells = []
        for k in scales:
            record = table[k][i]
            assert record["stage"] == name
            cells.append(
                f"{record['seconds']:.0f} | {record['start_mb']:.0f} | {record['peak_mb']:.0f}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
