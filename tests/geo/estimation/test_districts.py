"""District and regional estimates: hand-computed numbers, the fallback and bad samples."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from core.errors import InvalidInputError
from geo.estimation import district_estimates, region_estimate, stratified_area_estimate

CONTRACT_COLUMNS = [
    "district_id", "district_name", "year", "crop", "area_ha", "ci_low_ha", "ci_high_ha",
    "method", "n_reference",
]  # fmt: skip


def map_area_table(areas: dict[str, dict[int, float]]) -> pd.DataFrame:
    rows = [(z, c, a) for z, by_class in areas.items() for c, a in by_class.items()]
    return pd.DataFrame(rows, columns=["district_id", "class", "area_ha"])


def sample_table(cells: dict[tuple[str, int, str], int]) -> pd.DataFrame:
    """Build a labelled sample from {(district, map_class, reference_class): count}."""
    rows = [(z, m, r) for (z, m, r), n in cells.items() for _ in range(n)]
    sample = pd.DataFrame(rows, columns=["district_id", "map_class", "reference_class"])
    sample.insert(0, "sample_id", np.arange(1, len(sample) + 1))
    return sample


ZONES = pd.DataFrame({"district_id": ["D01", "D02"], "district_name": ["Hopang", "Mongla"]})
AREAS = map_area_table({"D01": {1: 50.0, 3: 950.0}, "D02": {1: 20.0, 3: 1980.0}})
SAMPLE = sample_table({
    ("D01", 1, "opium_poppy"): 16, ("D01", 1, "other_crops"): 4,
    ("D01", 3, "opium_poppy"): 2, ("D01", 3, "other_crops"): 38,
    ("D02", 1, "opium_poppy"): 10, ("D02", 1, "other_crops"): 10,
    ("D02", 3, "opium_poppy"): 1, ("D02", 3, "other_crops"): 49,
})  # fmt: skip


def test_stratified_district_rows_by_hand():
    table = district_estimates(AREAS, SAMPLE, ZONES, year=2025, crops=("opium_poppy",),
                               variance="design", interval="normal")  # fmt: skip
    assert list(table.columns[:9]) == CONTRACT_COLUMNS
    d01 = table.set_index("district_id").loc["D01"]
    # D01 poppy = 50*16/20 + 950*2/40 = 40 + 47.5 = 87.5 ha
    assert d01["area_ha"] == pytest.approx(87.5)
    var = 50**2 * 0.8 * 0.2 / 19 + 950**2 * 0.05 * 0.95 / 39
    assert d01["se_ha"] == pytest.approx(np.sqrt(var))
    assert d01["ci_high_ha"] == pytest.approx(87.5 + 1.959964 * np.sqrt(var), rel=1e-6)
    assert d01["ci_low_ha"] == pytest.approx(max(0.0, 87.5 - 1.959964 * np.sqrt(var)), rel=1e-6)
    assert d01["method"] == "stratified"
    assert d01["n_reference"] == 60
    assert d01["district_name"] == "Hopang"
    assert d01["map_area_ha"] == 50.0
    assert d01["users_accuracy"] == pytest.approx(0.8)
    assert d01["producers_accuracy"] == pytest.approx(40 / 87.5)
    assert d01["year"] == 2025
    # independent path: the general estimator on D02's own matrix
    d02 = table.set_index("district_id").loc["D02"]
    own = stratified_area_estimate([20.0, 1980.0], [[10, 10], [1, 49]])
    assert d02["area_ha"] == pytest.approx(own.area[0])
    assert d02["se_ha"] == pytest.approx(own.area_se[0])


def test_default_rows_publish_the_design_se():
    table = district_estimates(AREAS, SAMPLE, ZONES, year=2025, crops=("opium_poppy",))
    design = district_estimates(AREAS, SAMPLE, ZONES, year=2025, crops=("opium_poppy",),
                                variance="design_unseen")  # fmt: skip
    pd.testing.assert_frame_equal(table, design)
    d01 = table.set_index("district_id").loc["D01"]
    assert d01["se_ha"] == pytest.approx(np.sqrt(50**2 * 0.16 / 19 + 950**2 * 0.0475 / 39))
    assert d01["unseen_se_ha"] == 0.0  # both strata saw poppy: the design interval
    normal = district_estimates(AREAS, SAMPLE, ZONES, year=2025, crops=("opium_poppy",),
                                interval="normal").set_index("district_id").loc["D01"]  # fmt: skip
    assert normal["se_ha"] == d01["se_ha"]  # the interval method leaves se_ha alone
    assert normal["ci_high_ha"] == pytest.approx(87.5 + 1.959964 * d01["se_ha"], rel=1e-6)


def test_lower_bound_is_clipped_at_zero():
    areas = map_area_table({"D01": {1: 1.0, 3: 9999.0}})
    cells = {("D01", 1, "other_crops"): 9, ("D01", 1, "opium_poppy"): 1}
    cells |= {("D01", 3, "opium_poppy"): 1, ("D01", 3, "other_crops"): 99}
    sample = sample_table(cells)
    row = district_estimates(areas, sample, None, year=2025, crops=("opium_poppy",),
                             interval="normal").iloc[0]  # fmt: skip
    assert row["area_ha"] - 1.96 * row["se_ha"] < 0
    assert row["ci_low_ha"] == 0.0
    assert row["district_name"] == "D01"  # no names given: the id


def test_region_row_sums_districts_when_all_strata_are_own():
    region = region_estimate(AREAS, SAMPLE, ZONES, year=2025, crops=("opium_poppy",)).iloc[0]
    table = district_estimates(AREAS, SAMPLE, ZONES, year=2025, crops=("opium_poppy",))
    assert region["se_ha"] > 0
    assert region["district_id"] == "ALL"
    assert region["area_ha"] == pytest.approx(table["area_ha"].sum())
    assert region["se_ha"] == pytest.approx(np.sqrt((table["se_ha"] ** 2).sum()))
    assert region["n_reference"] == len(SAMPLE)
    assert region["method"] == "stratified"


def test_thin_stratum_falls_back_to_regional_allocation(caplog):
    areas = map_area_table({"D01": {1: 50.0, 3: 950.0}, "D02": {1: 20.0, 3: 1980.0},
                            "D03": {1: 30.0, 3: 970.0}})  # fmt: skip
    thin = pd.concat([SAMPLE, sample_table({("D03", 1, "opium_poppy"): 1,
                                            ("D03", 3, "other_crops"): 30})])  # fmt: skip
    with caplog.at_level(logging.WARNING):
        table = district_estimates(areas, thin, None, year=2025, crops=("opium_poppy",),
                                   variance="design")  # fmt: skip
    d03 = table.set_index("district_id").loc["D03"]
    assert d03["method"] == "regional_allocation"
    assert "opium_poppy" in d03["note"] and "D03" in caplog.text
    assert d03["borrowed_area_ha"] == 30.0
    # poppy stratum borrows the pooled regional proportion 27/41 (16+10+1 of 20+20+1), with
    # the larger of the pooled and between-district variances (D01 0.8, D02 0.5)
    p_region = 27 / 41
    var_between = np.var([0.8, 0.5], ddof=1)
    var_pooled = p_region * (1 - p_region) / 40
    assert d03["area_ha"] == pytest.approx(30 * p_region + 0.0)
    assert d03["se_ha"] == pytest.approx(30 * np.sqrt(max(var_between, var_pooled)))
    assert var_between > var_pooled  # the interval is wider than the pooled one
    assert d03["ci_high_ha"] > d03["area_ha"] > 0


def test_sliver_strata_without_samples_keep_the_stratified_method():
    areas = map_area_table({"D01": {1: 50.0, 3: 950.0, 4: 0.4}, "D02": {1: 20.0, 3: 1980.0}})
    sample = pd.concat([SAMPLE, sample_table({("D02", 4, "forest"): 5})])
    row = district_estimates(areas, sample, None, year=2025, crops=("opium_poppy",)).iloc[0]
    assert row["method"] == "stratified"  # 0.4 ha of 1000 ha borrowed: below 1%
    assert row["borrowed_area_ha"] == pytest.approx(0.4)
    assert "forest" in row["note"]


def test_no_reference_for_a_needed_class_is_not_estimable():
    areas = map_area_table({"D01": {1: 50.0, 3: 950.0, 5: 300.0}})
    sample = sample_table({("D01", 1, "opium_poppy"): 5, ("D01", 3, "other_crops"): 5})
    row = district_estimates(areas, sample, None, year=2025, crops=("opium_poppy",)).iloc[0]
    assert row["method"] == "not_estimable"
    assert np.isnan(row["area_ha"]) and "fallow_bare" in row["note"]


def test_codes_or_names_and_census_strata():
    sample = SAMPLE.copy()
    sample["reference_class"] = sample["reference_class"].map({"opium_poppy": 1, "other_crops": 3})
    by_code = district_estimates(AREAS, sample, ZONES, year=2025, crops=("opium_poppy",))
    by_name = district_estimates(AREAS, SAMPLE, ZONES, year=2025, crops=("opium_poppy",))
    pd.testing.assert_frame_equal(by_code, by_name)
    # a stratum of 1 pixel, sampled whole, is a census: estimated on its own, no variance
    areas = map_area_table({"D01": {1: 0.01, 3: 99.99}})
    census = sample_table({("D01", 1, "opium_poppy"): 1, ("D01", 3, "other_crops"): 30})
    census["stratum_pixels"] = np.where(census["map_class"] == 1, 1, 9999)
    row = district_estimates(areas, census, None, year=2025, crops=("opium_poppy",)).iloc[0]
    assert row["method"] == "stratified" and row["area_ha"] == pytest.approx(0.01)
    assert row["se_ha"] == 0.0


def test_reference_class_the_map_never_predicts():
    sample = pd.concat([SAMPLE, sample_table({("D01", 3, "cannabis"): 2})])
    table = district_estimates(AREAS, sample, ZONES, year=2025)
    cannabis = table[table["crop"] == "cannabis"].set_index("district_id")
    assert cannabis.loc["D01", "area_ha"] == pytest.approx(950 * 2 / 42)
    assert cannabis.loc["D01", "map_area_ha"] == 0.0
    assert cannabis.loc["D02", "area_ha"] == 0.0 and cannabis.loc["D02", "method"] == "stratified"


def test_crop_neither_mapped_nor_seen_is_an_explicit_zero():
    table = district_estimates(AREAS, SAMPLE, ZONES, year=2025, crops=("cannabis",))
    assert (table["area_ha"] == 0).all() and (table["se_ha"] == 0).all()
    assert (table["method"] == "stratified").all() and (table["map_area_ha"] == 0).all()


def test_bad_samples_are_named(caplog):
    bad = SAMPLE.copy()
    bad.loc[3, "reference_class"] = "poppy"
    with pytest.raises(InvalidInputError, match="reference sample 4: reference_class 'poppy'"):
        district_estimates(AREAS, bad, ZONES, year=2025)
    stray = SAMPLE.copy()
    stray.loc[0, "district_id"] = "D99"
    with pytest.raises(InvalidInputError, match="D99"):
        district_estimates(AREAS, stray, ZONES, year=2025)
    with pytest.raises(InvalidInputError, match="reference_class"):
        district_estimates(AREAS, SAMPLE.drop(columns="reference_class"), ZONES, year=2025)
    outside = pd.concat([SAMPLE, SAMPLE.head(2).assign(district_id=None)])
    with caplog.at_level(logging.WARNING):
        table = district_estimates(AREAS, outside, ZONES, year=2025, crops=("opium_poppy",))
    assert "2 reference samples lie outside every district" in caplog.text
    assert table["n_reference"].sum() == len(SAMPLE)
