"""Olofsson et al. (2014) stratified estimator against the paper's worked example and by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from core.errors import EstimationError, InvalidInputError
from geo.estimation import StratifiedEstimate, stratified_area_estimate

# Olofsson et al. 2014, section 5 (Tables 8 and 9): map areas in 30 m pixels and the
# error matrix of sample counts, rows = map class, columns = reference class, in the order
# deforestation, forest gain, stable forest, stable non-forest. (The same numbers read
# column-wise are the paper's reference totals; used row-wise they give 21 158 ha, the
# paper's deforestation area, which is how we know the orientation.)
PAPER_PIXELS = [200_000, 150_000, 3_200_000, 6_450_000]
PAPER_MATRIX = [[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]]
PIXEL_HA = 0.09


def test_paper_worked_example_areas_and_intervals():
    est = stratified_area_estimate(np.array(PAPER_PIXELS) * PIXEL_HA, PAPER_MATRIX)
    # Paper: deforestation 21 158 ± 6 157 ha, forest gain 11 686 ± 3 756 ha,
    # stable forest 285 770 ± 15 510 ha, stable non-forest 581 386 ± 16 282 ha.
    np.testing.assert_allclose(est.area, [21_158, 11_686, 285_770, 581_386], atol=1.0)
    np.testing.assert_allclose(est.area_ci, [6_157, 3_756, 15_510, 16_282], atol=1.0)
    np.testing.assert_allclose(est.area_se * 1.959964, est.area_ci, rtol=1e-6)
    assert est.proportions.sum() == pytest.approx(1.0)
    assert est.area.sum() == pytest.approx(sum(PAPER_PIXELS) * PIXEL_HA)


def test_paper_worked_example_accuracies():
    est = stratified_area_estimate(PAPER_PIXELS, PAPER_MATRIX)
    # Paper: user's 0.88 ± 0.07, 0.73 ± 0.10, 0.93 ± 0.04, 0.96 ± 0.02;
    # producer's 0.75 ± 0.21, 0.85 ± 0.25, 0.93 ± 0.03, 0.96 ± 0.02; overall 0.95 ± 0.02.
    np.testing.assert_allclose(est.users_accuracy, [0.88, 0.73, 0.93, 0.96], atol=0.005)
    np.testing.assert_allclose(est.users_accuracy_ci, [0.07, 0.10, 0.04, 0.02], atol=0.005)
    np.testing.assert_allclose(est.producers_accuracy, [0.75, 0.85, 0.93, 0.96], atol=0.005)
    np.testing.assert_allclose(est.producers_accuracy_ci, [0.21, 0.25, 0.03, 0.02], atol=0.005)
    assert est.overall_accuracy == pytest.approx(0.95, abs=0.005)
    assert est.overall_accuracy_ci == pytest.approx(0.02, abs=0.005)
    assert est.n.tolist() == [75, 75, 165, 325]


def test_two_class_example_by_hand():
    # W = 0.2, 0.8. p1 = 0.2*45/50 + 0.8*10/100 = 0.26 -> 260 of 1000.
    # V(p1) = 0.04*0.9*0.1/49 + 0.64*0.1*0.9/99 = 6.5530e-4 -> SE 25.599, CI 50.17.
    est = stratified_area_estimate([200, 800], [[45, 5], [10, 90]])
    assert est.area[0] == pytest.approx(260.0)
    assert est.area_se[0] == pytest.approx(1000 * np.sqrt(0.04 * 0.09 / 49 + 0.64 * 0.09 / 99))
    assert est.area_ci[0] == pytest.approx(50.172, abs=1e-3)
    # user's accuracy of class 1 = 45/50 with SE sqrt(0.9*0.1/49)
    assert est.users_accuracy[0] == pytest.approx(0.9)
    assert est.users_accuracy_ci[0] == pytest.approx(1.959964 * np.sqrt(0.09 / 49), rel=1e-6)
    # producer's accuracy of class 1 = 0.18 / 0.26
    assert est.producers_accuracy[0] == pytest.approx(0.18 / 0.26)
    # 90% interval uses z = 1.6449
    narrow = stratified_area_estimate([200, 800], [[45, 5], [10, 90]], confidence=0.90)
    assert narrow.area_ci[0] == pytest.approx(1.644854 * est.area_se[0], rel=1e-6)


def test_labels_from_pandas_and_table():
    classes = ["opium_poppy", "other"]
    matrix = pd.DataFrame([[45, 5], [10, 90]], index=classes, columns=classes)
    est = stratified_area_estimate(pd.Series([200.0, 800.0], index=classes), matrix)
    assert isinstance(est, StratifiedEstimate)
    assert est.classes == ("opium_poppy", "other")
    assert est.table().loc["opium_poppy", "area"] == pytest.approx(260.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.area = np.zeros(2)


def test_reference_class_the_map_never_predicts():
    # class 3 exists in the reference only (map area 0, no samples in its stratum)
    est = stratified_area_estimate([300, 700, 0], [[28, 0, 2], [0, 45, 5], [0, 0, 0]])
    assert est.area[2] == pytest.approx(300 * 2 / 30 + 700 * 5 / 50)
    assert np.isnan(est.users_accuracy[2])  # no stratum: user's accuracy undefined, not 0
    assert est.producers_accuracy[2] == pytest.approx(0.0)
    assert np.isfinite(est.area_ci).all()


def test_census_stratum_with_one_sample_needs_its_size():
    with pytest.raises(EstimationError, match="at least 2"):
        stratified_area_estimate([1, 999], [[1, 0], [3, 97]])
    est = stratified_area_estimate([1, 999], [[1, 0], [3, 97]], stratum_sizes=[1, 99_900])
    # census stratum adds no variance; the other has fpc 1 - 100/99900
    expected_var = (999 / 1000) ** 2 * 0.03 * 0.97 / 99 * (1 - 100 / 99_900)
    assert est.area_se[0] == pytest.approx(1000 * np.sqrt(expected_var))


@pytest.mark.parametrize(
    ("map_area", "matrix", "error", "words"),
    [
        ([1, 2], [[1, 2, 3], [1, 2, 3]], InvalidInputError, "shape"),
        ([1, 2], [[5, -1], [1, 5]], InvalidInputError, ">= 0"),
        ([1, 2], [[5, 1.5], [1, 5]], InvalidInputError, "whole numbers"),
        ([-1, 2], [[5, 1], [1, 5]], InvalidInputError, "map_area"),
        ([0, 0], [[5, 1], [1, 5]], InvalidInputError, "not all 0"),
        ([10, 20], [[1, 0], [1, 5]], EstimationError, "at least 2"),
        ([10, 20], [[0, 0], [1, 5]], EstimationError, "at least 2"),
    ],
)
def test_bad_input_is_named(map_area, matrix, error, words):
    with pytest.raises(error, match=words):
        stratified_area_estimate(map_area, matrix)


def test_bad_confidence_and_mismatched_labels():
    with pytest.raises(InvalidInputError, match="confidence"):
        stratified_area_estimate([1, 2], [[5, 1], [1, 5]], confidence=95)
    matrix = pd.DataFrame([[5, 1], [1, 5]], index=["a", "b"], columns=["b", "a"])
    with pytest.raises(InvalidInputError, match="same order"):
        stratified_area_estimate([1, 2], matrix)


def test_unbiased_over_repeated_samples():
    """Independent check by simulation: mean estimate ≈ true area; coverage ≈ 95%."""
    rng = np.random.default_rng(7)
    map_area = np.array([500.0, 9500.0])
    true_p = np.array([[0.8, 0.2], [0.02, 0.98]])  # class-1 share within each stratum
    truth = map_area @ true_p[:, 0]
    estimates, covered = [], 0
    for _ in range(400):
        counts = np.stack([rng.multinomial(100, true_p[0]), rng.multinomial(200, true_p[1])])
        est = stratified_area_estimate(map_area, counts)
        estimates.append(est.area[0])
        covered += abs(est.area[0] - truth) <= est.area_ci[0]
    assert np.mean(estimates) == pytest.approx(truth, rel=0.02)
    assert 0.91 <= covered / 400 <= 0.98
