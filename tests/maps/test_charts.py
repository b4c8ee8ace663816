"""Chart data and files."""

from __future__ import annotations

import pandas as pd
from PIL import Image

from maps.charts import district_chart, programme_series
from tests.maps.builders import make_districts, make_estimates


def test_programme_series_joins_history_and_current_once_per_year():
    districts = make_districts(3, 1)
    current = make_estimates(districts, 2025)
    history = pd.concat(
        [make_estimates(districts, 2024, scale=2.0), current.assign(area_ha=-1.0)]  # stale 2025
    )
    change = pd.DataFrame(
        {"programme_id": ["P1", "P1"], "district_id": ["D002", "D002"],
         "crop": ["opium_poppy", "opium_poppy"], "baseline_year": [2023, 2023],
         "baseline_ha": [40.0, 40.0]}
    )  # fmt: skip
    series = programme_series(change, history, current)
    assert series[["programme_id", "district_id", "crop"]].drop_duplicates().shape[0] == 1
    # D002 poppy: 2024 = 2 x 20 ha; 2025 = 20 ha from this run, not the stale stored row
    assert series["year"].tolist() == [2024, 2025]
    assert series["area_ha"].tolist() == [40.0, 20.0]


def test_district_chart_keeps_the_largest_and_says_so(tmp_path):
    estimates = make_estimates(make_districts(8, 5), 2025)  # 40 districts
    png = district_chart(estimates, "opium_poppy", tmp_path / "c.png", year=2025, top=30)
    with Image.open(png) as image:
        assert image.text["Title"] == (
            "Opium poppy 2025: estimated area per district (ha, 95% interval) – largest 30 of 40"
        )
