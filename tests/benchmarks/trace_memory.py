"""Where in a run the largest process peaks: resident memory at each phase of the heavy stages.

Runs ``admon run CONFIG --year Y`` as a user does (the default runner, in one process)
with a few functions wrapped to note the process's resident memory as they start and
end: the COG writes and copies of the season stage, the training-pixel gathering and
training, the class maps, publishing, and every hand-back of freed memory inside them
(``core.io.release_memory``). A second thread samples the memory every 20 ms, so each
line also gives the peak since the line before. The table says which phase holds the
peak that ``bench_flow.py`` reports as "peak RSS, largest process".

    .venv/bin/python tests/benchmarks/trace_memory.py CONFIG --year 2024 [--all]

``--all`` also lists the hand-backs of freed memory (one line each).
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WRAPPED = (
    ("geo.cog", "write_cogs"),
    ("geo.cog", "copy_as_cog"),
    ("geo.training", "_gather_pixels"),
    ("geo.classify", "train_classifier"),
    ("geo.classify", "write_class_maps"),
    ("maps", "publish_run"),
    ("core.io", "release_memory"),
)
"""(module, function) pairs whose start and end are noted."""
USERS = ("geo.cog", "geo.class_maps", "geo.classify", "geo.training")
"""Modules that imported a wrapped function by name: their copy is replaced too. Not
``flows.tasking`` (the stage ends' hand-backs): importing it imports Prefect before
``admon`` has set its environment, and the run's logs then go astray at exit."""


def child(marks: Path, argv: list[str]) -> None:
    """``admon`` with the functions of :data:`WRAPPED` noting memory into ``marks``."""
    import importlib

    import psutil

    process, started = psutil.Process(), time.monotonic()
    peak = [0]

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()

    def note(event: str) -> None:
        rss = process.memory_info().rss
        line = {"t": time.monotonic() - started, "mb": rss >> 20, "peak_mb": peak[0] >> 20}
        peak[0] = rss
        with marks.open("a", encoding="utf-8") as out:  # one line a note, kept if admon fails
            out.write(json.dumps({**line, "e": event}) + "\n")

    def wrap(function, name):
        @functools.wraps(function)
        def noted(*args, **kwargs):
            note(f"> {name}")
            try:
                return function(*args, **kwargs)
            finally:
                note(f"< {name}")

        return noted

    originals, wrapped = {}, {}
    for module, attr in WRAPPED:
        owner = importlib.import_module(module)
        originals[attr] = getattr(owner, attr)
        wrapped[attr] = wrap(originals[attr], attr)
        setattr(owner, attr, wrapped[attr])
    for module in USERS:
        user = importlib.import_module(module)
        for attr, original in originals.items():
            if getattr(user, attr, None) is original:
                setattr(user, attr, wrapped[attr])
    from flows.cli import app

    sys.argv = ["admon", *argv]
    try:
        app()
    finally:
        note("exit")


def main() -> None:
    if sys.argv[1:2] == ["--child"]:  # the traced admon: its arguments are admon's own
        child(Path(sys.argv[2]), sys.argv[3:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", type=Path)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--all", action="store_true", help="list every hand-back of memory too")
    args = parser.parse_args()
    marks = Path(tempfile.mkdtemp(prefix="admon-trace-")) / "marks.jsonl"
    command = [sys.executable, __file__, "--child", str(marks),
               "run", str(args.config), "--year", str(args.year)]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"admon run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    lines = [json.loads(line) for line in marks.read_text(encoding="utf-8").splitlines()]
    print(f"Command: `{' '.join(['admon', 'run', str(args.config), '--year', str(args.year)])}`")
    print(f"wall {wall:.1f} s; peak of the process {max(x['peak_mb'] for x in lines)} MB\n")
    print("| s | MB now | MB peak since the line before | event |")
    print("|---|---|---|---|")
    folded = 0  # the peak of lines left out is carried to the next line shown
    for line in lines:
        folded = max(folded, line["peak_mb"])
        if args.all or "release_memory" not in line["e"]:
            print(f"| {line['t']:.1f} | {line['mb']} | {folded} | `{line['e']}` |")
            folded = 0


if __name__ == "__main__":
    main()
