"""District variance methods: each checked against a hand computation, and the vectorised path."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.errors import InvalidInputError
from geo.estimation import district_estimates, region_estimate
from geo.estimation.district_variance import fay_herriot, region_totals, stratum_stats, zone_totals
from geo.estimation.strata import tally
from tests.geo.estimation.test_districts import AREAS, ZONES, map_area_table, sample_table

Z = 1.959963984540054

# D02's large stratum 3 saw no poppy in 50 points, though D01's did (2 of 40)
UNSEEN = sample_table({
    ("D01", 1, "opium_poppy"): 16, ("D01", 1, "other_crops"): 4,
    ("D01", 3, "opium_poppy"): 2, ("D01", 3, "other_crops"): 38,
    ("D02", 1, "opium_poppy"): 10, ("D02", 1, "other_crops"): 10,
    ("D02", 3, "other_crops"): 50,
})  # fmt: skip


def _poppy(variance: str, sample=UNSEEN) -> pd.DataFrame:
    return district_estimates(AREAS, sample, ZONES, year=2025, crops=("opium_poppy",),
                              variance=variance, interval="normal").set_index("district_id")  # fmt: skip


def _smoothed(x: float, n: float, pi: float) -> float:
    """Variance of a stratum proportion with z² pseudo-observations at the regional ``pi``."""
    p = (x + Z**2 * pi) / (n + Z**2)
    return p * (1 - p) / (n - 1)


def test_design_is_the_plain_olofsson_variance_and_the_unseen_part_is_reported():
    d02 = _poppy("design").loc["D02"]
    assert d02["area_ha"] == pytest.approx(20 * 10 / 20)  # stratum 3 saw none: 0 ha there
    assert d02["se_ha"] == pytest.approx(20 * math.sqrt(0.25 / 19))
    assert d02["ci_high_ha"] == pytest.approx(10 + Z * d02["se_ha"])
    # the omission the 50 points could not see: regional rate of stratum 3 is 2/90
    unseen = 1980 * math.sqrt(_smoothed(0, 50, 2 / 90))
    assert d02["unseen_se_ha"] == pytest.approx(unseen, rel=1e-12)
    assert _poppy("design").loc["D01", "unseen_se_ha"] == 0.0  # D01 saw poppy in both strata


def test_design_unseen_widens_only_the_upper_limit():
    d02 = _poppy("design_unseen").loc["D02"]
    se = 20 * math.sqrt(0.25 / 19)
    unseen = 1980 * math.sqrt(_smoothed(0, 50, 2 / 90))
    assert d02["se_ha"] == pytest.approx(se)  # the SE (read by the change test) is the design SE
    assert d02["ci_low_ha"] == pytest.approx(max(0.0, 10 - Z * se))
    assert d02["ci_high_ha"] == pytest.approx(10 + Z * math.sqrt(se**2 + unseen**2), rel=1e-12)
    assert d02["ci_high_ha"] > _poppy("design").loc["D02", "ci_high_ha"]


def test_the_default_publishes_the_design_se_and_the_unseen_term_apart():
    default = district_estimates(AREAS, UNSEEN, ZONES, year=2025, crops=("opium_poppy",),
                                 interval="normal").set_index("district_id")  # fmt: skip
    d02 = default.loc["D02"]
    se = 20 * math.sqrt(0.25 / 19)  # stratum 1 only: stratum 3's 50 points saw no poppy
    unseen = 1980 * math.sqrt(_smoothed(0, 50, 2 / 90))
    assert d02["se_ha"] == pytest.approx(se, rel=1e-12)
    assert d02["unseen_se_ha"] == pytest.approx(unseen, rel=1e-12)
    assert d02["ci_high_ha"] == pytest.approx(10 + Z * math.hypot(se, unseen), rel=1e-12)
    region = region_estimate(AREAS, UNSEEN, year=2025, crops=("opium_poppy",),
                             interval="normal").iloc[0]  # fmt: skip
    design = region_estimate(AREAS, UNSEEN, year=2025, crops=("opium_poppy",),
                             variance="design", interval="normal").iloc[0]  # fmt: skip
    assert region["se_ha"] == pytest.approx(design["se_ha"], rel=1e-12)
    assert region["ci_high_ha"] > design["ci_high_ha"]
    # the published limits are the MOVER ones; se_ha does not depend on them
    published = district_estimates(AREAS, UNSEEN, ZONES, year=2025,
                                   crops=("opium_poppy",)).set_index("district_id")  # fmt: skip
    assert (published["interval"] == "mover_jeffreys_eb").all()
    assert published.loc["D02", "se_ha"] == pytest.approx(se, rel=1e-12)


def test_unseen_in_se_puts_both_terms_in_one_symmetric_interval():
    d02 = _poppy("unseen_in_se").loc["D02"]
    se = math.sqrt((20 * math.sqrt(0.25 / 19)) ** 2 + 1980**2 * _smoothed(0, 50, 2 / 90))
    assert d02["se_ha"] == pytest.approx(se, rel=1e-12)
    assert d02["unseen_se_ha"] == pytest.approx(1980 * math.sqrt(_smoothed(0, 50, 2 / 90)))
    assert d02["ci_high_ha"] == pytest.approx(10 + Z * se, rel=1e-12)
    assert d02["ci_low_ha"] == pytest.approx(max(0.0, 10 - Z * se))


def test_smoothed_variance_by_hand():
    table = _poppy("smoothed")
    pi_1, pi_3 = 26 / 40, 2 / 90
    var = 50**2 * _smoothed(16, 20, pi_1) + 950**2 * _smoothed(2, 40, pi_3)
    assert table.loc["D01", "area_ha"] == pytest.approx(87.5)  # the estimate keeps p̂
    assert table.loc["D01", "se_ha"] == pytest.approx(math.sqrt(var), rel=1e-12)
    var = 20**2 * _smoothed(10, 20, pi_1) + 1980**2 * _smoothed(0, 50, pi_3)
    assert table.loc["D02", "se_ha"] == pytest.approx(math.sqrt(var), rel=1e-12)
    se = table.loc["D02", "se_ha"]
    assert table.loc["D02", "ci_high_ha"] == pytest.approx(10 + Z * se)


def _fay_herriot_by_hand(y, psi, x):
    """Prasad–Rao Fay–Herriot with one covariate and no intercept, written out with loops."""
    m = len(y)
    sxx = sum(v * v for v in x)
    b_ols = sum(a * b for a, b in zip(x, y, strict=True)) / sxx
    ssr = sum((a - b_ols * b) ** 2 for a, b in zip(y, x, strict=True))
    sigma2 = max(
        0.0, (ssr - sum(p * (1 - v * v / sxx) for p, v in zip(psi, x, strict=True))) / (m - 1)
    )
    info = sum(v * v / (sigma2 + p) for v, p in zip(x, psi, strict=True))
    beta = sum(v * a / (sigma2 + p) for v, a, p in zip(x, y, psi, strict=True)) / info
    var_sigma2 = 2 / m**2 * sum((sigma2 + p) ** 2 for p in psi)
    out = []
    for a, p, v in zip(y, psi, x, strict=True):
        g = sigma2 / (sigma2 + p)
        mse = g * p + (1 - g) ** 2 * v * v / info + 2 * p**2 / (sigma2 + p) ** 3 * var_sigma2
        out.append((g * a + (1 - g) * beta * v, mse))
    return out


def test_fay_herriot_against_the_written_out_formulas():
    y = [12.0, 30.0, 7.5, 18.0, 25.0]
    psi = [4.0, 25.0, 1.0, 9.0, 16.0]
    x = [10.0, 20.0, 9.0, 15.0, 30.0]
    eblup, mse = fay_herriot(np.array(y), np.array(psi), np.array(x))
    for k, (e, v) in enumerate(_fay_herriot_by_hand(y, psi, x)):
        assert eblup[k] == pytest.approx(e, rel=1e-12)
        assert mse[k] == pytest.approx(v, rel=1e-12)
    # two samples at once (leading axis) give the same numbers as one by one
    stacked = fay_herriot(
        np.array([y, y[::-1]]), np.array([psi, psi[::-1]]), np.array([x, x[::-1]])
    )
    np.testing.assert_allclose(stacked[0][1], fay_herriot(np.array(y[::-1]), np.array(psi[::-1]),
                                                          np.array(x[::-1]))[0], rtol=1e-14)  # fmt: skip


def test_fay_herriot_rows_use_the_smoothed_variances_and_the_regional_synthetic_estimate():
    areas = map_area_table({"D01": {1: 50.0, 3: 950.0}, "D02": {1: 20.0, 3: 1980.0},
                            "D03": {1: 30.0, 3: 970.0}})  # fmt: skip
    sample = pd.concat([UNSEEN, sample_table({("D03", 1, "opium_poppy"): 14,
                                              ("D03", 1, "other_crops"): 6,
                                              ("D03", 3, "opium_poppy"): 1,
                                              ("D03", 3, "other_crops"): 39})])  # fmt: skip
    table = district_estimates(areas, sample, None, year=2025, crops=("opium_poppy",),
                               variance="fay_herriot").set_index("district_id")  # fmt: skip
    smoothed = district_estimates(areas, sample, None, year=2025, crops=("opium_poppy",),
                                  variance="smoothed").set_index("district_id")  # fmt: skip
    pi_1, pi_3 = 40 / 60, 3 / 130
    synthetic = [50 * pi_1 + 950 * pi_3, 20 * pi_1 + 1980 * pi_3, 30 * pi_1 + 970 * pi_3]
    expected = _fay_herriot_by_hand(list(smoothed["area_ha"]), list(smoothed["se_ha"] ** 2),
                                    synthetic)  # fmt: skip
    for (e, v), (_, row) in zip(expected, table.iterrows(), strict=True):
        assert row["area_ha"] == pytest.approx(e, rel=1e-12)
        assert row["se_ha"] == pytest.approx(math.sqrt(v), rel=1e-12)


def test_vectorised_stats_equal_one_sample_at_a_time():
    rng = np.random.default_rng(3)
    base = tally(AREAS, UNSEEN, "district_id", ("opium_poppy",))
    n = base.counts.sum(axis=-1).astype(int)
    draws = np.zeros((5, *base.counts.shape))
    for z, i in zip(*np.nonzero(n), strict=True):
        draws[:, z, i, :] = rng.multinomial(n[z, i], [0.3, 0.7][: base.counts.shape[-1]], size=5)
    j = base.codes.index(1)
    for method in ("design", "smoothed"):
        together = stratum_stats(base, draws, 2, method, Z**2)
        for r in range(5):
            alone = stratum_stats(base, draws[r], 2, method, Z**2)
            for a, b in zip(zone_totals(base, together, j)[:3], zone_totals(base, alone, j)[:3],
                            strict=True):  # fmt: skip
                np.testing.assert_allclose(a[r], b, rtol=1e-14)
            np.testing.assert_allclose(region_totals(base, together, j)[1][r],
                                       region_totals(base, alone, j)[1], rtol=1e-14)  # fmt: skip


def test_region_row_adds_the_unseen_term_of_every_district():
    region = region_estimate(AREAS, UNSEEN, ZONES, year=2025, crops=("opium_poppy",),
                             variance="design_unseen", interval="normal").iloc[0]  # fmt: skip
    se = math.sqrt(50**2 * 0.16 / 19 + 950**2 * 0.05 * 0.95 / 39 + 20**2 * 0.25 / 19)
    unseen = 1980 * math.sqrt(_smoothed(0, 50, 2 / 90))
    assert region["se_ha"] == pytest.approx(se)
    assert region["unseen_se_ha"] == pytest.approx(unseen)
    assert region["ci_high_ha"] == pytest.approx(97.5 + Z * math.sqrt(se**2 + unseen**2))


def test_unknown_variance_method_is_named():
    with pytest.raises(InvalidInputError, match="variance must be one of"):
        _poppy("floor")
