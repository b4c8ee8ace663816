"""The public eradication table never shows a district figure that is one field plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import maps
from core.errors import InvalidInputError
from core.io import write_table
from maps.public import PLOT_FIGURES, SHARE_FIGURES, PublicPolicy, suppress_few_plots
from tests.maps.builders import make_run_inputs


def _eradication(rows: list[tuple[str, int, int, str]]) -> pd.DataFrame:
    """Rows (district, plots surveyed, of them eradicated, share source); 0.3 ha a plot."""
    table = []
    for district, n, e, source in rows:
        share = e / n if source == "district" else 0.107
        table.append(
            {
                "district_id": district, "crop": "opium_poppy", "surveyed_plots": n,
                "surveyed_ha": 0.3 * n, "eradicated_plots": e, "recorded_eradicated_ha": 0.3 * e,
                "eradicated_share": share, "share_se": 0.05, "share_source": source,
                "cultivation_ha": 10.0, "eradicated_ha": 10.0 * share,
                "eradicated_ci_low_ha": 0.0, "eradicated_ci_high_ha": 10.0 * share + 1,
                "remaining_ha": 10.0 * (1 - share), "remaining_se_ha": 0.5, "note": "",
            }
        )  # fmt: skip
    return pd.DataFrame(table)


ROWS = [
    ("D1", 1, 0, "regional"),  # one plot: its area and status would be published
    ("D2", 1, 1, "regional"),  # one plot, eradicated
    ("D3", 9, 4, "district"),  # enough plots each way
    ("D4", 6, 1, "district"),  # one eradicated plot: recorded hectares = its area
    ("D5", 4, 3, "district"),  # one standing plot: surveyed - eradicated = its area
    ("D6", 0, 0, "regional"),  # nothing surveyed
    ("D7", 2, 1, "district"),  # a share of two plots
    ("D8", 5, 0, "district"),  # none eradicated among five
]


def test_district_figures_of_too_few_plots_are_withheld():
    table = _eradication(ROWS)
    public = suppress_few_plots(table, 3)
    for (district, n, e, source), (_, row), (_, given) in zip(
        ROWS, public.iterrows(), table.iterrows(), strict=True
    ):
        # the rule, worked out independently: every non-empty group of plots >= 3
        groups = [g for g in (n, e, n - e) if g > 0]
        hidden = n > 0 and any(g < 3 for g in groups)
        for column in PLOT_FIGURES:
            assert pd.isna(row[column]) == hidden, (district, column)
            if not hidden:
                assert row[column] == given[column]
        thin = source == "district" and n < 3
        for column in SHARE_FIGURES:
            assert pd.isna(row[column]) == thin, (district, column)
        assert ("not published" in row["note"]) == hidden
    assert public["cultivation_ha"].tolist() == table["cultivation_ha"].tolist()
    assert str(public["surveyed_plots"].dtype) == "Int64"  # counts stay counts
    # which districts: D1, D2, D4, D5, D7 withheld; D3, D6, D8 published
    withheld = public.loc[public["surveyed_ha"].isna(), "district_id"].tolist()
    assert withheld == ["D1", "D2", "D4", "D5", "D7"]


def test_policy_refuses_a_minimum_of_one_plot():
    with pytest.raises(InvalidInputError, match="min_plots"):
        PublicPolicy(min_plots=1)


def test_published_eradication_hides_the_single_plot(tmp_path):
    inputs = make_run_inputs(tmp_path / "workspace")
    restricted = _eradication(ROWS[:3])
    write_table(restricted, inputs.run_dir / "eradication.csv")
    maps.publish_run(inputs.run_dir, **inputs.kwargs())
    public = pd.read_csv(inputs.run_dir / "public" / "eradication.csv", dtype={"district_id": str})
    kept = pd.read_csv(inputs.run_dir / "eradication.csv", dtype={"district_id": str})
    assert kept["surveyed_ha"].round(6).tolist() == [0.3, 0.3, 2.7]  # the restricted set: all
    lines = (inputs.run_dir / "public" / "eradication.csv").read_text().splitlines()
    assert lines[3].startswith("D3,opium_poppy,9,2.7,4,")  # counts written as whole numbers
    by_id = public.set_index("district_id")
    assert by_id.loc[["D1", "D2"], list(PLOT_FIGURES)].isna().all().all()
    assert by_id.loc["D3", "surveyed_ha"] == pytest.approx(2.7)
    # the single plot's 0.3 ha appears nowhere in the public rows of D1 and D2
    single = public[public["district_id"].isin(["D1", "D2"])]
    numbers = single.select_dtypes("number").to_numpy(dtype=float)
    assert not np.isclose(numbers, 0.3).any()


def test_a_district_mean_yield_of_too_few_plots_is_withheld():
    from maps.public import YIELD_FIGURES, suppress_thin_yields

    rows = [("D1", 2, "district"), ("D2", 3, "district"), ("D3", 25, "regional"), ("D4", 0, "none")]
    production = pd.DataFrame(
        {
            "district_id": [r[0] for r in rows],
            "harvested_ha": [10.0, 20.0, 5.0, 1.0],
            "mean_yield_kg_ha": [15.0, 14.0, 15.2, np.nan],
            "yield_se_kg_ha": [1.0, 1.5, 3.0, np.nan],
            "n_yield_plots": [r[1] for r in rows],
            "yield_source": [r[2] for r in rows],
            "production_kg": [150.0, 280.0, 76.0, np.nan],
            "production_se_kg": [10.0, 30.0, 15.0, np.nan],
            "ci_low_kg": [130.0, 221.0, 47.0, np.nan],
            "ci_high_kg": [170.0, 339.0, 105.0, np.nan],
            "note": ["", "", "regional mean yield", ""],
        }
    )
    public = suppress_thin_yields(production, 3)
    thin = [source == "district" and n < 3 for _, n, source in rows]  # D1 only
    for column in YIELD_FIGURES:
        assert public[column].isna().tolist() == [
            t or bool(pd.isna(v)) for t, v in zip(thin, production[column], strict=True)
        ]
    kept = ~np.array(thin)
    pd.testing.assert_frame_equal(
        public.loc[kept, list(YIELD_FIGURES)], production.loc[kept, list(YIELD_FIGURES)]
    )
    assert (
        "not published" in public.loc[0, "note"] and public.loc[2, "note"] == "regional mean yield"
    )
    assert public["harvested_ha"].tolist() == production["harvested_ha"].tolist()


def test_a_row_without_an_area_estimate_does_not_publish_its_one_plot():
    """Plots outside every district (or in a district without an estimate) give
    ``eradicated_ha`` = the recorded plots' own area: a plot figure there."""
    import geopandas as gpd
    from shapely.geometry import box

    from geo.estimation import eradication_by_district

    plots = gpd.GeoDataFrame(
        {"crop": ["opium_poppy"] * 4, "status": ["eradicated", "standing", "standing", "standing"],
         "district_id": ["D9", "D1", "D1", "D1"], "measured_area_ha": [0.37, 0.2, 0.3, 0.4]},
        geometry=[box(0, 0, 1, 1)] * 4, crs="EPSG:32647",
    )  # fmt: skip
    table = eradication_by_district(plots, None, crops=["opium_poppy"])
    lone = table[table["district_id"] == "D9"].iloc[0]
    assert lone["method"] == "recorded_plots" and lone["eradicated_ha"] == pytest.approx(0.37)
    public = suppress_few_plots(table, 3).set_index("district_id")
    assert public[["eradicated_ha", "recorded_eradicated_ha"]].loc["D9"].isna().all()


def test_public_production_hides_the_harvest_that_gives_back_a_withheld_share():
    """harvested_ha is eradication's remaining_ha: cultivation − harvested = the withheld
    eradicated hectares, so it goes wherever the share does."""
    from maps.public import suppress_thin_yields

    eradication = suppress_few_plots(_eradication(ROWS), 3)
    production = pd.DataFrame({
        "district_id": [r[0] for r in ROWS], "crop": "opium_poppy",
        "harvested_ha": 10.0 * (1 - _eradication(ROWS)["eradicated_share"]),
        "harvested_se_ha": 0.5, "mean_yield_kg_ha": 9.0, "n_yield_plots": 20,
        "yield_source": "regional", "production_kg": 90.0, "note": "",
    })  # fmt: skip
    public = suppress_thin_yields(production, 3, eradication).set_index("district_id")
    hidden = set(eradication.loc[eradication["remaining_ha"].isna(), "district_id"])
    assert hidden == {"D7"}  # a district share of two plots
    for district in production["district_id"]:
        row = public.loc[district]
        assert pd.isna(row["harvested_ha"]) == (district in hidden), district
        assert pd.isna(row["production_kg"]) == (district in hidden), district
    assert suppress_thin_yields(production, 3)["harvested_ha"].notna().all()
