"""Difference in differences as an evaluator reads it (models/change/did.py).

The adjusted estimate is checked against the Frisch–Waugh–Lovell computation (two
simple regressions, by hand, and the HC3 sandwich written in its partialled form), the relative change against sums and the ratio-estimator
variance written out here, and the regression-to-the-mean case against its cause.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models.change import DID_VERDICTS, programme_vs_other


def _stored(by_year: dict[int, dict[str, float]], se: float = 2.0) -> pd.DataFrame:
    rows = [dict(district_id=d, crop="opium_poppy", year=y, area_ha=a, ci_low_ha=a - 1.96 * se,
                 ci_high_ha=a + 1.96 * se, se_ha=se)
            for y, areas in by_year.items() for d, a in areas.items()]  # fmt: skip
    return pd.DataFrame(rows)


def _programmes(ids, baseline_year=2024):
    return pd.DataFrame([dict(programme_id="P1", district_ids=ids, baseline_year=baseline_year)])


BEFORE = {"D01": 80, "D02": 64, "D03": 55, "D04": 20, "D05": 25, "D06": 31, "D07": 12, "D08": 40}
AFTER = {"D01": 52, "D02": 50, "D03": 40, "D04": 21, "D05": 24, "D06": 30, "D07": 14, "D08": 37}
TREATED = ["D01", "D02", "D03"]


def _poppy(table):
    return table.set_index("crop").loc["opium_poppy"]


def test_adjusted_estimate_matches_frisch_waugh_lovell():
    did = _poppy(programme_vs_other(_stored({2024: BEFORE, 2025: AFTER}), _programmes(TREATED)))
    ids = sorted(BEFORE)
    base = np.array([BEFORE[d] for d in ids], float)
    change = np.array([AFTER[d] - BEFORE[d] for d in ids], float)
    treated = np.array([d in TREATED for d in ids], float)
    # partial the baseline (and the constant) out of both, then one slope through the origin
    r_t = treated - np.polyval(np.polyfit(base, treated, 1), base)
    r_y = change - np.polyval(np.polyfit(base, change, 1), base)
    tau = (r_t @ r_y) / (r_t @ r_t)
    residual = r_y - tau * r_t
    # HC3: each squared residual over (1 - leverage)², leverage from the QR of the design
    q, _ = np.linalg.qr(np.column_stack([np.ones(len(ids)), treated, base]))
    leverage = (q**2).sum(axis=1)
    se = math.sqrt((r_t**2 * residual**2 / (1 - leverage) ** 2).sum()) / (r_t @ r_t)
    t = stats.t.ppf(0.975, len(ids) - 3)
    assert did["did_adjusted_ha"] == pytest.approx(tau, rel=1e-9)
    assert did["did_adjusted_ci_low_ha"] == pytest.approx(tau - t * se, rel=1e-9)
    assert did["did_adjusted_ci_high_ha"] == pytest.approx(tau + t * se, rel=1e-9)
    assert did["p_value"] == pytest.approx(2 * stats.t.sf(abs(tau) / se, len(ids) - 3))
    assert did["did_adjusted_pct"] == pytest.approx(100 * tau / base[treated > 0].mean())
    assert did["verdict"] in DID_VERDICTS


def test_relative_change_per_group_with_ratio_estimator_interval():
    did = _poppy(programme_vs_other(_stored({2024: BEFORE, 2025: AFTER}), _programmes(TREATED)))

    def relative(ids):
        b = np.array([BEFORE[d] for d in ids], float)
        c = np.array([AFTER[d] - BEFORE[d] for d in ids], float)
        r = c.sum() / b.sum()
        var = ((c - r * b) ** 2).sum() / (len(ids) * (len(ids) - 1) * b.mean() ** 2)
        return 100 * r, 100 * math.sqrt(var)

    prog, prog_se = relative(TREATED)
    other, other_se = relative([d for d in BEFORE if d not in TREATED])
    assert prog == pytest.approx(100 * (142 - 199) / 199)
    assert did["programme_change_pct"] == pytest.approx(prog)
    assert did["other_change_pct"] == pytest.approx(other)
    assert did["did_pct"] == pytest.approx(prog - other)
    half = 1.959964 * math.hypot(prog_se, other_se)
    assert did["did_pct_ci_high"] == pytest.approx(prog - other + half, rel=1e-5)


def test_regression_to_the_mean_is_not_read_as_an_effect():
    # no programme effect: every district moves halfway back to the mean of 40 ha (the
    # pattern a noisy baseline leaves), and the programme sits in the highest ones
    rng = np.random.default_rng(5)
    before = {f"D{i:02d}": float(b) for i, b in enumerate(np.linspace(10, 90, 12))}
    after = {d: b - 0.5 * (b - 50) + rng.normal(0, 1.0) for d, b in before.items()}
    top = sorted(before, key=before.get)[-4:]
    did = _poppy(programme_vs_other(_stored({2024: before, 2025: after}), _programmes(top)))
    assert did["did_ci_high_ha"] < 0  # the plain comparison sees an "effect"
    assert did["did_adjusted_ci_low_ha"] < 0 < did["did_adjusted_ci_high_ha"]
    assert did["verdict"] == "no detectable difference"
    # a real effect of -15 ha on top of the same pattern is still found
    after_effect = {d: a - 15 * (d in top) for d, a in after.items()}
    found = _poppy(programme_vs_other(_stored({2024: before, 2025: after_effect}),
                                      _programmes(top)))  # fmt: skip
    assert found["verdict"] == "programme districts fell more"
    assert found["did_adjusted_ha"] == pytest.approx(-15, abs=3)


def test_pre_trend_is_checked_only_with_two_pre_programme_years():
    two = programme_vs_other(_stored({2024: BEFORE, 2025: AFTER}), _programmes(TREATED))
    assert _poppy(two)["pretrend"].startswith("not checked")
    assert np.isnan(_poppy(two)["pretrend_did_ha"])
    # 2023 → 2024 the programme districts already fell by 20 ha more than districts alike
    earlier = {d: b + (20 if d in TREATED else 0) + 0.3 * (i % 3) for i, (d, b) in
               enumerate(BEFORE.items())}  # fmt: skip
    three = _stored({2023: earlier, 2024: BEFORE, 2025: AFTER})
    did = _poppy(programme_vs_other(three, _programmes(TREATED), baseline_year=2024))
    assert did["pretrend"] == "pre-trend: programme districts already fell (2023-2024)"
    assert did["pretrend_did_ha"] < -15
    # parallel pre-trends: no finding
    parallel = {d: b + 0.3 * (i % 3) for i, (d, b) in enumerate(BEFORE.items())}
    flat = _stored({2023: parallel, 2024: BEFORE, 2025: AFTER})
    did = _poppy(programme_vs_other(flat, _programmes(TREATED), baseline_year=2024))
    assert did["pretrend"] == "no detectable pre-trend (2023-2024)"


def test_crop_rows_carry_holm_adjusted_p_values():
    stored = pd.concat([
        _stored({2024: BEFORE, 2025: AFTER}),
        _stored({2024: BEFORE, 2025: AFTER}).assign(crop="cannabis", area_ha=lambda t: t.area_ha / 2),
    ])  # fmt: skip
    table = programme_vs_other(stored, _programmes(TREATED)).set_index("crop")
    p = table["p_value"]
    assert p.notna().all()
    assert table["p_holm"].min() == pytest.approx(min(1.0, 2 * p.min()))
    assert table["p_holm"].max() == pytest.approx(max(min(1.0, 2 * p.min()), p.max()))
