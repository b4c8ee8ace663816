"""Eradication and production per district from survey plots, checked by hand."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import Point, box

from core.errors import InvalidInputError
from geo.estimation import eradication_by_district, production_estimates

UTM = "EPSG:32647"
# two districts side by side in UTM 47N around 20.2 N, 97.9 E (plots arrive in EPSG:4326)
ZONES = gpd.GeoDataFrame(
    {"district_id": ["D01", "D02"], "district_name": ["Hopang", "Mongla"]},
    geometry=[box(380_000, 2_230_000, 390_000, 2_240_000),
              box(390_000, 2_230_000, 400_000, 2_240_000)],
    crs=UTM,
)  # fmt: skip


def plot(x, y, crop, status, area_ha=None, yield_kg_ha=None, size_m=50.0, plot_id=None):
    return {"plot_id": plot_id, "crop": crop, "status": status, "measured_area_ha": area_ha,
            "yield_kg_ha": yield_kg_ha, "geometry": box(x, y, x + size_m, y + size_m)}  # fmt: skip


def plots_frame(rows) -> gpd.GeoDataFrame:
    for k, row in enumerate(rows):
        row["plot_id"] = row["plot_id"] or f"P{k + 1:03d}"
    return gpd.GeoDataFrame(rows, crs=UTM).to_crs("EPSG:4326")


PLOTS = plots_frame([
    plot(381_000, 2_231_000, "opium_poppy", "cultivated", 0.4, 12.0),
    plot(382_000, 2_231_000, "opium_poppy", "eradicated", 0.6),
    plot(383_000, 2_231_000, "opium_poppy", "cultivated", 0.5, 16.0),
    plot(384_000, 2_231_000, "opium_poppy", "cultivated", 0.5),
    plot(391_000, 2_231_000, "opium_poppy", "cultivated", 0.3, 20.0),
    plot(392_000, 2_231_000, "opium_poppy", "eradicated", 0.7),
    plot(393_000, 2_231_000, "cannabis", "cultivated", 0.2),
])  # fmt: skip

ESTIMATES = pd.DataFrame({
    "district_id": ["D01", "D02"], "district_name": ["Hopang", "Mongla"], "year": [2025, 2025],
    "crop": ["opium_poppy", "opium_poppy"], "area_ha": [40.0, 10.0], "se_ha": [5.0, 2.0],
})  # fmt: skip


def test_recorded_eradication_and_share_by_hand():
    table = eradication_by_district(PLOTS, ZONES, "district_id", crops=("opium_poppy",))
    d01 = table.set_index("district_id").loc["D01"]
    assert d01["surveyed_plots"] == 4 and d01["eradicated_plots"] == 1
    assert d01["recorded_eradicated_ha"] == pytest.approx(0.6)
    assert d01["surveyed_ha"] == pytest.approx(2.0)
    assert d01["method"] == "recorded_plots" and "lower bound" in d01["note"]
    # ratio estimator: r = 0.6 / 2.0; residuals e_i - r a_i
    area, erad = np.array([0.4, 0.6, 0.5, 0.5]), np.array([0, 0.6, 0, 0])
    resid = erad - 0.3 * area
    assert d01["eradicated_share"] == pytest.approx(0.3)
    ratio_se = np.sqrt(resid.var(ddof=1) / 4) / area.mean()
    # Wilson on 1 of 4 plots, by the closed form: (p + z²/2n ± z√(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    z, p, n = 1.959964, 0.25, 4
    centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    high = (centre + half) / (1 + z * z / n)
    low = (centre - half) / (1 + z * z / n)
    assert max(high - 0.3, 0.3 - low) < ratio_se * z  # here the ratio SE is the wider
    assert d01["share_se"] == pytest.approx(ratio_se)
    assert d01["share_method"] == "ratio"


def test_cultivation_before_and_after_eradication():
    table = eradication_by_district(PLOTS, ZONES, "district_id", estimates=ESTIMATES,
                                    crops=("opium_poppy",))  # fmt: skip
    d01 = table.set_index("district_id").loc["D01"]
    share, share_se = d01["eradicated_share"], d01["share_se"]
    assert d01["cultivation_ha"] == 40.0
    assert d01["eradicated_ha"] == pytest.approx(40 * 0.3)
    assert d01["remaining_ha"] == pytest.approx(40 * 0.7)
    var = 0.3**2 * 25 + 40**2 * share_se**2 + 25 * share_se**2  # Goodman
    assert d01["eradicated_ci_high_ha"] == pytest.approx(12 + 1.959964 * np.sqrt(var), rel=1e-6)
    var_remaining = 0.7**2 * 25 + 40**2 * share_se**2 + 25 * share_se**2
    assert d01["remaining_se_ha"] == pytest.approx(np.sqrt(var_remaining))
    assert d01["method"] == "area_x_surveyed_share"
    assert share == pytest.approx(0.3) and share_se > 0


def test_no_eradicated_plot_seen_is_never_zero_zero():
    # D01: four poppy plots, none eradicated; D02 as in PLOTS
    rows = [plot(381_000 + 1000 * k, 2_231_000, "opium_poppy", "cultivated", 0.5) for k in range(4)]
    rows += [plot(391_000, 2_231_000, "opium_poppy", "cultivated", 0.3),
             plot(392_000, 2_231_000, "opium_poppy", "eradicated", 0.7)]  # fmt: skip
    table = eradication_by_district(plots_frame(rows), ZONES, "district_id", estimates=ESTIMATES,
                                    crops=("opium_poppy",))  # fmt: skip
    d01 = table.set_index("district_id").loc["D01"]
    assert d01["eradicated_share"] == 0.0 and d01["share_method"] == "wilson_none_seen"
    z, n = 1.959964, 4
    upper = z * z / (n + z * z)  # Wilson upper bound with 0 of n seen
    assert d01["share_se"] == pytest.approx(upper / z, rel=1e-6)
    # eradicated = 40 ha x 0: the interval reaches about 40 x upper (plus the area's own SE)
    expected_high = z * np.sqrt((40**2 + 25) * (upper / z) ** 2)
    assert d01["eradicated_ha"] == 0.0 and d01["eradicated_ci_low_ha"] == 0.0
    assert d01["eradicated_ci_high_ha"] == pytest.approx(expected_high, rel=1e-6)
    assert d01["eradicated_ci_high_ha"] > 0.4 * 40
    assert "no surveyed plot eradicated" in d01["note"]


def test_borrowed_share_adds_the_between_district_spread():
    rows = [plot(381_000, 2_231_000, "opium_poppy", "eradicated", 0.5),
            plot(382_000, 2_231_000, "opium_poppy", "cultivated", 0.5),
            plot(391_000, 2_231_000, "opium_poppy", "cultivated", 0.5),
            plot(392_000, 2_231_000, "opium_poppy", "cultivated", 0.5),
            plot(393_000, 2_231_000, "opium_poppy", "cultivated", 0.5)]  # fmt: skip
    three = gpd.GeoDataFrame(
        {"district_id": ["D01", "D02", "D03"]},
        geometry=[*ZONES.geometry, box(400_000, 2_230_000, 410_000, 2_240_000)], crs=UTM,
    )  # fmt: skip
    table = eradication_by_district(plots_frame(rows), three, "district_id",
                                    crops=("opium_poppy",)).set_index("district_id")  # fmt: skip
    d03 = table.loc["D03"]
    assert d03["share_source"] == "regional" and d03["share_method"] == "regional_wilson"
    z, p, n = 1.959964, 0.2, 5
    centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    wilson_se = max((centre + half) / (1 + z * z / n) - p, p - (centre - half) / (1 + z * z / n))
    spread = np.var([0.5, 0.0], ddof=1)  # D01 0.5, D02 0.0
    assert d03["eradicated_share"] == pytest.approx(0.2)
    assert d03["share_se"] == pytest.approx(np.sqrt((wilson_se / z) ** 2 + spread), rel=1e-6)


def test_plot_area_from_geodesic_polygon_when_not_measured():
    rows = [plot(381_000, 2_231_000, "opium_poppy", "eradicated", None, size_m=100.0),
            plot(382_000, 2_231_000, "opium_poppy", "cultivated", None, size_m=100.0)]  # fmt: skip
    plots = plots_frame(rows)
    table = eradication_by_district(plots, ZONES, "district_id", crops=("opium_poppy",))
    lons, lats = plots.geometry.iloc[0].exterior.coords.xy
    geodesic_ha = abs(Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)[0]) / 1e4
    d01 = table.set_index("district_id").loc["D01"]
    assert d01["recorded_eradicated_ha"] == pytest.approx(geodesic_ha, rel=1e-9)
    assert geodesic_ha == pytest.approx(1.0, rel=0.01)  # 100 m x 100 m, UTM scale ~0.9996


def test_plots_outside_districts_get_their_own_row(caplog):
    stray = plots_frame([plot(500_000, 2_231_000, "opium_poppy", "eradicated", 0.5,
                              plot_id="FAR-1")])  # fmt: skip
    plots = pd.concat([PLOTS, stray], ignore_index=True)
    with caplog.at_level(logging.WARNING):
        table = eradication_by_district(plots, ZONES, "district_id", crops=("opium_poppy",))
    assert "FAR-1" in caplog.text
    outside = table.set_index("district_id").loc["OUTSIDE"]
    assert outside["recorded_eradicated_ha"] == pytest.approx(0.5)
    assert set(table["district_id"]) == {"D01", "D02", "OUTSIDE"}


def test_thin_district_uses_the_regional_share():
    table = eradication_by_district(PLOTS, ZONES, "district_id", crops=("cannabis",))
    d02 = table.set_index("district_id").loc["D02"]
    assert d02["surveyed_plots"] == 1 and d02["share_source"] == "regional"
    assert d02["share_method"] == "regional_wilson_none_seen" and d02["share_se"] > 0
    d01 = table.set_index("district_id").loc["D01"]
    assert d01["surveyed_plots"] == 0 and d01["recorded_eradicated_ha"] == 0.0


def test_production_district_and_regional_yield_by_hand():
    table = production_estimates(ESTIMATES, PLOTS, zones=ZONES).set_index("district_id")
    d01 = table.loc["D01"]
    # D01 yields 12 and 16 (eradicated and unmeasured plots excluded)
    assert d01["yield_source"] == "district" and d01["n_yield_plots"] == 2
    assert d01["mean_yield_kg_ha"] == pytest.approx(14.0)
    yield_var = np.var([12.0, 16.0], ddof=1) / 2
    assert d01["production_kg"] == pytest.approx(40 * 14)
    var = 14**2 * 25 + 40**2 * yield_var + 25 * yield_var
    assert d01["production_se_kg"] == pytest.approx(np.sqrt(var))
    assert d01["ci_low_kg"] == pytest.approx(560 - 1.959964 * np.sqrt(var), rel=1e-6)
    assert "eradication not deducted" in d01["note"]
    # D02 has one yield plot: the regional mean of 12, 16, 20 with the between-district spread
    d02 = table.loc["D02"]
    assert d02["yield_source"] == "regional"
    assert d02["mean_yield_kg_ha"] == pytest.approx(16.0)
    assert d02["yield_se_kg_ha"] == pytest.approx(np.sqrt(np.var([12, 16, 20], ddof=1) / 3))


def test_production_after_eradication_and_without_yields():
    eradication = eradication_by_district(PLOTS, ZONES, "district_id", estimates=ESTIMATES,
                                          crops=("opium_poppy",))  # fmt: skip
    table = production_estimates(ESTIMATES, PLOTS, zones=ZONES, eradication=eradication)
    d01 = table.set_index("district_id").loc["D01"]
    assert d01["harvested_ha"] == pytest.approx(28.0)
    assert d01["production_kg"] == pytest.approx(28.0 * 14.0)
    no_yield = PLOTS.assign(yield_kg_ha=np.nan)
    table = production_estimates(ESTIMATES, no_yield, zones=ZONES)
    assert (table["yield_source"] == "none").all()
    assert table["production_kg"].isna().all()
    assert table["note"].str.contains("no yield measurements").all()


def test_capsule_conversion_only_when_given():
    capsules = PLOTS.assign(yield_kg_ha=np.nan, capsules_per_m2=[20, np.nan, 30, 25, 10, np.nan, 5],
                            capsule_volume_cm3=[10, np.nan, 12, 8, 9, np.nan, 4])  # fmt: skip
    untouched = production_estimates(ESTIMATES, capsules, zones=ZONES)
    assert (untouched["yield_source"] == "none").all()
    assert untouched["note"].str.contains("no capsule_yield conversion").all()
    converted = production_estimates(ESTIMATES, capsules, zones=ZONES,
                                     capsule_yield=lambda n, v: 0.05 * n * v)  # fmt: skip
    d01 = converted.set_index("district_id").loc["D01"]
    # D01 harvested plots with capsules: 0.05*20*10 = 10, 0.05*30*12 = 18, 0.05*25*8 = 10
    assert d01["mean_yield_kg_ha"] == pytest.approx(np.mean([10.0, 18.0, 10.0]))


def test_plots_need_crop_and_status():
    with pytest.raises(InvalidInputError, match="'status'"):
        eradication_by_district(PLOTS.drop(columns="status"), ZONES, "district_id")
    points = gpd.GeoDataFrame({"crop": ["opium_poppy"], "status": ["eradicated"]},
                              geometry=[Point(97.9, 20.2)], crs="EPSG:4326")  # fmt: skip
    table = eradication_by_district(points, ZONES, "district_id", crops=("opium_poppy",))
    assert table["surveyed_plots"].sum() == 0  # a point has no area to report
