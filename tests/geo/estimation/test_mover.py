"""MOVER intervals of district and regional totals, each checked against an independent computation.

Beta quantiles come from ``scipy.stats.beta`` (not the ``betaincinv`` the module uses), the
empirical-Bayes posterior quantile from a root finder on the mixture's CDF, and the
beta-binomial fit from the moment formulas written out for the two-district case.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from core.errors import InvalidInputError
from geo.estimation import district_estimates, region_estimate
from geo.estimation.mover import (
    EB_JEFFREYS_WEIGHT,
    effective_n,
    jeffreys_limits,
    mover_sum,
    wilson_limits,
    zero_seen_upper,
)
from tests.geo.estimation.test_districts import AREAS, SAMPLE, ZONES, map_area_table, sample_table

Z = 1.959963984540054
ALPHA = 0.05

# D02's large stratum 3 saw no poppy in 50 points, though D01's did (2 of 40)
UNSEEN = sample_table({
    ("D01", 1, "opium_poppy"): 16, ("D01", 1, "other_crops"): 4,
    ("D01", 3, "opium_poppy"): 2, ("D01", 3, "other_crops"): 38,
    ("D02", 1, "opium_poppy"): 10, ("D02", 1, "other_crops"): 10,
    ("D02", 3, "other_crops"): 50,
})  # fmt: skip


def _poppy(interval, sample=SAMPLE, areas=AREAS, zones=ZONES, variance="design"):
    return district_estimates(areas, sample, zones, year=2025, crops=("opium_poppy",),
                              variance=variance, interval=interval).set_index("district_id")  # fmt: skip


def _jeffreys(x, n):
    """Jeffreys limits by scipy.stats.beta, 0 / 1 at the ends."""
    low = 0.0 if x == 0 else stats.beta.ppf(ALPHA / 2, x + 0.5, n - x + 0.5)
    high = 1.0 if x == n else stats.beta.ppf(1 - ALPHA / 2, x + 0.5, n - x + 0.5)
    return low, high


def _mover(parts):
    """Hand MOVER of a sum: parts are (estimate, low, high)."""
    total = sum(t for t, _, _ in parts)
    down = math.sqrt(sum((t - lo) ** 2 for t, lo, _ in parts))
    up = math.sqrt(sum((hi - t) ** 2 for t, _, hi in parts))
    return total, total - down, total + up


def test_mover_sum_by_hand():
    low, high = mover_sum(np.array([10.0, 5.0]), np.array([6.0, 2.0]), np.array([15.0, 9.0]))
    assert low == pytest.approx(15 - 5.0)  # sqrt(4² + 3²)
    assert high == pytest.approx(15 + math.sqrt(5**2 + 4**2))


def test_jeffreys_limits_are_beta_quantiles_on_the_effective_n():
    # 3 of 40 in a stratum of 500 pixels: n* = 39 / (1 − 40/500)
    n_eff = effective_n(40, 500)
    assert n_eff == pytest.approx(39 / 0.92)
    p = 3 / 40
    low, high = jeffreys_limits(p, n_eff, ALPHA)
    x = p * n_eff
    assert low == pytest.approx(stats.beta.ppf(0.025, x + 0.5, n_eff - x + 0.5), rel=1e-10)
    assert high == pytest.approx(stats.beta.ppf(0.975, x + 0.5, n_eff - x + 0.5), rel=1e-10)
    assert effective_n(40, np.inf) == 39  # no stratum size known: no correction
    assert jeffreys_limits(0.0, 39.0, ALPHA)[0] == 0.0
    assert jeffreys_limits(1.0, 39.0, ALPHA)[1] == 1.0


def test_wilson_limits_by_the_score_formula():
    p, n = 0.2, 24.0
    low, high = wilson_limits(p, n, Z)
    # the roots of (p − π)² = z² π (1 − π) / n
    a, b, c = 1 + Z**2 / n, -(2 * p + Z**2 / n), p**2
    roots = sorted(np.roots([a, b, c]))
    assert low == pytest.approx(roots[0], rel=1e-10)
    assert high == pytest.approx(roots[1], rel=1e-10)


def test_district_limits_are_the_mover_sum_of_the_strata_jeffreys_limits():
    table = _poppy("mover_jeffreys")
    for district, strata in {
        "D01": [(50, 16, 20), (950, 2, 40)],
        "D02": [(20, 10, 20), (1980, 1, 50)],
    }.items():
        parts = []
        for area, x, n in strata:
            low, high = _jeffreys(x / n * (n - 1), n - 1)  # no stratum sizes: n* = n − 1
            parts.append((area * x / n, area * low, area * high))
        total, low, high = _mover(parts)
        row = table.loc[district]
        assert row["area_ha"] == pytest.approx(total, rel=1e-12)
        assert row["ci_low_ha"] == pytest.approx(max(low, 0.0), rel=1e-9)
        assert row["ci_high_ha"] == pytest.approx(high, rel=1e-9)
        assert row["interval"] == "mover_jeffreys"
    # the SE is the variance method's, whatever the interval
    plain = _poppy("normal")
    np.testing.assert_allclose(table["se_ha"], plain["se_ha"], rtol=1e-15)
    np.testing.assert_allclose(table["area_ha"], plain["area_ha"], rtol=1e-15)
    assert (plain["interval"] == "normal").all()


def test_region_limits_are_the_mover_sum_over_every_district_stratum():
    region = region_estimate(AREAS, SAMPLE, ZONES, year=2025, crops=("opium_poppy",),
                             variance="design", interval="mover_jeffreys").iloc[0]  # fmt: skip
    parts = []
    for area, x, n in [(50, 16, 20), (950, 2, 40), (20, 10, 20), (1980, 1, 50)]:
        low, high = _jeffreys(x / n * (n - 1), n - 1)
        parts.append((area * x / n, area * low, area * high))
    total, low, high = _mover(parts)
    assert region["area_ha"] == pytest.approx(total)
    assert region["ci_low_ha"] == pytest.approx(low, rel=1e-9)
    assert region["ci_high_ha"] == pytest.approx(high, rel=1e-9)


def _eb_prior_by_hand(x, n):
    """Beta-binomial (a, b) of two districts' rates by the moment formulas (module docstring)."""
    total, seen = sum(n), sum(x)
    mean = (seen + 0.5) / (total + 1)
    pooled = seen / total
    spread = sum(nd * (xd / nd - pooled) ** 2 for xd, nd in zip(x, n, strict=True))
    dof = total - sum(nd**2 for nd in n) / total - 1
    rho = (spread / (mean * (1 - mean)) - 1) / dof
    size = min((1 - rho) / rho if rho > 0 else math.inf, total / len(n))  # one district's worth
    return mean * size, (1 - mean) * size


def _posterior_upper(n, a, b, w=EB_JEFFREYS_WEIGHT):
    """97.5% quantile after 0 of n under (1 − w) Beta(a, b) + w Beta(½, ½), by root finding."""
    m_eb = math.exp(math.lgamma(a) + math.lgamma(b + n) - math.lgamma(a + b + n)
                    - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)))  # fmt: skip
    m_j = math.exp(math.lgamma(0.5) + math.lgamma(0.5 + n) - math.lgamma(1 + n)
                   - 2 * math.lgamma(0.5))  # fmt: skip
    w_eb = (1 - w) * m_eb / ((1 - w) * m_eb + w * m_j)

    def cdf(q):
        return w_eb * stats.beta.cdf(q, a, b + n) + (1 - w_eb) * stats.beta.cdf(q, 0.5, 0.5 + n)

    return optimize.brentq(lambda q: cdf(q) - 0.975, 1e-15, 1 - 1e-15, xtol=1e-14)


def test_eb_upper_limit_of_a_stratum_that_saw_no_crop():
    table = _poppy("mover_jeffreys_eb", sample=UNSEEN)
    d02 = table.loc["D02"]
    # stratum 3 of D02: 0 of 50; the fit runs over D01 (2 of 40) and D02 (0 of 50)
    a, b = _eb_prior_by_hand([2, 0], [40, 50])
    upper = _posterior_upper(49.0, a, b)
    assert upper > 0
    assert zero_seen_upper(49.0, a, b, ALPHA) == pytest.approx(upper, rel=1e-8)
    low1, high1 = _jeffreys(10 / 20 * 19, 19)
    total, low, high = _mover([(10.0, 20 * low1, 20 * high1), (0.0, 0.0, 1980 * upper)])
    assert d02["area_ha"] == pytest.approx(10.0)
    assert d02["ci_low_ha"] == pytest.approx(low, rel=1e-9)
    assert d02["ci_high_ha"] == pytest.approx(high, rel=1e-7)
    # the stratum that saw poppy keeps its Jeffreys limits: D01 as with mover_jeffreys
    jeffreys = _poppy("mover_jeffreys", sample=UNSEEN)
    assert table.loc["D01", "ci_high_ha"] == pytest.approx(jeffreys.loc["D01", "ci_high_ha"])
    # and D02's upper limit is not the zero count's Jeffreys bound alone
    assert d02["ci_high_ha"] != pytest.approx(jeffreys.loc["D02", "ci_high_ha"], rel=1e-3)


def test_no_crop_anywhere_in_the_region_is_never_zero_zero():
    none_seen = sample_table({
        ("D01", 1, "other_crops"): 20, ("D01", 3, "other_crops"): 40,
        ("D02", 1, "other_crops"): 20, ("D02", 3, "other_crops"): 50,
    })  # fmt: skip
    for interval in ("mover_jeffreys", "mover_jeffreys_eb", "mover_wilson"):
        table = _poppy(interval, sample=none_seen)
        assert (table["area_ha"] == 0).all()
        assert (table["ci_low_ha"] == 0).all()
        assert (table["ci_high_ha"] > 0).all(), interval
    # nobody saw any: per map class the prior is Beta(μM, (1 − μ)M) with μ = ½/(Σn + 1)
    # and, with no spread between districts to see, M at its cap of one district's
    # points, Σn/D: class 1 has 40 points in 2 districts (M = 20), class 3 has 90 (45)
    eb = _poppy("mover_jeffreys_eb", sample=none_seen)
    up_1 = _posterior_upper(19.0, 0.5 / 41 * 20, (1 - 0.5 / 41) * 20)
    up_3 = _posterior_upper(49.0, 0.5 / 91 * 45, (1 - 0.5 / 91) * 45)
    assert eb.loc["D02", "ci_high_ha"] == pytest.approx(math.hypot(20 * up_1, 1980 * up_3),
                                                        rel=1e-7)  # fmt: skip


def test_one_district_only_keeps_the_jeffreys_bound():
    areas = map_area_table({"D01": {1: 50.0, 3: 950.0}})
    one = sample_table({("D01", 1, "opium_poppy"): 16, ("D01", 1, "other_crops"): 4,
                        ("D01", 3, "other_crops"): 40})  # fmt: skip
    eb = _poppy("mover_jeffreys_eb", sample=one, areas=areas, zones=None)
    jeffreys = _poppy("mover_jeffreys", sample=one, areas=areas, zones=None)
    # one district: no spread between districts to fit, the zero count's Jeffreys limit
    assert eb.loc["D01", "ci_high_ha"] == pytest.approx(jeffreys.loc["D01", "ci_high_ha"])
    _, high_3 = _jeffreys(0, 39)
    low_1, high_1 = _jeffreys(16 / 20 * 19, 19)
    _, _, high = _mover([(40.0, 50 * low_1, 50 * high_1), (0.0, 0.0, 950 * high_3)])
    assert eb.loc["D01", "ci_high_ha"] == pytest.approx(high, rel=1e-9)


def test_a_stratum_taken_whole_adds_no_width():
    areas = map_area_table({"D01": {1: 0.2, 3: 950.0}, "D02": {1: 20.0, 3: 1980.0}})
    census = sample_table({
        ("D01", 1, "opium_poppy"): 15, ("D01", 1, "other_crops"): 5,
        ("D01", 3, "opium_poppy"): 2, ("D01", 3, "other_crops"): 38,
        ("D02", 1, "opium_poppy"): 10, ("D02", 1, "other_crops"): 10,
        ("D02", 3, "other_crops"): 50,
    })  # fmt: skip
    # D01's poppy stratum: 20 pixels, all 20 sampled (n = N)
    whole = (census["district_id"] == "D01") & (census["map_class"] == 1)
    census["stratum_pixels"] = np.where(whole, 20, 100_000)
    row = _poppy("mover_jeffreys_eb", sample=census, areas=areas).loc["D01"]
    n3 = 39 / (1 - 40 / 100_000)
    low3, high3 = _jeffreys(2 / 40 * n3, n3)
    total, low, high = _mover(
        [(0.2 * 15 / 20, 0.15, 0.15), (950 * 2 / 40, 950 * low3, 950 * high3)]
    )
    assert row["area_ha"] == pytest.approx(total)
    assert row["ci_low_ha"] == pytest.approx(low, rel=1e-9)
    assert row["ci_high_ha"] == pytest.approx(high, rel=1e-9)


def test_interval_option_is_checked_and_the_default_is_the_eb_mover():
    with pytest.raises(InvalidInputError, match="interval must be one of"):
        _poppy("wald")
    with pytest.raises(InvalidInputError, match="Fay-Herriot"):
        _poppy("mover_jeffreys", variance="fay_herriot")
    assert (_poppy(None, variance="fay_herriot")["interval"] == "normal").all()
    default = district_estimates(AREAS, UNSEEN, ZONES, year=2025, crops=("opium_poppy",))
    assert (default["interval"] == "mover_jeffreys_eb").all()
    eb = _poppy("mover_jeffreys_eb", sample=UNSEEN, variance="design_unseen")
    pd.testing.assert_frame_equal(default.set_index("district_id"), eb)
