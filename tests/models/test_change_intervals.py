"""The change interval from the estimates' own limits (MOVER), baselines with uncertainty,
p-values with Holm's correction, and "not estimable" current rows.

Expected limits are recomputed in each test from the MOVER formula (Zou & Donner 2008)
and p-values by root-finding on the interval itself (scipy), not read back from the code.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from models.change import programme_change
from models.change.intervals import holm

Z = stats.norm.ppf(0.975)


def _estimate(d, area, low, high, se, year=2025, confidence=0.95, **extra):
    return dict(district_id=d, crop="opium_poppy", year=year, area_ha=area, ci_low_ha=low,
                ci_high_ha=high, se_ha=se, n_reference=40, method="stratified",
                confidence=confidence, note="", **extra)  # fmt: skip


def _programme(pid, ids, poppy=np.nan, **extra):
    return dict(programme_id=pid, district_ids=ids, baseline_year=2024,
                baseline_opium_poppy_ha=poppy, baseline_cannabis_ha=np.nan, **extra)  # fmt: skip


def _poppy(change, pid, district):
    hit = change[(change.programme_id == pid) & (change.district_id == district)
                 & (change.crop == "opium_poppy")]  # fmt: skip
    assert len(hit) == 1
    return hit.iloc[0]


def test_asymmetric_current_interval_gives_no_false_decrease():
    # the demo's lesson: 0.77 [0.39, 743.7] with a small se_ha against a reported 5 ± 1
    now = pd.DataFrame([_estimate("D01", 0.77, 0.39, 743.7, 0.2)])
    programmes = pd.DataFrame([_programme("P1", ["D01"], poppy=5.0,
                                          baseline_opium_poppy_se_ha=1.0)])  # fmt: skip
    row = _poppy(programme_change(programmes, now, year=2025), "P1", "D01")
    change = 0.77 - 5.0
    assert row["change_ci_low_ha"] == pytest.approx(change - math.hypot(0.77 - 0.39, Z))
    assert row["change_ci_high_ha"] == pytest.approx(change + math.hypot(743.7 - 0.77, Z))
    assert row["verdict"] == "no detectable change"
    # the SE-only interval would have said "decrease": -4.23 + 1.96·hypot(0.2, 1) < 0
    assert change + Z * math.hypot(0.2, 1.0) < 0

    # p from the reach toward zero: the level whose upper MOVER limit touches 0
    def upper_at(p):
        z = stats.norm.ppf(1 - p / 2)
        return change + z / Z * math.hypot(743.7 - 0.77, Z)

    assert row["p_value"] == pytest.approx(optimize.brentq(upper_at, 1e-12, 1 - 1e-12), rel=1e-6)


def test_two_survey_years_are_compared_on_their_design_ses():
    """Both years from our samples: what the limits add to the design SE (the omission
    the map makes in both, the skew of a stratum few points saw the crop in) is not
    sampling error of the change; the change is tested on z·hypot(se, se_baseline)."""
    now = pd.DataFrame([_estimate("D01", 0.77, 0.39, 743.7, 0.2)])
    base = pd.DataFrame([_estimate("D01", 5.0, 5.0 - 2.5, 5.0 + 9.0, 1.0, year=2024)])
    row = _poppy(programme_change(pd.DataFrame([_programme("P1", ["D01"])]), now, base), "P1",
                 "D01")  # fmt: skip
    change = 0.77 - 5.0
    assert row["baseline_source"] == "derived"
    assert row["change_ci_low_ha"] == pytest.approx(change - Z * math.hypot(0.2, 1.0))
    assert row["change_ci_high_ha"] == pytest.approx(change + Z * math.hypot(0.2, 1.0))
    assert row["verdict"] == "decrease"


def test_reaches_rescale_to_the_confidence_asked():
    # against a reported baseline interval the limits are read, as reaches
    now = pd.DataFrame([_estimate("D01", 40.0, 30.0, 60.0, 7.0)])
    programmes = pd.DataFrame([_programme("P1", ["D01"], poppy=80.0,
                                          baseline_opium_poppy_ci_low_ha=70.0,
                                          baseline_opium_poppy_ci_high_ha=95.0)])  # fmt: skip
    row = _poppy(programme_change(programmes, now, year=2025, confidence=0.90), "P1", "D01")
    scale = stats.norm.ppf(0.95) / Z
    assert row["change_ci_low_ha"] == pytest.approx(-40 - scale * math.hypot(10, 15))
    assert row["change_ci_high_ha"] == pytest.approx(-40 + scale * math.hypot(20, 10))
    assert row["verdict"] == "decrease"
    # a lower limit clipped at 0 is not a reach: the reach is z·SE there
    clipped = pd.DataFrame([_estimate("D01", 5.0, 0.0, 5.0 + Z * 4, 4.0)])
    row = _poppy(programme_change(programmes, clipped, year=2025), "P1", "D01")
    assert row["change_ci_low_ha"] == pytest.approx(-75 - math.hypot(Z * 4, 15))


def test_reported_baseline_se_and_interval_enter_the_change():
    now = pd.DataFrame([_estimate("D01", 100.0, 100 - Z * 10, 100 + Z * 10, 10.0),
                        _estimate("D02", 120.0, 120 - Z * 8, 120 + Z * 8, 8.0)])  # fmt: skip
    programmes = pd.DataFrame([
        _programme("P1", ["D01"], poppy=130.0, baseline_opium_poppy_se_ha=12.0),
        _programme("P2", ["D02"], poppy=150.0, baseline_opium_poppy_ci_low_ha=118.0,
                   baseline_opium_poppy_ci_high_ha=196.0),
        _programme("P3", ["D01"], poppy=130.0),
    ])  # fmt: skip
    change = programme_change(programmes, now, year=2025)
    p1, p2, p3 = (_poppy(change, p, d) for p, d in (("P1", "D01"), ("P2", "D02"), ("P3", "D01")))
    # SE given: -30 ± 1.96·hypot(10, 12) contains 0 (without it: a decrease)
    assert p1["baseline_uncertainty"] == "given" and p1["baseline_se_ha"] == 12
    assert p1["change_ci_high_ha"] == pytest.approx(-30 + Z * math.hypot(10, 12))
    assert p1["verdict"] == "no detectable change"
    # interval [118, 196] around 150: the change's upper limit uses the baseline's lower reach
    assert p2["change_ci_high_ha"] == pytest.approx(-30 + math.hypot(Z * 8, 32))
    assert p2["change_ci_low_ha"] == pytest.approx(-30 - math.hypot(Z * 8, 46))
    assert p2["baseline_se_ha"] == pytest.approx(78 / (2 * Z))
    # none given: rounding only, and the verdict says what it rests on
    assert p3["baseline_uncertainty"] == "not given"
    assert p3["baseline_se_ha"] == pytest.approx(1 / math.sqrt(12))
    assert p3["verdict"] == "decrease"
    assert "verdict conditional on an exact baseline" in p3["note"]
    assert "conditional" not in p1["note"]


def test_holm_matches_the_step_down_definition():
    rng = np.random.default_rng(3)
    p = pd.Series(rng.uniform(0, 0.2, 9))
    p.iloc[4] = np.nan
    adjusted = holm(p)
    tested = p.dropna().sort_values()
    m = len(tested)
    expected, running = {}, 0.0
    for i, (index, value) in enumerate(tested.items()):
        running = max(running, min(1.0, (m - i) * value))
        expected[index] = running
    assert adjusted.dropna().to_dict() == pytest.approx(expected)
    assert np.isnan(adjusted.iloc[4])


def test_change_rows_carry_holm_adjusted_p_values_and_say_when_a_verdict_does_not_survive():
    # three programmes, each a decrease at 5% on its own (z = 2.1, 2.2, 4)
    rows_now, rows_then, programmes = [], [], []
    for i, statistic in enumerate((2.1, 2.2, 4.0)):
        d = f"D0{i + 1}"
        drop = statistic * math.sqrt(2) * 5.0
        rows_then.append(_estimate(d, 100.0, 100 - Z * 5, 100 + Z * 5, 5.0, year=2024))
        rows_now.append(_estimate(d, 100 - drop, 100 - drop - Z * 5, 100 - drop + Z * 5, 5.0))
        programmes.append(_programme(f"P{i + 1}", [d]))
    change = programme_change(pd.DataFrame(programmes), pd.DataFrame(rows_now + rows_then))
    poppy = change[change.crop == "opium_poppy"].set_index("programme_id")
    raw = 2 * stats.norm.sf([2.1, 2.2, 4.0])
    assert poppy["p_value"].to_numpy() == pytest.approx(raw, rel=1e-6)
    # Holm over 3 tests: 3·p(1), max(that, 2·p(2)), max(that, p(3))
    order = np.argsort(raw)
    expected = np.maximum.accumulate(np.minimum(1, raw[order] * [3, 2, 1]))
    assert poppy["p_holm"].to_numpy()[order] == pytest.approx(expected, rel=1e-6)
    assert (poppy["verdict"] == "decrease").all()
    survives = poppy["p_holm"] < 0.05
    # sorted: 3 × 6.3e-5, then max(that, 2 × 0.0278) = 0.056 and 0.056 for 0.0357: only P3
    assert list(survives) == [False, False, True]
    assert "Holm" in poppy.loc["P1", "note"] and "Holm" not in poppy.loc["P3", "note"]


def test_not_estimable_current_rows_give_not_estimable_change_rows():
    now = pd.DataFrame([
        {**_estimate("D01", np.nan, np.nan, np.nan, np.nan), "method": "not_estimable"},
        _estimate("D02", 20.0, 20 - Z * 2, 20 + Z * 2, 2.0),
    ])  # fmt: skip
    now.loc[0, "note"] = "no valid map pixel and no reference points"
    base = pd.DataFrame([_estimate(d, 30.0, 30 - Z * 3, 30 + Z * 3, 3.0, year=2024)
                         for d in ("D01", "D02")])  # fmt: skip
    change = programme_change(pd.DataFrame([_programme("P1", ["D01", "D02"])]), now, base)
    d01, total = _poppy(change, "P1", "D01"), _poppy(change, "P1", "ALL")
    assert d01["verdict"] == "not estimable" and "no valid map pixel" in d01["note"]
    assert np.isnan(d01["change_ha"]) and np.isnan(d01["p_value"])
    assert total["verdict"] == "no estimate" and "D01" in total["note"]
    assert _poppy(change, "P1", "D02")["verdict"] == "decrease"
    # a not-estimable row without a note (read back from CSV: NaN) still says what it is
    now.loc[0, "note"] = np.nan
    change = programme_change(pd.DataFrame([_programme("P1", ["D01", "D02"])]), now, base)
    assert _poppy(change, "P1", "D01")["note"] == "not estimable"


def test_programme_wide_reported_se_reaches_the_all_row_and_the_allocated_districts():
    base = pd.DataFrame([_estimate("D01", 100.0, 100 - Z * 8, 100 + Z * 8, 8.0, year=2024),
                         _estimate("D02", 200.0, 200 - Z * 6, 200 + Z * 6, 6.0, year=2024)])  # fmt: skip
    now = pd.DataFrame([_estimate("D01", 40.0, 40 - Z * 3, 40 + Z * 3, 3.0),
                        _estimate("D02", 90.0, 90 - Z * 4, 90 + Z * 4, 4.0)])  # fmt: skip
    programmes = pd.DataFrame(
        [_programme("P1", ["D01", "D02"], poppy=150.0, baseline_opium_poppy_se_ha=20.0)]
    )
    change = programme_change(programmes, pd.concat([base, now]), year=2025)
    total, d1 = _poppy(change, "P1", "ALL"), _poppy(change, "P1", "D01")
    assert total["baseline_uncertainty"] == "given" and total["baseline_se_ha"] == 20
    # 130 now (SE 5), 150 then (SE 20): -20 ± 1.96·hypot(5, 20) contains 0
    assert total["change_ci_high_ha"] == pytest.approx(-20 + Z * math.hypot(5, 20))
    assert total["verdict"] == "no detectable change"
    share_se = math.sqrt(((2 / 3) ** 2 * 64 + (1 / 3) ** 2 * 36) / 300**2)
    assert d1["baseline_se_ha"] == pytest.approx(math.hypot(20 / 3, 150 * share_se))
    assert d1["baseline_uncertainty"] == "given"


def test_a_design_se_of_zero_is_not_certainty_between_survey_years():
    """Every stratum's points all crop or all not: se_ha 0 in both years. The change
    then reads the limits (which see what the points could not), not a zero-width test."""
    now = pd.DataFrame([_estimate("D01", 17.5, 10.0, 26.0, 0.0)])
    base = pd.DataFrame([_estimate("D01", 18.0, 9.5, 25.0, 0.0, year=2024)])
    row = _poppy(programme_change(pd.DataFrame([_programme("P1", ["D01"])]), now, base), "P1",
                 "D01")  # fmt: skip
    assert row["change_ci_low_ha"] == pytest.approx(-0.5 - math.hypot(7.5, 7.0))
    assert row["change_ci_high_ha"] == pytest.approx(-0.5 + math.hypot(8.5, 8.5))
    assert row["verdict"] == "no detectable change"
