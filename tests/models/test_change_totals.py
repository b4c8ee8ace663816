"""Sums of district estimates that share a borrowed regional proportion (models/change/totals.py).

The published district estimates of ``geo.estimation.district_estimates`` say which
regional component they borrow (``shared_se_ha``); the programme total must add those
parts linearly. Checked against the union-domain estimator of ``region_estimate``
(every district at once, borrowed strata pooled before squaring) and against the
formula worked by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo.estimation import district_estimates, region_estimate
from models.change import programme_change, programme_series, sum_of_districts
from models.change.totals import shared_components


def _areas(areas: dict[str, dict[int, float]]) -> pd.DataFrame:
    rows = [(z, c, a) for z, by_class in areas.items() for c, a in by_class.items()]
    return pd.DataFrame(rows, columns=["district_id", "class", "area_ha"])


def _sample(cells: dict[tuple[str, int, str], int]) -> pd.DataFrame:
    rows = [(z, m, r) for (z, m, r), n in cells.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=["district_id", "map_class", "reference_class"])


# D01 and D02 sample their poppy stratum (class 1); D03 and D04 have one point there
# each (< min_per_stratum 2) and borrow the regional poppy proportion of map class 1.
AREAS = _areas({"D01": {1: 50.0, 3: 950.0}, "D02": {1: 20.0, 3: 1980.0},
                "D03": {1: 30.0, 3: 970.0}, "D04": {1: 40.0, 3: 960.0}})  # fmt: skip
SAMPLE = _sample({
    ("D01", 1, "opium_poppy"): 16, ("D01", 1, "other_crops"): 4,
    ("D01", 3, "opium_poppy"): 2, ("D01", 3, "other_crops"): 38,
    ("D02", 1, "opium_poppy"): 10, ("D02", 1, "other_crops"): 10,
    ("D02", 3, "opium_poppy"): 1, ("D02", 3, "other_crops"): 49,
    ("D03", 1, "opium_poppy"): 1, ("D03", 3, "other_crops"): 30,
    ("D04", 1, "other_crops"): 1, ("D04", 3, "opium_poppy"): 1, ("D04", 3, "other_crops"): 29,
})  # fmt: skip


def _estimates(**kwargs) -> pd.DataFrame:
    return district_estimates(AREAS, SAMPLE, None, year=2025, crops=("opium_poppy",), **kwargs)


def test_borrowing_districts_publish_their_shared_component():
    table = _estimates(variance="design").set_index("district_id")
    assert table.loc["D01", "shared_se_ha"] == "" and table.loc["D02", "shared_se_ha"] == ""
    d03 = shared_components(table.loc["D03", "shared_se_ha"])
    d04 = shared_components(table.loc["D04", "shared_se_ha"])
    assert set(d03) == set(d04) == {"regional opium_poppy"}
    # the regional poppy proportion of map class 1 pools 16+10+1+0 of 20+20+1+1 points;
    # its variance is the larger of the pooled and the between-district (0.8, 0.5) one
    p = 27 / 42
    var = max(p * (1 - p) / 41, np.var([0.8, 0.5], ddof=1))
    assert d03["regional opium_poppy"] == pytest.approx(30 * math.sqrt(var), rel=1e-5)
    assert d04["regional opium_poppy"] == pytest.approx(40 * math.sqrt(var), rel=1e-5)


def test_sum_of_two_districts_sharing_only_the_regional_part_is_1_41_times_quadrature():
    # D03's and D04's other strata found one poppy point in 30 (D04) or none (D03): with
    # the plain variance D03 has no own variance, so its SE is all borrowed
    table = _estimates(variance="design").set_index("district_id")
    a3 = shared_components(table.loc["D03", "shared_se_ha"])["regional opium_poppy"]
    assert table.loc["D03", "se_ha"] == pytest.approx(a3, rel=1e-5)
    pair = table.loc[["D03", "D03"]]  # the same district twice: perfectly correlated
    _, quadrature = sum_of_districts(pair["area_ha"], pair["se_ha"])
    _, correlated = sum_of_districts(pair["area_ha"], pair["se_ha"], pair["shared_se_ha"])
    assert correlated / quadrature == pytest.approx(math.sqrt(2), rel=1e-5)
    assert correlated == pytest.approx(2 * table.loc["D03", "se_ha"], rel=1e-5)


@pytest.mark.parametrize("variance", ["design", "design_unseen", "unseen_in_se", "smoothed"])
def test_sum_of_all_districts_equals_the_union_domain_estimator(variance):
    table = _estimates(variance=variance)
    region = region_estimate(AREAS, SAMPLE, None, year=2025, crops=("opium_poppy",),
                             variance=variance).iloc[0]  # fmt: skip
    total, se = sum_of_districts(table["area_ha"], table["se_ha"], table["shared_se_ha"])
    _, naive = sum_of_districts(table["area_ha"], table["se_ha"])
    assert total == pytest.approx(region["area_ha"], rel=1e-9)
    assert se == pytest.approx(region["se_ha"], rel=1e-5)
    assert naive < 0.99 * region["se_ha"]  # quadrature understates it


def test_programme_all_row_and_series_respect_the_shared_component():
    now = _estimates(variance="design")
    base = now.assign(year=2024, area_ha=now["area_ha"] * 1.1)
    programmes = pd.DataFrame(
        [dict(programme_id="P1", district_ids=["D03", "D04"], baseline_year=2024,
              baseline_opium_poppy_ha=np.nan, baseline_cannabis_ha=np.nan)]
    )  # fmt: skip
    stored = pd.concat([base, now], ignore_index=True)
    change = programme_change(programmes, stored, year=2025)
    total = change[(change.district_id == "ALL") & (change.crop == "opium_poppy")].iloc[0]
    by = now.set_index("district_id")
    v3, v4 = by.loc["D03", "se_ha"] ** 2, by.loc["D04", "se_ha"] ** 2
    a3, a4 = (shared_components(by.loc[d, "shared_se_ha"])["regional opium_poppy"]
              for d in ("D03", "D04"))  # fmt: skip
    assert total["se_ha"] == pytest.approx(math.sqrt(v3 + v4 + 2 * a3 * a4), rel=1e-6)
    assert total["baseline_se_ha"] == pytest.approx(total["se_ha"], rel=1e-6)
    series = programme_series(stored, programmes)
    poppy = series[(series.crop == "opium_poppy") & (series.year == 2025)].iloc[0]
    assert poppy["se_ha"] == pytest.approx(total["se_ha"], rel=1e-9)


def test_programme_all_row_limits_are_the_mover_sum_of_the_district_limits():
    # the published default interval: skewed district limits (MOVER over the strata)
    now = _estimates(variance="design_unseen", interval="mover_jeffreys_eb")
    assert (now["interval"] == "mover_jeffreys_eb").all()
    programmes = pd.DataFrame(
        [dict(programme_id="P1", district_ids=["D01", "D03", "D04"], baseline_year=2024,
              baseline_opium_poppy_ha=np.nan, baseline_cannabis_ha=np.nan)]
    )  # fmt: skip
    stored = pd.concat([now.assign(year=2024), now], ignore_index=True)
    change = programme_change(programmes, stored, year=2025)
    total = change[(change.district_id == "ALL") & (change.crop == "opium_poppy")].iloc[0]
    by = now.set_index("district_id").loc[["D01", "D03", "D04"]]
    z = 1.959963984540054
    # by hand: the reaches add in quadrature, and D03 and D04 share one regional part
    a3, a4 = (shared_components(by.loc[d, "shared_se_ha"])["regional opium_poppy"]
              for d in ("D03", "D04"))  # fmt: skip
    down = np.sum((by["area_ha"] - by["ci_low_ha"]) ** 2) + z**2 * 2 * a3 * a4
    up = np.sum((by["ci_high_ha"] - by["area_ha"]) ** 2) + z**2 * 2 * a3 * a4
    assert total["area_ha"] == pytest.approx(by["area_ha"].sum(), rel=1e-12)
    assert total["ci_low_ha"] == pytest.approx(max(0.0, by["area_ha"].sum() - down**0.5), rel=1e-9)
    assert total["ci_high_ha"] == pytest.approx(by["area_ha"].sum() + up**0.5, rel=1e-9)
    # skewed like its districts: a longer reach up than down, unlike total ± z·se
    assert total["ci_high_ha"] - total["area_ha"] > total["area_ha"] - total["ci_low_ha"]
