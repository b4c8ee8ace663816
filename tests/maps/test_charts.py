"""Chart data and files."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from maps.charts import (
    _programme_totals,
    district_chart,
    programme_chart,
    programme_district_series,
)
from tests.maps.builders import make_districts, make_estimates


def test_programme_district_series_joins_history_and_current_once_per_year():
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
    series = programme_district_series(change, history, current)
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


def _wide_programme(n_districts: int):
    districts = make_districts(n_districts, 1)
    history = make_estimates(districts, 2024)
    current = make_estimates(districts, 2025)
    ids = [*districts["district_id"], "ALL"]
    change = pd.DataFrame(
        [
            {"programme_id": "P1", "district_id": d, "crop": crop, "baseline_year": 2024,
             "baseline_ha": 100.0}
            for d in ids
            for crop in ("opium_poppy", "cannabis")
        ]
    )  # fmt: skip
    return change, programme_district_series(change, history, current)


def test_a_programme_over_many_districts_is_drawn_as_its_total(tmp_path):
    change, series = _wide_programme(30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a legend of 60 lines collapsed the panel
        png = programme_chart(change, series, tmp_path / "p.png", year=2025)
    assert png.exists()
    poppy = series[series["crop"] == "opium_poppy"]
    totals = _programme_totals(poppy, 30)
    assert totals["district_id"].unique().tolist() == ["ALL"]
    assert totals["year"].tolist() == [2024, 2025]
    # poppy of district k is 10k ha with a 95% half-width of 1.96 x 1k ha
    assert totals["area_ha"].tolist() == pytest.approx([10 * 465, 10 * 465])
    half = 1.96 * np.sqrt(sum(k**2 for k in range(1, 31)))
    assert (totals["ci_high_ha"] - totals["area_ha"]).tolist() == pytest.approx([half, half])


def test_a_year_missing_a_district_is_left_out_of_the_total():
    _, series = _wide_programme(6)
    poppy = series[series["crop"] == "opium_poppy"]
    gap = poppy.drop(poppy[(poppy["year"] == 2024)].index[:1])
    assert _programme_totals(gap, 6)["year"].tolist() == [2025]


LOCAL_NAMES = {
    "Myanmar": "ကျောက်တော",
    "Thai": "เชียงราย",
    "Khmer": "បាត់ដំបង",
    "Lao": "ຫຼວງພະບາງ",
    "Vietnamese": "Điện Biên Phủ",
}


def test_district_names_in_every_script_draw_without_missing_glyphs(tmp_path):
    import os

    from maps.fonts import installed_families
    from maps.static import choropleth_png

    families = installed_families()
    needed = {"Noto Sans Myanmar", "Noto Sans Thai", "Noto Sans Khmer", "Noto Sans Lao"}
    if not needed <= set(families):
        reason = f"Noto fonts missing ({sorted(needed - set(families))}): scripts/system-deps.sh"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    districts = make_districts(5, 1)
    districts["district_name"] = list(LOCAL_NAMES.values())
    estimates = make_estimates(districts, 2025)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = district_chart(estimates, "opium_poppy", tmp_path / "c.png", year=2025)
        from maps.layers import METRICS, colour_scale, district_table

        table = district_table(districts, estimates)
        metric = METRICS[0]
        choropleth_png(
            table,
            "opium_poppy",
            metric,
            colour_scale(table["opium_poppy_area_ha"], metric),
            tmp_path / "m.png",
            year=2025,
            run_id="r1",
        )
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    with Image.open(png) as image:
        assert image.size[0] > 0


def test_district_labels_only_where_the_name_fits():
    import matplotlib.pyplot as plt

    from maps.static import label_districts

    for districts, expected in ((make_districts(3, 2), 6), (make_districts(40, 26, 1_000.0), 0)):
        fig, ax = plt.subplots(figsize=(9, 6))
        districts.plot(ax=ax)
        ax.set_aspect("equal")
        fig.canvas.draw()
        assert label_districts(ax, districts) == expected
        plt.close(fig)


def test_district_names_with_dollar_signs_are_drawn_as_written_not_as_tex(tmp_path):
    import io

    import matplotlib.pyplot as plt

    from maps.static import label_districts

    names = [r"Pay $\frac$ here", "$5 to $10", "Kunar"]
    districts = make_districts(3, 1)
    districts["district_name"] = names
    fig, ax = plt.subplots(figsize=(9, 6))
    districts.plot(ax=ax)
    ax.set_aspect("equal")
    fig.canvas.draw()
    assert label_districts(ax, districts) == 3
    fig.savefig(io.BytesIO(), format="png")  # mathtext would fail on the first name
    assert sorted(t.get_text() for t in ax.texts) == sorted(names)
    plt.close(fig)
    estimates = make_estimates(districts, 2025)
    png = district_chart(estimates, "opium_poppy", tmp_path / "c.png", year=2025)
    with Image.open(png) as image:
        assert image.size[0] > 0
