"""The honesty benchmark: a CI-sized run (seconds) and, with ``make bench``, the full one.

The CI tests check the harness itself against independent computations: its
vectorised estimates are the pipeline's own numbers on the real sample, the
repeated samples are unbiased for the truth counted pixel by pixel, and the
published SE matches the spread of the estimates over repeated samples.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from geo.estimation import district_estimates, region_estimate
from synthetic import generate_truth

HARNESS = Path(__file__).resolve().parent / "bench_honesty.py"
CROPS = ("opium_poppy", "cannabis")


def _harness():
    spec = importlib.util.spec_from_file_location("bench_honesty", HARNESS)
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_honesty", bench)  # dataclasses look their module up
    spec.loader.exec_module(bench)
    return bench


@pytest.fixture(scope="module")
def small():
    bench = _harness()
    truth = generate_truth(3, size=(300, 240), n_districts=4, years=(2024, 2025))
    year = truth.years[-1]
    rng = np.random.default_rng(7)
    class_map = bench._as_dataarray(bench.simulate_class_map(truth, year, rng), truth)
    frame = bench.frame_of(truth, year, class_map, seed=3)
    return bench, truth, frame, bench.repeated_counts(frame, 400, rng)


METHODS = [(v, "normal") for v in ("design", "design_unseen", "unseen_in_se", "smoothed",
                                    "fay_herriot")] + [
    ("design_unseen", i) for i in ("mover_wilson", "mover_jeffreys", "mover_jeffreys_eb")
]  # fmt: skip


@pytest.mark.parametrize(("variance", "method"), METHODS)
def test_harness_gives_the_pipeline_numbers_on_the_real_sample(small, variance, method):
    bench, _, frame, _ = small
    fast = bench.estimates(frame, frame.design.counts[None], variance, interval_method=method)
    table = district_estimates(frame.map_area, frame.sample, None, year=2025,
                               crops=CROPS, variance=variance, interval=method)  # fmt: skip
    region = region_estimate(frame.map_area, frame.sample, year=2025, crops=CROPS,
                             variance=variance, interval=method)  # fmt: skip
    for crop in CROPS:
        rows = table[table["crop"] == crop]
        want = np.append(rows["area_ha"], region.loc[region["crop"] == crop, "area_ha"])
        se = np.append(rows["se_ha"], region.loc[region["crop"] == crop, "se_ha"])
        high = np.append(rows["ci_high_ha"], region.loc[region["crop"] == crop, "ci_high_ha"])
        low = np.append(rows["ci_low_ha"], region.loc[region["crop"] == crop, "ci_low_ha"])
        est, got_se, got_low, got_high = (a[0] for a in fast[crop])
        np.testing.assert_allclose(est, want, rtol=1e-12)
        np.testing.assert_allclose(got_se, se, rtol=1e-12)
        np.testing.assert_allclose(got_high, high, rtol=1e-12)
        np.testing.assert_allclose(got_low, low, rtol=1e-12, atol=1e-12)


def test_repeated_samples_are_unbiased_for_the_pixel_truth(small):
    bench, _, frame, counts = small
    design = frame.design
    results = bench.estimates(frame, counts, "design")
    for crop in CROPS:
        j = design.codes.index(bench.code_of(crop))
        pixel_truth = frame.population[..., j].sum(axis=-1) * frame.pixel_ha
        # the generator's district truth is the same pixels counted another way
        np.testing.assert_allclose(frame.true_ha.loc[design.zones, crop], pixel_truth, atol=0.011)
        est = results[crop][0][:, :-1]
        tolerance = 4 * est.std(axis=0, ddof=1) / np.sqrt(len(est)) + 1e-9
        assert (np.abs(est.mean(axis=0) - pixel_truth) <= tolerance).all(), crop


def test_design_se_matches_the_spread_over_repeated_samples(small):
    bench, _, frame, counts = small
    cells = bench.cell_table(frame, bench.estimates(frame, counts, "design_unseen"), 3,
                             "design_unseen")  # fmt: skip
    region = cells[cells["level"] == "region"]
    # 400 samples estimate an SD to about 4%; the published SE is the design SE
    assert region["se_over_sd"].between(0.85, 1.2).all(), region
    # the unseen term only widens: never below the design interval's coverage
    plain = bench.cell_table(frame, bench.estimates(frame, counts, "design"), 3, "design")
    assert (cells["coverage"].to_numpy() >= plain["coverage"].to_numpy()).all()
    # between survey years the unseen term cancels: the same verdicts as the design limits
    np.testing.assert_array_equal(cells["false_verdicts"], plain["false_verdicts"])
    districts = cells[(cells["level"] == "district") & (cells["true_ha"] > 0)]
    assert 0.01 <= districts["false_verdicts"].mean() <= 0.08


def test_false_verdict_rates_by_hand(small):
    """Both rates recomputed with numpy from the estimates: a pair of samples differs
    by more than z·sqrt(se₁² + se₂²), whatever the limits' shape (design reaches; the
    limits where a design SE is 0); a
    reported baseline equal to the truth lies outside [est − z·se, est + up] with ``up``
    the published upper reach (the unseen term in it), at least z·se."""
    bench, _, frame, counts = small
    z = 1.959963984540054
    ids = [*frame.design.zones, "ALL"]
    for interval in ("normal", "mover_jeffreys_eb"):
        results = bench.estimates(frame, counts, "design_unseen", interval_method=interval)
        cells = bench.cell_table(frame, results, 3, "design_unseen", interval)
        cells = cells.set_index(["crop", "district_id"])
        for crop in CROPS:
            est, se, low, high = results[crop]
            half = len(est) // 2
            a, b = slice(0, half), slice(half, 2 * half)
            # design reaches z·se; where a design SE is 0 the limits' own reaches
            down = np.where(se > 0, z * se, np.maximum(est - low, 0))
            up = np.where(se > 0, z * se, np.maximum(high - est, 0))
            change = est[a] - est[b]
            pair = (change - np.hypot(down[a], up[b]) > 0) | (change + np.hypot(up[a], down[b]) < 0)
            np.testing.assert_allclose(cells.loc[crop].loc[ids, "false_verdicts"],
                                       pair.mean(axis=0))  # fmt: skip
            if interval != "normal":
                continue
            true = frame.true_ha.loc[ids, crop].to_numpy()
            up = np.maximum(high - est, z * se)
            outside = (est - z * se > true) | (est + up < true)
            np.testing.assert_allclose(cells.loc[crop].loc[ids, "false_reported"],
                                       outside.mean(axis=0))  # fmt: skip
            assert ((high - est)[:, :-1] > z * se[:, :-1] + 1e-9).any(), "unseen omission"


def test_summary_reports_the_worst_district_not_only_the_pooled_coverage(small):
    bench, _, frame, counts = small
    cells = bench.cell_table(frame, bench.estimates(frame, counts, "design"), 3, "design")
    summary = bench.summarize(cells).set_index(["level", "crop"])
    by_hand = cells[(cells["level"] == "district") & (cells["true_ha"] > 0)]
    poppy = by_hand[by_hand["crop"] == "opium_poppy"]
    assert summary.loc[("district", "opium_poppy"), "min_cov"] == poppy["coverage"].min()
    assert summary.loc[("district", "opium_poppy"), "coverage"] == pytest.approx(
        poppy["coverage"].mean()
    )


@pytest.mark.benchmark
def test_honesty_over_100_seeds():
    bench = _harness()
    result = bench.run(range(100))
    summary = bench.summarize(result.rows)
    print(f"\n{result.seconds:.0f} s\n" + bench.markdown_table(summary))
    chosen = summary[summary["variance"] == "design_unseen"]
    region = chosen[chosen["level"] == "region"]
    assert region["se/sd_median"].between(0.9, 1.2).all()
    assert chosen["false_verdicts"].between(0.03, 0.07).all()


def test_eb_mover_lifts_the_worst_district_and_never_gives_zero_width(small):
    bench, _, frame, counts = small
    normal = bench.cell_table(frame, bench.estimates(frame, counts, "design_unseen"), 3,
                              "design_unseen")  # fmt: skip
    eb = bench.cell_table(
        frame,
        bench.estimates(frame, counts, "design_unseen", interval_method="mover_jeffreys_eb"),
        3,
        "design_unseen",
        "mover_jeffreys_eb",
    )
    grown = (normal["level"] == "district") & (normal["true_ha"] > 0)
    assert eb.loc[grown, "coverage"].min() > normal.loc[grown, "coverage"].min()
    # on this frame every cell with cultivation then covers 90-99% (the normal one: not)
    assert eb.loc[grown, "coverage"].between(0.90, 0.99).all()
    assert not normal.loc[grown, "coverage"].between(0.90, 0.99).all()
    assert (eb["zero_width"] == 0).all()  # no sample gives [0, 0] anywhere
    # the point estimate and the SE are the variance method's: only the limits moved
    np.testing.assert_array_equal(eb["mean_ha"], normal["mean_ha"])
    np.testing.assert_array_equal(eb["se_over_sd"], normal["se_over_sd"])


def test_recheck_measures_the_cells_outside_the_band_again_on_the_same_map():
    bench = _harness()
    options = dict(reps=60, size=(300, 240), n_districts=4, variances=("design_unseen",),
                   intervals=("mover_jeffreys_eb",))  # fmt: skip
    cells = bench.run_seed(5, **options)
    grown = cells[cells["true_ha"] > 0]
    wide = ~grown["coverage"].between(0.90, 0.99)
    off = ~grown["se_over_sd"].between(0.9, 1.2)
    assert wide.any(), "60 samples leave some cell outside 90-99% (else nothing is checked)"
    # with as many samples again, the same seed gives the same truth, map and samples
    same = bench.recheck(cells, 60, **options)
    assert len(same) == (wide | off).sum()
    np.testing.assert_array_equal(same["coverage_again"], same["coverage"])
    np.testing.assert_array_equal(same["se_over_sd_again"], same["se_over_sd"])
    summary = bench.recheck_summary(cells, same)
    assert summary["cov_outside_first"].sum() == wide.sum()
    after = summary["cov_below_90_after"] + summary["cov_above_99_after"]
    assert (after == summary["cov_outside_first"]).all()
    assert (summary["se/sd_outside_after"] == summary["se/sd_outside_first"]).all()
