"""Honesty check, CI size: 95% intervals over demo-generator truths hold the true areas.

The full run (100 seeds, 12 districts) is ``tests/benchmarks/bench_honesty.py``; this
one uses the same harness on smaller regions so that it fits in CI.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_honesty.py"
SEEDS = range(20)


def _harness():
    spec = importlib.util.spec_from_file_location("bench_honesty", HARNESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_honesty", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def honesty():
    bench = _harness()
    result = bench.run(SEEDS, size=(400, 300), n_districts=6)
    return bench, result.rows[result.rows["true_ha"] > 0]


@pytest.mark.slow
def test_district_intervals_cover_the_truth(honesty):
    bench, rows = honesty
    districts = rows[rows["district_id"] != "ALL"]
    inside = (districts["ci_low_ha"] <= districts["true_ha"]) & (
        districts["true_ha"] <= districts["ci_high_ha"]
    )
    n = len(districts)
    # ~240 intervals. The issue asks for 90-99%; at a true coverage of 95% a binomial
    # sample of 240 lies in [0.915, 0.979] with 99% probability, so [0.90, 0.99] only
    # fails when the estimator is really off (plain Olofsson variance here gives ~0.75).
    assert n >= 200
    assert 0.90 <= inside.mean() <= 0.99, bench.markdown_table(bench.summarize(rows))


@pytest.mark.slow
def test_estimates_are_unbiased_and_beat_the_pixel_count(honesty):
    _, rows = honesty
    region = rows[rows["district_id"] == "ALL"]
    for crop, group in region.groupby("crop"):
        relative_error = (group["area_ha"] - group["true_ha"]) / group["true_ha"]
        # mean relative error within 3 standard errors of 0 (and 10% absolute)
        bound = max(3 * relative_error.std(ddof=1) / np.sqrt(len(group)), 0.02)
        assert abs(relative_error.mean()) <= min(bound, 0.10), crop
    cannabis = region[region["crop"] == "cannabis"]
    pixel_bias = ((cannabis["map_area_ha"] - cannabis["true_ha"]) / cannabis["true_ha"]).mean()
    estimate_bias = ((cannabis["area_ha"] - cannabis["true_ha"]) / cannabis["true_ha"]).mean()
    assert abs(estimate_bias) < abs(pixel_bias)  # the map over-counts cannabis (commission)
    assert (region["method"] == "stratified").all()
