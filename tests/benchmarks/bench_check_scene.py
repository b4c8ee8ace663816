"""CPU of the check-scene step over one year's scenes of a demo workspace, the stage alone.

    .venv/bin/python tests/benchmarks/bench_check_scene.py WORKSPACE [--year 2024] [--passes 5]

Calls ``flows.stages.check_scene.fn`` on every scene of the year once to warm up (imports,
GDAL's caches), then ``--passes`` times over all of them; prints the CPU (user + system of
this process) of each pass and their median. Run it with another version of the code first
on ``sys.path`` (``PYTHONPATH=EXPORT``) to compare.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()

    from flows import stages
    from flows.config import load_config
    from flows.plan import grid_for, normalised_districts, plan_run, run_context

    config_path = args.workspace / "demo.toml"
    config = load_config(config_path)
    plan, _ = plan_run(config, args.year)
    context = run_context(config_path, config, plan, normalised_districts(config, plan.run_dir))
    grid = grid_for(config, context.districts)
    start, end = config.survey.season_start, config.survey.season_end
    season = (f"{args.year - 1}-{start}", f"{args.year}-{end}")
    for scene in plan.scenes:
        stages.check_scene.fn(scene, grid, season)
    cpu = []
    for _ in range(args.passes):
        started = time.process_time()
        for scene in plan.scenes:
            stages.check_scene.fn(scene, grid, season)
        cpu.append(time.process_time() - started)
    print(f"{len(plan.scenes)} scenes; CPU of each pass (s): {[round(c, 3) for c in cpu]}; "
          f"median {statistics.median(cpu):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
