"""The honesty benchmark on class maps made by the pipeline's own random forest (a CI-sized run).

``serial_run`` classifies the small synthetic region for both years; on each map the
benchmark's harness (``tests/benchmarks/bench_honesty.py``) draws the pipeline's
stratified sample and then repeated samples of the same sizes from the true classes
of every stratum's pixels. The published estimates of those samples are checked here
against a plain numpy stratified estimator written out below (Olofsson et al. 2014:
``Σ_h A_h p̂_h`` and ``Σ_h A_h² p̂_h(1 − p̂_h)(1 − n_h/N_h)/(n_h − 1)``), and their SE
against the spread of the estimates over the samples.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from geo.estimation.inputs import open_class_map
from synthetic import generate_truth
from tests.flows.conftest import SMALL_DISTRICTS, SMALL_SEED, SMALL_SIZE

HARNESS = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_honesty.py"
REPS = 200
Z = 1.959963984540054


def _harness():
    spec = importlib.util.spec_from_file_location("bench_honesty", HARNESS)
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_honesty", bench)  # dataclasses look their module up
    spec.loader.exec_module(bench)
    return bench


def _plain_stratified(area, sizes, counts, j):
    """Per district estimate and variance of reference class ``j`` from ``(R, Z, K, K)`` counts."""
    n = counts.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = counts[..., j] / n
        fpc = np.where(np.isfinite(sizes) & (sizes > 0), 1 - n / sizes, 1.0)
        var = p * (1 - p) * fpc / (n - 1)
    used = area > 0
    estimate = np.where(used, area * p, 0.0).sum(axis=-1)
    variance = np.where(used, area**2 * var, 0.0).sum(axis=-1)
    return estimate, variance


@pytest.fixture(scope="module")
def classified(serial_run, small_region):
    bench = _harness()
    years = tuple(small_region.years)
    truth = generate_truth(SMALL_SEED, size=SMALL_SIZE, n_districts=SMALL_DISTRICTS, years=years)
    frames = {}
    for year in years:
        path = Path(serial_run["results"][year]["run_dir"]) / "classes.tif"
        frame = bench.frame_of(truth, year, open_class_map(path),
                               allocation=bench.demo_allocation(), seed=SMALL_SEED)  # fmt: skip
        counts = bench.repeated_counts(frame, REPS, np.random.default_rng(year))
        frames[year] = (frame, counts)
    return bench, frames


def test_published_estimates_are_the_plain_stratified_ones(classified):
    bench, frames = classified
    checked = 0
    for frame, counts in frames.values():
        design = frame.design
        results = bench.estimates(frame, counts, "design_unseen")
        strata = (design.area > 0)[None] & np.ones(counts.shape[:1] + design.area.shape, bool)
        own = (counts.sum(axis=-1) >= 2) | ~strata
        for crop in ("opium_poppy", "cannabis"):
            j = design.codes.index(bench.code_of(crop))
            est, se, *_ = results[crop]
            plain, var = _plain_stratified(design.area, design.sizes, counts, j)
            whole = own.all(axis=(0, 2))  # districts whose every stratum has its own points
            np.testing.assert_allclose(est[:, :-1][:, whole], plain[:, whole], rtol=1e-9)
            np.testing.assert_allclose(se[:, :-1][:, whole], np.sqrt(var[:, whole]), rtol=1e-9,
                                       atol=1e-12)  # fmt: skip
            checked += int(whole.sum())
            if whole.all():  # no borrowing: the region is the sum of independent districts
                np.testing.assert_allclose(est[:, -1], plain.sum(axis=-1), rtol=1e-9)
                np.testing.assert_allclose(se[:, -1], np.sqrt(var.sum(axis=-1)), rtol=1e-9)
    assert checked >= 4, "the maps should give districts estimated from their own strata"


def test_the_design_se_is_the_true_spread_on_the_classifier_maps(classified):
    bench, frames = classified
    ratios, covers = [], []
    for year, (frame, counts) in frames.items():
        design = frame.design
        results = bench.estimates(
            frame, counts, "design_unseen", interval_method="mover_jeffreys_eb"
        )  # the published limits
        cells = bench.cell_table(frame, results, SMALL_SEED, "design_unseen",
                                 "mover_jeffreys_eb")  # fmt: skip
        for crop in ("opium_poppy", "cannabis"):
            j = design.codes.index(bench.code_of(crop))
            plain, var = _plain_stratified(design.area, design.sizes, counts, j)
            est, se, low, high = results[crop]
            true = frame.true_ha.loc[[*design.zones, "ALL"], crop].to_numpy()
            # the true sampling SD, from the plain estimator's own spread over the samples
            sd = plain.std(axis=0, ddof=1)
            region_sd = plain.sum(axis=-1).std(ddof=1)
            got = cells[cells["crop"] == crop].set_index("district_id")
            region = got.loc["ALL"]
            # 200 samples estimate an SD to about 5%: the band holds 4 of those
            assert 0.8 <= np.sqrt((se[:, -1] ** 2).mean()) / region_sd <= 1.25, (year, crop)
            assert region["se_over_sd"] == pytest.approx(
                np.sqrt((se[:, -1] ** 2).mean()) / est[:, -1].std(ddof=1)
            )
            grown = (true[:-1] > 0) & (sd > 0)
            ratios.extend(np.sqrt((se[:, :-1] ** 2).mean(axis=0))[grown] / sd[grown])
            # coverage by hand, and not absurd: not all misses, not a never-missing blanket
            inside = ((low <= true) & (true <= high)).mean(axis=0)
            np.testing.assert_allclose(got.loc[[*design.zones, "ALL"], "coverage"], inside)
            # measured: region 0.66-0.91; a cannabis district whose omission in a large
            # stratum the sample rarely sees covers about 0.5 (tests/benchmarks/README.md)
            assert 0.5 <= inside[-1] <= 1.0, (year, crop, inside)
            covers.extend(inside[:-1][true[:-1] > 0])
            assert (high - low).min() > 0, "no [x, x] interval from a sample"
    assert len(ratios) >= 6, "districts with cultivation on the maps"
    assert 0.85 <= np.median(ratios) <= 1.15, ratios
    assert 0.6 <= np.mean(covers) <= 1.0, covers
