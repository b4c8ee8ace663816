"""District metrics and colour classes, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from core.errors import InvalidInputError
from maps.layers import METRICS, ColourScale, colour_scale, district_table
from tests.maps.builders import make_districts, make_estimates, make_run_inputs

AREA, DENSITY, CHANGE = METRICS


def test_density_is_hectares_over_district_area():
    districts = make_districts(3, 2)  # 2 km x 2 km = 4 km² each
    table = district_table(districts, make_estimates(districts, 2025))
    assert table["area_km2"].tolist() == pytest.approx([4.0] * 6)
    # poppy D00k = 10k ha, cannabis 2k ha
    assert table["opium_poppy_ha_per_km2"].tolist() == pytest.approx([2.5, 5, 7.5, 10, 12.5, 15])
    assert table["cannabis_ha_per_km2"].tolist() == pytest.approx([0.5, 1, 1.5, 2, 2.5, 3])
    assert table["opium_poppy_n_reference"].tolist() == [21, 22, 23, 24, 25, 26]
    assert table["opium_poppy_change_ha"].isna().all()


def test_change_comes_from_programme_change_per_district(tmp_path):
    inputs = make_run_inputs(tmp_path)
    table = district_table(
        inputs.districts, inputs.estimates, programme_change=inputs.programme_change
    ).set_index("district_id")
    # builders: baseline = 1.5 x current poppy, so change = -0.5 x 10k ha
    assert table.loc["D001", "opium_poppy_change_ha"] == pytest.approx(-5)
    assert table.loc["D005", "opium_poppy_change_ha"] == pytest.approx(-25)
    assert table.loc["D005", "opium_poppy_change_ci_low_ha"] == pytest.approx(-30)
    assert table.loc["D005", "opium_poppy_baseline_year"] == 2024
    assert math.isnan(table.loc["D003", "opium_poppy_change_ha"])
    assert table["cannabis_change_ha"].isna().all()


def test_change_from_history_uses_earliest_year_and_both_errors():
    districts = make_districts(2, 1)
    current = make_estimates(districts, 2025)
    history = pd.concat(
        [make_estimates(districts, 2023, scale=1.5), make_estimates(districts, 2024, scale=3.0)]
    )
    table = district_table(districts, current, history=history).set_index("district_id")
    # D002 poppy: 2025 20 ha (se 2); baseline 2023 30 ha (se 3): change -10 ± 1.96 sqrt(4 + 9)
    half = 1.96 * math.sqrt(13)
    assert table.loc["D002", "opium_poppy_change_ha"] == pytest.approx(-10)
    assert table.loc["D002", "opium_poppy_change_ci_low_ha"] == pytest.approx(-10 - half)
    assert table.loc["D002", "opium_poppy_change_ci_high_ha"] == pytest.approx(-10 + half)
    assert table.loc["D002", "opium_poppy_baseline_year"] == 2023


def test_unknown_district_and_missing_column_are_named():
    districts = make_districts(2, 1)
    estimates = make_estimates(districts, 2025)
    with pytest.raises(InvalidInputError, match=r"\['D002'\] not in the district layer"):
        district_table(districts.iloc[:1], estimates)
    with pytest.raises(InvalidInputError, match="ci_low_ha"):
        district_table(districts, estimates.drop(columns="ci_low_ha"))


def test_sequential_classes_are_quantiles_from_zero():
    scale = colour_scale(pd.Series([10, 20, 30, 40, 50, 60, np.nan]), AREA)
    # quantiles of 10..60 at 20/40/60/80 % are 20, 30, 40, 50; top 60 already 2 significant digits
    assert scale.breaks == (0, 20, 30, 40, 50, 60)
    assert scale.classify([0, 10, 20, 59.9, 60, np.nan]).tolist() == [0, 0, 1, 4, 4, -1]
    assert scale.labels() == ["0 – 20", "20 – 30", "30 – 40", "40 – 50", "50 – 60"]
    assert colour_scale(pd.Series([10_400.0]), AREA).breaks[-1] == 11_000


def test_diverging_classes_are_symmetric_with_neutral_middle():
    scale = colour_scale(pd.Series([-25.0, 10.0]), CHANGE)
    assert scale.breaks == pytest.approx((-25, -15, -5, 5, 15, 25))
    assert scale.classify([-25, -6, 0, 10, 25]).tolist() == [0, 1, 2, 3, 4]
    red, green, blue = to_rgb(scale.colours[2])
    assert min(red, green, blue) > 0.95  # RdBu_r at 0.5 is near-white
    assert to_rgb(scale.colours[0])[2] > to_rgb(scale.colours[0])[0]  # decrease: blue
    assert to_rgb(scale.colours[4])[0] > to_rgb(scale.colours[4])[2]  # increase: red


def test_all_zero_values_get_one_class():
    scale = colour_scale(pd.Series([0.0, 0.0]), DENSITY)
    assert isinstance(scale, ColourScale) and scale.breaks == (0.0, 1.0)
    assert scale.classify([0.0]).tolist() == [0]
