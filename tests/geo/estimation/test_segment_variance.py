"""Segment variances: Isaki's map ratio and the unseen floors by hand, and the planner's agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.errors import EstimationError, InvalidInputError
from geo.estimation import segment_estimate
from geo.estimation.allocation import segments_for_precision
from geo.estimation.segment_variance import frame_map_variance

SIZES = {"high": 40, "low": 60}
Z = stats.norm.ppf(0.975)


def frame_table():
    """A 100-segment frame: mapped poppy per segment, 40 high then 60 low."""
    rng = np.random.default_rng(5)
    mapped = np.concatenate([rng.gamma(1.5, 1.0, 40), rng.gamma(0.6, 0.5, 60)]).round(2)
    return pd.DataFrame({"segment_id": [f"SEG-{k:03d}" for k in range(100)],
                         "stratum": ["high"] * 40 + ["low"] * 60,
                         "opium_poppy_map_ha": mapped})  # fmt: skip


def six_segments(frame, picks, interpreted):
    sample = frame.iloc[picks].copy()
    sample["opium_poppy_ha"] = interpreted
    return sample.reset_index(drop=True)


FRAME = frame_table()
PICKS = [0, 1, 2, 40, 41, 42]


def _hand_total(sample, frame):
    d = (sample.opium_poppy_ha - sample.opium_poppy_map_ha).to_numpy()
    high, low = d[:3], d[3:]
    return frame.opium_poppy_map_ha.sum() + 40 * high.mean() + 60 * low.mean(), high, low


def test_difference_estimate_and_interval_by_hand_on_six_segments():
    y = FRAME.opium_poppy_map_ha.iloc[PICKS].to_numpy() + [0.3, -0.1, 0.9, 0.0, 0.2, -0.05]
    sample = six_segments(FRAME, PICKS, np.maximum(y, 0))
    est = segment_estimate(sample, SIZES, "opium_poppy", estimator="difference",
                           map_total_ha=float(FRAME.opium_poppy_map_ha.sum()), n_boot=400)  # fmt: skip
    total, high, low = _hand_total(sample, FRAME)
    var = (40**2 * (1 - 3 / 40) * high.var(ddof=1) / 3
           + 60**2 * (1 - 3 / 60) * low.var(ddof=1) / 3)  # fmt: skip
    assert est.total_ha == pytest.approx(total) and est.se_ha == pytest.approx(np.sqrt(var))
    # Student's t on n - H = 4 df (2.776), not the normal 1.96
    t4 = stats.t.ppf(0.975, 4)
    assert est.ci_high_ha >= total + t4 * np.sqrt(var) - 1e-9
    assert est.ci_low_ha <= max(0.0, total - t4 * np.sqrt(var)) + 1e-9
    assert est.variance == "design"


def test_map_ratio_variance_is_isaki_by_hand_and_larger_takes_the_maximum():
    y = FRAME.opium_poppy_map_ha.iloc[PICKS].to_numpy() + [0.3, -0.1, 0.9, 0.0, 0.2, -0.05]
    sample = six_segments(FRAME, PICKS, np.maximum(y, 0))
    _, high, low = _hand_total(sample, FRAME)
    m = sample.opium_poppy_map_ha.to_numpy()
    frame_var = {h: FRAME.opium_poppy_map_ha[FRAME.stratum == h].var(ddof=1) for h in SIZES}
    assert frame_map_variance(FRAME, "opium_poppy") == pytest.approx(frame_var)
    isaki = {
        "high": high.var(ddof=1) * frame_var["high"] / m[:3].var(ddof=1),
        "low": low.var(ddof=1) * frame_var["low"] / m[3:].var(ddof=1),
    }
    design = {"high": high.var(ddof=1), "low": low.var(ddof=1)}
    for variance, spread in (("map_ratio", isaki),
                             ("larger", {h: max(isaki[h], design[h]) for h in SIZES})):  # fmt: skip
        est = segment_estimate(sample, SIZES, "opium_poppy", estimator="difference",
                               frame=FRAME, variance=variance, n_boot=400)  # fmt: skip
        var = (40**2 * (1 - 3 / 40) * spread["high"] / 3
               + 60**2 * (1 - 3 / 60) * spread["low"] / 3)  # fmt: skip
        assert est.se_ha == pytest.approx(np.sqrt(var)) and est.variance == variance
    # the frame gives the map total and, by default, the larger variance
    default = segment_estimate(sample, SIZES, "opium_poppy", estimator="difference",
                               frame=FRAME, n_boot=400)  # fmt: skip
    assert default.variance == "larger"
    assert default.total_ha == pytest.approx(_hand_total(sample, FRAME)[0])


def test_all_residuals_zero_in_a_stratum_is_floored_not_zero_width():
    y = FRAME.opium_poppy_map_ha.iloc[PICKS].to_numpy().copy()
    y[3:] += [0.2, 0.0, 0.4]  # map and interpretation agree on the 3 high segments
    sample = six_segments(FRAME, PICKS, y)
    est = segment_estimate(sample, SIZES, "opium_poppy", estimator="difference",
                           map_total_ha=float(FRAME.opium_poppy_map_ha.sum()), n_boot=400)  # fmt: skip
    bound = 40 * (1 - 0.025 ** (1 / 3)) * y[y > 0].mean()
    assert est.by_stratum.loc["high", "se_ha"] == pytest.approx(bound / Z)
    assert est.ci_high_ha > est.total_ha + bound and "agree" in est.note
    # all residuals zero everywhere: an interval, not [X, X]
    same = six_segments(FRAME, PICKS, FRAME.opium_poppy_map_ha.iloc[PICKS].to_numpy())
    flat = segment_estimate(same, SIZES, "opium_poppy", estimator="difference",
                            map_total_ha=float(FRAME.opium_poppy_map_ha.sum()), n_boot=400)  # fmt: skip
    assert flat.ci_high_ha - flat.ci_low_ha > 0.5 * flat.total_ha


def test_no_crop_anywhere_is_bounded_by_the_segment_area():
    sample = pd.DataFrame({"stratum": ["high"] * 4 + ["low"] * 5, "opium_poppy_ha": 0.0,
                           "segment_ha": 6.25})  # fmt: skip
    est = segment_estimate(sample, SIZES, "opium_poppy", n_boot=400)
    # 0 of n_h segments hold poppy: at most N_h (1 - 0.025^(1/n_h)) segments do, each <= 6.25 ha
    floors = [(40 * (1 - 0.025 ** (1 / 4)) * 6.25 / Z) ** 2,
              (60 * (1 - 0.025 ** (1 / 5)) * 6.25 / Z) ** 2]  # fmt: skip
    assert est.total_ha == 0.0 and est.se_ha == pytest.approx(np.sqrt(sum(floors)))
    assert est.ci_low_ha == 0.0
    assert est.ci_high_ha == pytest.approx(stats.t.ppf(0.975, 7) * np.sqrt(sum(floors)))
    assert "whole segment" in est.note
    unknown = segment_estimate(sample.drop(columns="segment_ha"), SIZES, "opium_poppy", n_boot=400)
    assert np.isnan(unknown.ci_high_ha) and "not estimable" in unknown.note


def test_planner_uses_the_estimators_variance():
    y = FRAME.opium_poppy_map_ha.iloc[PICKS].to_numpy() + [0.3, -0.1, 0.9, 0.0, 0.2, -0.05]
    sample = six_segments(FRAME, PICKS, np.maximum(y, 0))
    est = segment_estimate(sample, SIZES, "opium_poppy", estimator="difference", frame=FRAME,
                           n_boot=400)  # fmt: skip
    plan = segments_for_precision(sample, SIZES, "opium_poppy", half_width=0.2,
                                  estimator="difference", frame=FRAME)  # fmt: skip
    # back from the estimator's stratum SE to the per-segment SD: se_h² = N²(1 - n/N) S²/n
    sizes, n = np.array([40.0, 60.0]), np.array([3.0, 3.0])
    spread = est.by_stratum["se_ha"].to_numpy() * np.sqrt(n / (sizes**2 * (1 - n / sizes)))
    assert plan["sd_ha"].to_numpy() == pytest.approx(spread)
    design = segments_for_precision(sample, SIZES, "opium_poppy", half_width=0.2,
                                    estimator="difference",
                                    map_total_ha=float(FRAME.opium_poppy_map_ha.sum()))  # fmt: skip
    assert (plan["sd_ha"] >= design["sd_ha"] - 1e-12).all()
    # the relative target is of the difference estimate: map total + sum of N_h mean(d_h)
    assert plan.attrs["estimate_ha"] == pytest.approx(est.total_ha)
    assert design.attrs["estimate_ha"] == pytest.approx(est.total_ha)


def test_bad_frame_and_variance_input():
    sample = six_segments(FRAME, PICKS, FRAME.opium_poppy_map_ha.iloc[PICKS].to_numpy() + 0.1)
    with pytest.raises(InvalidInputError, match="frame"):
        segment_estimate(sample, SIZES, "opium_poppy", estimator="difference",
                         map_total_ha=10.0, variance="map_ratio")  # fmt: skip
    with pytest.raises(InvalidInputError, match="variance must be"):
        segment_estimate(sample, SIZES, "opium_poppy", frame=FRAME, variance="robust")
    with pytest.raises(InvalidInputError, match="'expansion' or 'difference'"):
        segment_estimate(sample, SIZES, "opium_poppy", estimator="ratio", frame=FRAME,
                         frame_totals={"high": 1.0, "low": 1.0}, variance="larger")  # fmt: skip
    lonely = FRAME.assign(stratum=["high"] * 99 + ["low"])
    with pytest.raises(InvalidInputError, match="hold 1 segment"):
        frame_map_variance(lonely, "opium_poppy")
    one = sample.iloc[[0, 1, 2, 3]]
    with pytest.raises(EstimationError, match="fewer than 2"):
        segment_estimate(one, SIZES, "opium_poppy", estimator="difference", frame=FRAME)


def test_planner_floors_a_stratum_without_crop_as_the_estimator_does():
    """The low stratum shows no poppy: the plan's SD there is the estimator's
    Clopper-Pearson floor, taken back to one segment's SD at the sampled n."""
    sample = pd.DataFrame({"stratum": ["high"] * 4 + ["low"] * 5,
                           "opium_poppy_ha": [2.0, 0.5, 3.0, 1.5, 0, 0, 0, 0, 0],
                           "segment_ha": 6.25})  # fmt: skip
    est = segment_estimate(sample, SIZES, "opium_poppy", n_boot=400)
    plan = segments_for_precision(sample, SIZES, "opium_poppy", half_width=0.3)
    floor_se = 60 * (1 - 0.025 ** (1 / 5)) * np.mean([2.0, 0.5, 3.0, 1.5]) / Z
    low_sd = floor_se * np.sqrt(5 / (60.0**2 * (1 - 5 / 60)))
    assert est.by_stratum.loc["low", "se_ha"] == pytest.approx(floor_se)
    assert plan.loc["low", "sd_ha"] == pytest.approx(low_sd)
    assert plan.loc["high", "sd_ha"] == pytest.approx(np.std([2.0, 0.5, 3.0, 1.5], ddof=1))
    assert plan.loc["low", "n_needed"] >= 2
    nothing = segments_for_precision(sample.assign(opium_poppy_ha=0.0), SIZES, "opium_poppy",
                                     half_width=0.3)  # fmt: skip
    assert nothing["n_needed"].isna().all() and (nothing["sd_ha"] > 0).all()


def test_a_stratum_taken_whole_has_no_floor():
    """Every segment of the low stratum was interpreted and none holds poppy: its total
    is known (0), so no Clopper-Pearson floor, in the estimator and in the planner."""
    sample = pd.DataFrame({"stratum": ["high"] * 6 + ["low"] * 4,
                           "opium_poppy_ha": [1.0, 2.0, 0.5, 3.0, 0.0, 1.5, 0, 0, 0, 0],
                           "segment_ha": 6.25})  # fmt: skip
    sizes = {"high": 50, "low": 4}
    est = segment_estimate(sample, sizes, "opium_poppy", n_boot=400)
    assert est.by_stratum.loc["low", "se_ha"] == 0.0
    high = np.array([1.0, 2.0, 0.5, 3.0, 0.0, 1.5])
    by_hand = 50 * np.sqrt((1 - 6 / 50) * high.var(ddof=1) / 6)
    assert est.se_ha == pytest.approx(by_hand)
    plan = segments_for_precision(sample, sizes, "opium_poppy", half_width=0.2)
    assert plan["n_needed"].notna().all() and plan.loc["low", "sd_ha"] == 0.0
