"""``admon demo`` as a new user runs it: the whole demo region, both years, checked against its truth.

The command runs as a user types it, on the default runner: on a small machine such as
the 2-core CI one, every stage in this process, on all cores (``flows.runtime.runner_kind``).
The Dask runner is checked against the serial run in ``test_dask.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("demo-ws")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "demo", "--workspace", str(workspace)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return workspace, done.stdout, done.stderr


def test_demo_prints_no_warnings_and_no_library_info_lines(demo):
    """A clean run shows progress and results only: nothing the user cannot act on."""
    _, output, errors = demo
    lines = [line for line in (output + errors).splitlines() if line.strip()]
    noisy = [
        line
        for line in lines
        if re.search(r"warning|\| INFO \||\bINFO\b|distributed\.|Traceback", line, re.I)
    ]
    assert noisy == [], "\n".join(noisy[:20])


def test_demo_prints_the_gallery_path_and_its_truth_check(demo):
    workspace, output, _ = demo
    gallery = re.search(r"Published gallery: (\S+)", output)
    published = workspace.resolve() / "published"
    assert gallery and Path(gallery.group(1)) == published / "restricted" / "index.html"
    assert Path(gallery.group(1)).is_file()
    public = re.search(r"Public site: (\S+)", output)
    assert public and Path(public.group(1)) == published / "public" / "index.html"
    assert Path(public.group(1)).is_file()
    covered = re.search(r"contain the true hectares for (\d+) of (\d+)", output)
    assert covered, output[-2000:]
    inside, total = map(int, covered.groups())
    assert total == 12 * 2 * 2  # districts x crops x years
    assert inside >= 0.8 * total


def test_programme_verdicts_match_the_effect_the_generator_built_in(demo):
    workspace, _, _ = demo
    change = pd.read_csv(
        next((workspace / "runs" / "2025").glob("*/programme_change.csv")),
        dtype={"district_id": str},
    )
    effect = pd.read_csv(
        workspace / "demo_region" / "truth" / "programme_effect.csv", dtype={"district_id": str}
    )
    rows = change.merge(effect, on=["programme_id", "district_id", "crop"], suffixes=("", "_true"))
    assert len(rows) == len(effect), "every programme district and crop is reported"
    built_in = rows[rows["expected_verdict"] != "no detectable change"]
    assert len(built_in) >= 3, "the demo builds in programme decreases"
    mismatched = built_in[built_in["verdict"] != built_in["expected_verdict"]]
    assert mismatched.empty, mismatched.to_string()
    # Where the built-in change is small, a verdict may stay undecided, or (with a precise
    # enough survey) find the true direction, but never the opposite one.
    small = rows[rows["expected_verdict"] == "no detectable change"]
    contradicts = ((small["verdict"] == "decrease") & (small["true_change_pct"] > 0)) | (
        (small["verdict"] == "increase") & (small["true_change_pct"] < 0)
    )
    assert not contradicts.any(), small[contradicts].to_string()


def test_programme_districts_fell_more_than_the_others(demo):
    workspace, _, _ = demo
    did = pd.read_csv(next((workspace / "runs" / "2025").glob("*/programme_vs_other.csv")))
    poppy = did[did["crop"] == "opium_poppy"].iloc[0]
    assert poppy["did_ci_high_ha"] < 0, "the difference in differences shows the programme effect"
