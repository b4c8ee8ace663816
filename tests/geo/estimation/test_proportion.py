"""Share intervals that stay honest when a few units show nothing, checked by the formula."""

from __future__ import annotations

import numpy as np
import pytest

from geo.estimation.proportion import share_interval, wilson_interval

Z = 1.959964


def wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre, half = p + Z * Z / (2 * n), Z * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - half) / (1 + Z * Z / n), (centre + half) / (1 + Z * Z / n)


@pytest.mark.parametrize(("k", "n"), [(0, 3), (2, 7), (5, 5), (1, 40)])
def test_wilson_interval_matches_the_closed_form(k, n):
    assert wilson_interval(k, n) == pytest.approx(wilson_by_hand(k, n), abs=1e-6)


def test_nothing_seen_gives_the_wilson_upper_bound_not_zero():
    se, method = share_interval(0.0, 0.0, 0, 3, Z, 0.95)
    assert method == "wilson_none_seen"
    assert Z * se == pytest.approx(Z * Z / (3 + Z * Z), rel=1e-6)  # 0.561 with 3 plots


def test_everything_seen_gives_the_wilson_lower_bound():
    se, method = share_interval(1.0, 0.0, 4, 4, Z, 0.95)
    low, _ = wilson_by_hand(4, 4)
    assert method == "wilson_all_seen" and se == pytest.approx((1 - low) / Z, rel=1e-6)


def test_the_wider_of_ratio_and_wilson_is_kept():
    low, high = wilson_by_hand(3, 10)
    wilson_se = max(high - 0.3, 0.3 - low) / Z
    assert share_interval(0.3, wilson_se / 2, 3, 10, Z, 0.95) == pytest.approx(
        (wilson_se, "wilson")
    )
    assert share_interval(0.3, wilson_se * 2, 3, 10, Z, 0.95) == (wilson_se * 2, "ratio")
