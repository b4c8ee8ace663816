"""Neyman allocation for a target half-width, checked against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.errors import InvalidInputError
from core.legend import code_of
from geo.estimation.allocation import anticipated_from_accuracy, neyman_plan

POPPY, CANNABIS, FOREST, FALLOW = (code_of(c) for c in
                                   ("opium_poppy", "cannabis", "forest", "fallow_bare"))  # fmt: skip
Z = 1.959964

AREA = pd.DataFrame({
    "district_id": ["D1"] * 4 + ["D2"] * 4,
    "stratum": [POPPY, CANNABIS, FOREST, FALLOW] * 2,
    "area_ha": [100.0, 50.0, 900.0, 2000.0, 40.0, 0.0, 1500.0, 500.0],
})  # fmt: skip
ANTICIPATED = pd.DataFrame(
    {"opium_poppy": [0.8, 0.02, 0.05, 0.01], "cannabis": [0.01, 0.7, 0.01, 0.005]},
    index=[POPPY, CANNABIS, FOREST, FALLOW],
)


def hand_neyman(area: list[float], p: list[float], relative: float) -> list[float]:
    """n_h = n A_h S_h / Σ A S with n = (Σ A S)² / (d/z)², d = relative · Σ A p."""
    weights = [a * math.sqrt(q * (1 - q)) for a, q in zip(area, p, strict=True)]
    d = relative * sum(a * q for a, q in zip(area, p, strict=True))
    n = sum(weights) ** 2 / (d / Z) ** 2
    return [n * w / sum(weights) for w in weights]


def test_district_allocation_is_the_hand_neyman_one():
    plan = neyman_plan(AREA, ANTICIPATED, district_half_width=0.25, region_half_width=0.5)
    d1 = plan.points[plan.points.district_id == "D1"].set_index("stratum")["n_points"]
    poppy = hand_neyman([100, 50, 900, 2000], [0.8, 0.02, 0.05, 0.01], 0.25)
    cannabis = hand_neyman([100, 50, 900, 2000], [0.01, 0.7, 0.01, 0.005], 0.25)
    expected = [max(2, math.ceil(max(a, b))) for a, b in zip(poppy, cannabis, strict=True)]
    assert list(d1.loc[["opium_poppy", "cannabis", "forest", "fallow_bare"]]) == expected
    # D2 maps no cannabis: no cannabis stratum row, and no relative cannabis target
    d2 = plan.points[plan.points.district_id == "D2"]
    assert "cannabis" not in set(d2.stratum)


def test_expected_half_width_meets_the_target_with_the_common_allocation():
    plan = neyman_plan(AREA, ANTICIPATED, district_half_width=0.25, region_half_width=0.5)
    expected = plan.expected.set_index(["district_id", "crop"])
    n = plan.n_per_stratum
    # D1 poppy by hand with the common allocation
    area, p = [100, 50, 900, 2000], [0.8, 0.02, 0.05, 0.01]
    names = ["opium_poppy", "cannabis", "forest", "fallow_bare"]
    variance = sum(a * a * q * (1 - q) / n[k] for a, q, k in zip(area, p, names, strict=True))
    half = Z * math.sqrt(variance)
    row = expected.loc[("D1", "opium_poppy")]
    assert row["expected_half_width_ha"] == pytest.approx(half, rel=1e-6)
    assert row["expected_half_width"] == pytest.approx(half / (80 + 1 + 45 + 20), rel=1e-6)
    assert (expected["expected_half_width"].dropna() <= 0.25 + 1e-9).all()
    assert n == {k: int(plan.points[plan.points.stratum == k].n_points.max()) for k in names}


def test_region_target_adds_points_when_districts_are_not_enough():
    loose = neyman_plan(AREA, ANTICIPATED, district_half_width=0.9, region_half_width=0.8)
    tight = neyman_plan(AREA, ANTICIPATED, district_half_width=0.9, region_half_width=0.05)
    region = tight.expected.set_index(["district_id", "crop"]).loc[("ALL", "opium_poppy")]
    assert region["expected_half_width"] <= 0.05 + 1e-9
    assert sum(tight.n_per_stratum.values()) > sum(loose.n_per_stratum.values())


def test_first_year_from_users_accuracy_as_sepal():
    strata = [POPPY, FOREST, 100 + FOREST]
    p = anticipated_from_accuracy(strata, {"opium_poppy": 0.7, "forest": 0.95}, ["opium_poppy"])
    # S_h = sqrt(U(1-U)) per stratum; the buffer stratum takes its class's accuracy
    assert np.allclose(np.sqrt(p * (1 - p)).ravel(),
                       [math.sqrt(0.21), math.sqrt(0.0475), math.sqrt(0.0475)])  # fmt: skip
    with pytest.raises(InvalidInputError, match="fallow_bare"):
        anticipated_from_accuracy([code_of("fallow_bare")], {"forest": 0.9}, ["opium_poppy"])


def test_targets_outside_zero_one_are_refused():
    with pytest.raises(InvalidInputError, match="district half-width"):
        neyman_plan(AREA, ANTICIPATED, district_half_width=1.5, region_half_width=0.1)
