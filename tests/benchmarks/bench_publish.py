"""CPU time of the publish stage of a finished demo run, the stage alone, repeated.

Copies a demo workspace (``admon demo --workspace DIR``) once, then publishes each of its
years again ``--repeat`` times with the stage function the flow runs
(``flows.outputs.publish_outputs``), timing the process's CPU (user + system, every
thread) and wall time of each. The first publication of a process pays matplotlib's
font cache and imports: it is reported apart and left out of the median.

    .venv/bin/python tests/benchmarks/bench_publish.py WORKSPACE [--repeat 3] [--workdir DIR]

To compare two versions of the code, run the same file with the other version first on
``sys.path`` (``PYTHONPATH=EXPORT .venv/bin/python tests/benchmarks/bench_publish.py``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def _stage_inputs(run_dir: Path) -> tuple[dict, dict, dict, dict]:
    """What the stages before ``publish`` returned, rebuilt from the run folder's files."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    accuracy = manifest.get("accuracy") or {}
    classified = {
        "classes": str(run_dir / "classes.tif"),
        "confusion": str(run_dir / "confusion_matrix.csv"),
        "holdout_accuracy": accuracy.get("holdout_accuracy"),
    }
    products = {"ndvi_median": str(run_dir / "indices" / "ndvi_median.tif")}
    estimated = {"district_estimates": str(run_dir / "district_estimates.csv")}
    linked = {}
    if (run_dir / "programme_change.csv").is_file():
        linked["programme_change"] = str(run_dir / "programme_change.csv")
    return classified, products, estimated, linked


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1 (the first publication is not counted)")

    from flows import outputs
    from flows.config import load_config
    from flows.plan import normalised_districts, plan_run, run_context
    from flows.runtime import configure_environment

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="admon-bench-publish-"))
    workspace = workdir / "workspace"
    if not workspace.exists():
        shutil.copytree(args.workspace, workspace, symlinks=True)
    config_path = workspace / "demo.toml"
    text = config_path.read_text(encoding="utf-8").replace(
        str(args.workspace.resolve()), str(workspace.resolve())
    )
    config_path.write_text(text, encoding="utf-8")
    config = load_config(config_path)
    configure_environment(config.workspace)
    result = {}
    for year in sorted(int(p.name) for p in (workspace / "runs").iterdir() if p.name.isdigit()):
        plan, _ = plan_run(config, year)
        context = run_context(config_path, config, plan, normalised_districts(config, plan.run_dir))
        inputs = _stage_inputs(Path(context.run_dir))
        cpu, wall = [], []
        for _ in range(args.repeat + 1):
            started, wall_started = time.process_time(), time.perf_counter()
            outputs.publish_outputs.fn(context, *inputs)
            cpu.append(time.process_time() - started)
            wall.append(time.perf_counter() - wall_started)
        result[year] = {
            "first_cpu_s": round(cpu[0], 2),
            "cpu_s": [round(c, 2) for c in cpu[1:]],
            "median_cpu_s": round(statistics.median(cpu[1:]), 2),
            "median_wall_s": round(statistics.median(wall[1:]), 2),
        }
        print(year, json.dumps(result[year]), flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
