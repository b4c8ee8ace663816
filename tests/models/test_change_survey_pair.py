"""Which limits the change test reads: survey years (design reaches) or a reported baseline (full).

A district estimate publishes the design SE in ``se_ha`` and the omission its sample
cannot see in ``unseen_se_ha``, which widens the upper limit only. Between two survey
years that omission cancels; against a reported figure it does not. Every expected limit
here is recomputed from the MOVER formula (Zou & Donner 2008) with the reaches written
out by hand.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from maps.front import _with_change
from maps.report import build_report
from models.change import programme_change, programme_series
from models.change.area import _area_fields
from models.change.intervals import SURVEY_PAIR_RULE
from tests.maps.builders import make_districts, make_estimates

Z = stats.norm.ppf(0.975)


def _estimate(d, area, se, unseen, year=2025):
    """A published district row: ``area - z se`` and ``area + z sqrt(se² + unseen²)``."""
    return dict(district_id=d, crop="opium_poppy", year=year, area_ha=area,
                ci_low_ha=max(0.0, area - Z * se), ci_high_ha=area + Z * math.hypot(se, unseen),
                se_ha=se, unseen_se_ha=unseen, n_reference=40, method="stratified",
                confidence=0.95, note="")  # fmt: skip


def _programme(pid, ids, poppy=np.nan, **extra):
    return dict(programme_id=pid, district_ids=ids, baseline_year=2024,
                baseline_opium_poppy_ha=poppy, baseline_cannabis_ha=np.nan, **extra)  # fmt: skip


def _row(change, pid, district):
    hit = change[(change.programme_id == pid) & (change.district_id == district)
                 & (change.crop == "opium_poppy")]  # fmt: skip
    assert len(hit) == 1
    return hit.iloc[0]


NOW = _estimate("D01", 20.0, 2.0, 6.0)
THEN = _estimate("D01", 30.0, 3.0, 5.0, year=2024)


def test_between_survey_years_the_unseen_term_cancels():
    change = programme_change(pd.DataFrame([_programme("P1", ["D01"])]),
                              pd.DataFrame([NOW, THEN]), year=2025)  # fmt: skip
    row = _row(change, "P1", "D01")
    assert row["baseline_source"] == "derived"
    # design reaches both ways: -10 ± z·sqrt(2² + 3²) = -10 ± 7.07, below 0
    assert row["change_ci_low_ha"] == pytest.approx(-10 - Z * math.hypot(2, 3), rel=1e-12)
    assert row["change_ci_high_ha"] == pytest.approx(-10 + Z * math.hypot(2, 3), rel=1e-12)
    assert row["verdict"] == "decrease"
    # the full limits would have reached above 0: z·sqrt(2² + 6² + 3²) = 13.7 > 10
    assert -10 + math.hypot(Z * math.hypot(2, 6), Z * 3) > 0


def test_against_a_reported_baseline_the_full_limits_are_read():
    programme = _programme("P1", ["D01"], poppy=30.0, baseline_opium_poppy_se_ha=3.0)
    change = programme_change(pd.DataFrame([programme]), pd.DataFrame([NOW]), year=2025)
    row = _row(change, "P1", "D01")
    assert row["baseline_source"] == "reported"
    # up reach of the current estimate with the omission: z·sqrt(2² + 6²)
    assert row["change_ci_high_ha"] == pytest.approx(
        -10 + math.hypot(Z * math.hypot(2, 6), Z * 3), rel=1e-12
    )
    assert row["change_ci_low_ha"] == pytest.approx(-10 - Z * math.hypot(2, 3), rel=1e-12)
    assert row["verdict"] == "no detectable change"
    assert row["se_ha"] == 2.0  # the published SE stays the design SE


def test_all_rows_and_reported_shares_carry_the_unseen_terms():
    base = pd.DataFrame([_estimate("D01", 100.0, 8.0, 6.0, year=2024),
                         _estimate("D02", 200.0, 6.0, 0.0, year=2024)])  # fmt: skip
    now = pd.DataFrame([_estimate("D01", 40.0, 3.0, 4.0), _estimate("D02", 90.0, 4.0, 2.0)])
    reported = _programme("P1", ["D01", "D02"], poppy=150.0, baseline_opium_poppy_se_ha=20.0)
    derived = _programme("P2", ["D01", "D02"])
    change = programme_change(pd.DataFrame([reported, derived]), pd.concat([base, now]),
                              year=2025)  # fmt: skip
    total, d1 = _row(change, "P1", "ALL"), _row(change, "P1", "D01")
    # ALL: 130 ha, design SE hypot(3, 4) = 5, unseen hypot(4, 2) in the upper limit
    assert total["area_ha"] == 130 and total["se_ha"] == pytest.approx(5.0)
    assert total["ci_high_ha"] == pytest.approx(130 + Z * math.sqrt(25 + 16 + 4), rel=1e-12)
    assert total["change_ci_high_ha"] == pytest.approx(
        -20 + math.hypot(Z * math.sqrt(45), 20 * Z), rel=1e-12
    )
    # D01's share 1/3 of the reported 150, its SE from the full variances 8² + 6² and 6²
    share_se = math.sqrt(((2 / 3) ** 2 * (64 + 36) + (1 / 3) ** 2 * 36) / 300**2)
    assert d1["baseline_ha"] == pytest.approx(50.0)
    assert d1["baseline_se_ha"] == pytest.approx(math.hypot(20 / 3, 150 * share_se), rel=1e-12)
    # the same districts against their own 2024 survey: design SEs only, both years
    pair = _row(change, "P2", "ALL")
    assert pair["baseline_source"] == "derived"
    half = Z * math.hypot(5.0, math.hypot(8.0, 6.0))
    assert pair["change_ci_low_ha"] == pytest.approx(130 - 300 - half, rel=1e-12)
    assert pair["change_ci_high_ha"] == pytest.approx(130 - 300 + half, rel=1e-12)


def test_programme_series_carries_the_unseen_terms_in_the_upper_limit():
    now = pd.DataFrame([_estimate("D01", 40.0, 3.0, 4.0), _estimate("D02", 90.0, 4.0, 2.0)])
    series = programme_series(now, pd.DataFrame([_programme("P1", ["D01", "D02"])]))
    row = series[series["crop"] == "opium_poppy"].iloc[0]
    assert row["se_ha"] == pytest.approx(5.0)
    assert row["ci_low_ha"] == pytest.approx(130 - Z * 5.0, rel=1e-12)
    assert row["ci_high_ha"] == pytest.approx(130 + Z * math.sqrt(25 + 16 + 4), rel=1e-12)


def test_programme_area_rows_carry_the_unseen_terms_scaled_to_the_polygon():
    now = pd.DataFrame([_estimate("D01", 40.0, 3.0, 4.0) | {"map_area_ha": 50.0},
                        _estimate("D02", 90.0, 4.0, 2.0) | {"map_area_ha": 150.0}])  # fmt: skip
    prog = pd.Series({"programme_id": "P1", "district_ids": ["D01", "D02"]})
    mapped = pd.DataFrame({"programme_id": ["P1"], "class": [1], "area_ha": [20.0]})
    fields = _area_fields(prog, "opium_poppy", (mapped, {"P1"}), now, Z)
    # 20 ha mapped × 130/200; SE and unseen term scaled by 20/200
    assert fields["area_ha"] == pytest.approx(13.0)
    assert fields["se_ha"] == pytest.approx(0.5)
    assert fields["ci_low_ha"] == pytest.approx(13 - Z * 0.5, rel=1e-12)
    assert fields["ci_high_ha"] == pytest.approx(13 + Z * math.sqrt(45) / 10, rel=1e-12)


def test_front_page_change_between_years_reads_the_design_ses():
    keys = ["district_id", "crop"]
    now, before = pd.DataFrame([NOW]), pd.DataFrame([THEN])
    (row,) = _with_change(now, before, keys)
    assert row["change_ci_low_ha"] == pytest.approx(-10 - Z * math.hypot(2, 3), rel=1e-9)
    assert row["change_ci_high_ha"] == pytest.approx(-10 + Z * math.hypot(2, 3), rel=1e-9)
    assert row["verdict"] == "decrease"
    # the design SEs whatever the limits hold: a table without unseen_se_ha reads the same
    (old,) = _with_change(now.drop(columns="unseen_se_ha"), before.drop(columns="unseen_se_ha"),
                          keys)  # fmt: skip
    assert old["change_ci_high_ha"] == pytest.approx(row["change_ci_high_ha"], rel=1e-12)
    assert old["verdict"] == "decrease"


def test_the_report_states_the_rule(tmp_path):
    change = programme_change(pd.DataFrame([_programme("P1", ["D01"])]),
                              pd.DataFrame([NOW, THEN]), year=2025)  # fmt: skip
    estimates = make_estimates(make_districts(2, 1), 2025)
    text = build_report(tmp_path, district_estimates=estimates, year=2025, run_id="r", maps=[],
                        charts=[], downloads={}, programme_change=change).read_text()  # fmt: skip
    assert SURVEY_PAIR_RULE in html.unescape(" ".join(text.split()))
