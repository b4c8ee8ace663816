"""Benchmark of the whole annual survey flow on the demo region at growing scales.

For each scale K (the synthetic region K times larger, as ``admon demo --scale K``
builds it) and each runner (the default, ``--serial``, or W local Dask workers), one
survey year runs end to end (``admon run --year Y [--n-workers W]``) in a fresh
workspace, in its own process tree; with ``--rerun``, again in the same workspace
(every stage cached).
Reported: wall time, throughput (grid pixels x scenes per second), and the peaks of the
resident memory of the process and all its children (Dask workers, the temporary
Prefect server), summed and of the largest single process, sampled every 0.2 s.

    .venv/bin/python tests/benchmarks/bench_flow.py [--scales 1 4 16] [--workers -1 1 2] [--rerun] [--readme]

``--readme`` rewrites the table in tests/benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flow_compare  # noqa: E402  (beside this script)

REPO = Path(__file__).resolve().parents[2]
README = Path(__file__).with_name("README.md")
START, END = "<!-- flow-bench:start -->", "<!-- flow-bench:end -->"


def _tree_rss(process: psutil.Process) -> tuple[int, int]:
    """Resident bytes of the process tree: summed, and of its largest process."""
    sizes = []
    for member in [process, *process.children(recursive=True)]:
        try:
            sizes.append(member.memory_info().rss)
        except psutil.Error:
            pass
    return sum(sizes), max(sizes, default=0)


def run_case(config: Path, year: int, workers: int) -> dict[str, float]:
    """Run one year in a subprocess; return wall seconds and peak tree RSS in MB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    command = [sys.executable, "-m", "flows.cli", "run", str(config), "--year", str(year)]
    if workers == 0:
        command += ["--serial"]
    elif workers > 0:
        command += ["--n-workers", str(workers)]
    # workers < 0: the default runner (in process on a small machine)
    started = time.monotonic()
    child = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    watched = psutil.Process(child.pid)
    peak = peak_one = 0
    while True:  # wait4: the run's CPU time, its waited-for children (workers, server) included
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        total, largest = _tree_rss(watched)
        peak, peak_one = max(peak, total), max(peak_one, largest)
        time.sleep(0.2)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{child.stderr.read().decode()[-3000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": peak / 2**20,
            "peak_one_mb": peak_one / 2**20}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[-1, 1, 2],
        help="-1 = the default runner (in process on a small machine), 0 = serial, no Dask",
    )
    parser.add_argument(
        "--rerun", action="store_true", help="run each case again in its workspace (cached)"
    )
    parser.add_argument(
        "--compare", action="store_true",
        help="beside the default runner's run: the flow's I/O floor, the in-process stage sum, "
        "the season stage against its floor and odc-stac, classify against predict_proba "
        "(tests/benchmarks/flow_compare.py), and the Shan-State projection",
    )  # fmt: skip
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args()

    from flows.demo import demo_config_text
    from synthetic import build_demo_region

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="admon-bench-flow-"))
    rows = []
    for scale in args.scales:
        started = time.monotonic()
        reused = (workdir / f"region_x{scale}" / "region.json").exists()
        region = build_demo_region(workdir / f"region_x{scale}", seed=42, scale=scale)
        build_s = float("nan") if reused else time.monotonic() - started
        meta = json.loads((Path(region.root) / "region.json").read_text())
        pixels = int(meta["width"]) * int(meta["height"])
        scenes = len(region.scenes[args.year])
        for workers in args.workers:
            workspace = workdir / f"ws_x{scale}_w{workers}"
            shutil.rmtree(workspace, ignore_errors=True)  # nothing from an earlier run's cache
            workspace.mkdir(parents=True)
            config = workspace / "run.toml"
            config.write_text(demo_config_text(Path(region.root), workspace, list(region.years)))
            measured = run_case(config, args.year, workers)
            if args.rerun:
                measured["rerun_s"] = run_case(config, args.year, workers)["wall_s"]
            if args.compare and workers == -1:
                (run_dir,) = (workspace / "runs" / str(args.year)).iterdir()
                measured |= flow_compare.compare(
                    config, Path(region.root), list(region.years), args.year, run_dir,
                    workdir / f"compare_x{scale}",
                )  # fmt: skip
            row = {
                "scale": scale,
                "grid_px": pixels,
                "districts": meta["n_districts"],
                "scenes": scenes,
                "workers": workers,
                "build_s": build_s,
                **measured,
                "mpx_per_s": pixels * scenes / 1e6 / measured["wall_s"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    table = _table(rows, args)
    if args.compare:
        table += "\n\n" + "\n".join([*_comparisons(rows), *flow_compare.projection(rows)])
    print(table)
    if args.readme:
        text = README.read_text(encoding="utf-8")
        block = f"{START}\n{table}\n{END}"
        if START in text:
            text = text[: text.index(START)] + block + text[text.index(END) + len(END) :]
        else:
            text += "\n" + block + "\n"
        README.write_text(text, encoding="utf-8")


def _table(rows: list[dict], args: argparse.Namespace) -> str:
    lines = [
        f"Command: `.venv/bin/python tests/benchmarks/bench_flow.py --scales {' '.join(map(str, args.scales))} "
        f"--workers {' '.join(map(str, args.workers))} --year {args.year}"
        f"{' --rerun' if args.rerun else ''}{' --compare' if args.compare else ''}`",
        "",
        "| scale | grid (Mpx) | districts | scenes | Dask workers | region build (s) | run wall (s) "
        "| run CPU (s) "
        "| Mpx x scenes / s | peak RSS, all processes (MB) | peak RSS, largest process (MB) "
        "| cached rerun (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        workers = {0: "serial", -1: "default (in process)"}.get(r["workers"], str(r["workers"]))
        rerun = format(r["rerun_s"], ".1f") if "rerun_s" in r else "-"
        lines.append(
            f"| {r['scale']}x | {r['grid_px'] / 1e6:.2f} | {r['districts']} | {r['scenes']} | {workers} | "
            f"{'reused' if r['build_s'] != r['build_s'] else format(r['build_s'], '.0f')} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | {r['mpx_per_s']:.2f} | {r['peak_mb']:.0f} "
            f"| {r['peak_one_mb']:.0f} | {rerun} |"
        )
    return "\n".join(lines)


def _comparisons(rows: list[dict]) -> list[str]:
    """The comparison table of ``--compare``: each figure over the one it is held against."""
    lines = [
        "| scale | flow wall (s) | flow floor (s) | flow / floor | in-process stage sum (s) "
        "| default / in-process | season one pass (s) | season floor (s) | season / floor "
        "| admon job (s) | odc-stac job (s) | admon / odc-stac | classify (s) | predict_proba (s) "
        "| classify / predict_proba | load before-after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "floor_s" not in r:
            continue
        odc = r.get("season_odc_stac_job_s", float("nan"))
        lines.append(
            f"| {r['scale']}x | {r['wall_s']:.1f} | {r['floor_s']:.1f} | "
            f"{r['wall_s'] / r['floor_s']:.2f} | {r['in_process_s']:.1f} | "
            f"{r['wall_s'] / r['in_process_s']:.2f} | {r['season_one_pass_s']:.1f} | "
            f"{r['season_floor_s']:.1f} | {r['season_one_pass_s'] / r['season_floor_s']:.2f} | "
            f"{r['season_admon_job_s']:.1f} | {odc:.1f} | {r['season_admon_job_s'] / odc:.2f} | "
            f"{r['classify_s']:.1f} | {r['predict_proba_s']:.1f} | "
            f"{r['classify_s'] / r['predict_proba_s']:.2f} | "
            f"{r['load_before']:.1f}-{r['load_after']:.1f} |"
        )
    return lines


if __name__ == "__main__":
    main()
