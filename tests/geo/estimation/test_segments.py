"""Area-frame (segment) estimator: expansion and ratio by hand, bootstrap interval, bad input."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from shapely.geometry import box

from core.errors import EstimationError, InvalidInputError
from geo.estimation import segment_estimate

FRAME = {"high": 40, "low": 60}


def segments_table(high, low, segment_ha=None):
    table = pd.DataFrame({
        "segment_id": [f"SEG-{k:05d}" for k in range(len(high) + len(low))],
        "stratum": ["high"] * len(high) + ["low"] * len(low),
        "opium_poppy_ha": list(high) + list(low),
    })  # fmt: skip
    if segment_ha is not None:
        table["segment_ha"] = segment_ha
    return table


def test_expansion_estimate_and_se_by_hand():
    high, low = [2.0, 0.0, 4.0, 1.0, 3.0], [0.0, 1.0, 0.0, 0.0]
    est = segment_estimate(segments_table(high, low), FRAME, "opium_poppy", n_boot=500)
    # 40 * mean(high) + 60 * mean(low) = 40*2 + 60*0.25 = 95 ha
    assert est.total_ha == pytest.approx(95.0)
    var = 40**2 * (1 - 5 / 40) * np.var(high, ddof=1) / 5 + 60**2 * (1 - 4 / 60) * 0.25 / 4
    assert est.se_ha == pytest.approx(np.sqrt(var))
    assert est.ci_low_ha < 95.0 < est.ci_high_ha
    assert est.by_stratum.loc["high", "total_ha"] == pytest.approx(80.0)
    assert est.method == "segment_expansion" and est.n_segments == 9
    row = est.as_row(year=2025)
    assert row["area_ha"] == pytest.approx(95.0) and row["n_reference"] == 9


def test_ratio_estimator_by_hand_and_equal_segments():
    high, low = [2.0, 0.0, 4.0], [1.0, 0.0, 0.5]
    sizes = [25.0, 20.0, 25.0, 25.0, 10.0, 25.0]  # clipped border segments
    totals = {"high": 900.0, "low": 1400.0}
    est = segment_estimate(segments_table(high, low, sizes), FRAME, "opium_poppy",
                           estimator="ratio", frame_totals=totals, n_boot=500)  # fmt: skip
    assert est.total_ha == pytest.approx(900 * 6 / 70 + 1400 * 1.5 / 60)
    r_high = 6 / 70
    resid = np.array(high) - r_high * np.array(sizes[:3])
    var_high = 40**2 * (1 - 3 / 40) * resid.var(ddof=1) / 3
    assert est.by_stratum.loc["high", "se_ha"] == pytest.approx(np.sqrt(var_high))
    # with equal segments and X_h = N_h * size the ratio and expansion estimates agree
    equal = segments_table(high, low, 25.0)
    ratio = segment_estimate(equal, FRAME, "opium_poppy", estimator="ratio",
                             frame_totals={"high": 1000.0, "low": 1500.0}, n_boot=500)  # fmt: skip
    expansion = segment_estimate(equal, FRAME, "opium_poppy", n_boot=500)
    assert ratio.total_ha == pytest.approx(expansion.total_ha)
    assert ratio.se_ha == pytest.approx(expansion.se_ha)


def test_ratio_on_projected_geometries():
    geoms = [box(0, 0, 500, 500)] * 3 + [box(0, 0, 500, 200)] * 3
    segments = gpd.GeoDataFrame(segments_table([1, 2, 3], [0, 1, 0]), geometry=geoms,
                                crs="EPSG:32647")  # fmt: skip
    est = segment_estimate(segments, FRAME, "opium_poppy", estimator="ratio",
                           frame_totals={"high": 1000.0, "low": 600.0}, n_boot=500)  # fmt: skip
    assert est.total_ha == pytest.approx(1000 * 6 / 75 + 600 * 1 / 30)


def test_bootstrap_is_seeded_and_covers():
    rng = np.random.default_rng(11)
    population = {"high": rng.gamma(2.0, 1.0, 40), "low": rng.gamma(2.0, 0.3, 60)}
    truth = sum(v.sum() for v in population.values())
    covered, totals = 0, []
    for rep in range(100):
        high = rng.choice(population["high"], 10, replace=False)
        low = rng.choice(population["low"], 10, replace=False)
        est = segment_estimate(segments_table(high, low), FRAME, "opium_poppy", n_boot=200,
                               seed=rep)  # fmt: skip
        covered += est.ci_low_ha <= truth <= est.ci_high_ha
        totals.append(est.total_ha)
    assert np.mean(totals) == pytest.approx(truth, rel=0.03)
    assert 0.86 <= covered / 100 <= 0.995
    table = segments_table([1.0, 2.0, 0.5], [0.0, 0.3])
    first = segment_estimate(table, FRAME, "opium_poppy", n_boot=400, seed=3)
    again = segment_estimate(table, FRAME, "opium_poppy", n_boot=400, seed=3)
    assert (first.ci_low_ha, first.ci_high_ha) == (again.ci_low_ha, again.ci_high_ha)


def test_bad_segment_input():
    table = segments_table([1.0, 2.0], [0.0])
    with pytest.raises(EstimationError, match="fewer than 2"):
        segment_estimate(table, FRAME, "opium_poppy")
    table = segments_table([1.0, 2.0], [0.0, 1.0])
    with pytest.raises(InvalidInputError, match="'middle'"):
        segment_estimate(table.assign(stratum="middle"), FRAME, "opium_poppy")
    broken = table.copy()
    broken.loc[1, "opium_poppy_ha"] = np.nan
    with pytest.raises(InvalidInputError, match="SEG-00001"):
        segment_estimate(broken, FRAME, "opium_poppy")
    with pytest.raises(InvalidInputError, match="cannabis_ha"):
        segment_estimate(table, FRAME, "cannabis")
    with pytest.raises(InvalidInputError, match="frame_totals"):
        segment_estimate(table, FRAME, "opium_poppy", estimator="ratio")
    with pytest.raises(InvalidInputError, match="estimator"):
        segment_estimate(table, FRAME, "opium_poppy", estimator="mean")


def test_difference_estimator_by_hand_and_narrower_than_expansion():
    high, low = [2.0, 0.0, 4.0, 1.0, 3.0], [0.0, 1.0, 0.0, 0.0]
    mapped_high, mapped_low = [1.8, 0.2, 3.5, 1.0, 2.6], [0.0, 0.8, 0.1, 0.0]
    table = segments_table(high, low).assign(opium_poppy_map_ha=mapped_high + mapped_low)
    est = segment_estimate(table, FRAME, "opium_poppy", estimator="difference",
                           map_total_ha=90.0, n_boot=500)  # fmt: skip
    d_high = np.subtract(high, mapped_high)
    d_low = np.subtract(low, mapped_low)
    # Ŷ = X + Σ N_h mean(y - x)
    assert est.total_ha == pytest.approx(90 + 40 * d_high.mean() + 60 * d_low.mean())
    var = (40**2 * (1 - 5 / 40) * np.var(d_high, ddof=1) / 5
           + 60**2 * (1 - 4 / 60) * np.var(d_low, ddof=1) / 4)  # fmt: skip
    assert est.se_ha == pytest.approx(np.sqrt(var))
    plain = segment_estimate(table, FRAME, "opium_poppy", n_boot=500)
    assert est.se_ha < plain.se_ha / 2 and est.method == "segment_difference"
    assert est.ci_low_ha < est.total_ha < est.ci_high_ha


def test_no_crop_in_any_segment_of_a_stratum_is_not_zero_zero():
    high, low = [2.0, 0.0, 4.0, 1.0, 3.0], [0.0, 0.0, 0.0, 0.0]
    est = segment_estimate(segments_table(high, low), FRAME, "opium_poppy", n_boot=500)
    # low: 0 of 4 segments; Clopper-Pearson upper share 1 - 0.025^(1/4), times the mean crop
    # area of the segments that show it (2, 4, 1, 3 -> 2.5 ha) and N_low = 60
    bound = 60 * (1 - 0.025 ** (1 / 4)) * 2.5
    assert est.by_stratum.loc["low", "se_ha"] == pytest.approx(bound / 1.959964, rel=1e-6)
    assert est.ci_high_ha >= est.total_ha + bound * 0.99 and "Clopper-Pearson" in est.note
    nothing = segment_estimate(segments_table([0.0] * 5, [0.0] * 4), FRAME, "opium_poppy",
                               n_boot=500)  # fmt: skip
    assert nothing.total_ha == 0.0 and np.isnan(nothing.ci_high_ha)
    assert "not estimable" in nothing.note


def _planned_by_hand(s, sizes, estimate, half_width, strata_count):
    """Neyman allocation for the half-width with the t quantile iterated to its fixed point."""
    quantile = 1.959964
    for _ in range(20):
        target = (half_width * estimate / quantile) ** 2
        n = (sizes * s).sum() ** 2 / (target + (sizes * s**2).sum())
        again = stats.t.ppf(0.975, max(int(np.ceil(n)) - strata_count, 1))
        if again == quantile:
            break
        quantile = again
    return np.minimum(np.maximum(np.ceil(n * sizes * s / (sizes * s).sum()), 2), sizes)


def test_segment_planner_is_the_hand_neyman_allocation():
    from geo.estimation.allocation import segments_for_precision

    high, low = [2.0, 0.0, 4.0, 1.0, 3.0], [0.0, 1.0, 0.0, 0.0]
    plan = segments_for_precision(segments_table(high, low), FRAME, "opium_poppy",
                                  half_width=0.3)  # fmt: skip
    s = np.array([np.std(high, ddof=1), np.std(low, ddof=1)])
    sizes = np.array([40.0, 60.0])
    expected = _planned_by_hand(s, sizes, 95.0, 0.3, 2)
    assert list(plan["n_needed"]) == list(expected)
    # the t quantile asks for more segments than the normal one would
    normal = (sizes * s).sum() ** 2 / ((0.3 * 95.0 / 1.959964) ** 2 + (sizes * s**2).sum())
    assert plan["n_needed"].sum() >= np.ceil(normal * sizes * s / (sizes * s).sum()).sum()
    assert plan.attrs["estimate_ha"] == pytest.approx(95.0)


@pytest.mark.parametrize("strip_rows", [512, 7])  # one strip; strips splitting segments
def test_segment_map_area_of_a_grid_aligned_frame_matches_the_zonal_areas(
    tmp_path, monkeypatch, strip_rows
):
    import rasterio
    from rasterio.transform import from_origin

    from core.legend import code_of
    from geo.estimation import segment_map_area, segments
    from geo.estimation.map_area import zonal_class_area
    from geo.estimation.segments import _aligned_block_areas

    monkeypatch.setattr(segments, "SUMMED_AREA_STRIP_ROWS", strip_rows)

    rng = np.random.default_rng(8)
    codes = rng.choice([code_of("opium_poppy"), code_of("cannabis"), code_of("forest")],
                       size=(30, 40)).astype("uint8")  # fmt: skip
    with rasterio.open(tmp_path / "classes.tif", "w", driver="GTiff", height=30, width=40,
                       count=1, dtype="uint8", crs="EPSG:32642", nodata=0,
                       transform=from_origin(500_000, 4_000_000, 10, 10)) as dst:  # fmt: skip
        dst.write(codes, 1)
    cells = [(r, c) for r in range(3) for c in range(4)]
    frame = gpd.GeoDataFrame({"segment_id": [f"S{k}" for k in range(12)], "stratum": "high"},
                             geometry=[box(500_000 + 100 * c, 4_000_000 - 100 * (r + 1),
                                           500_000 + 100 * (c + 1), 4_000_000 - 100 * r)
                                       for r, c in cells], crs="EPSG:32642")  # fmt: skip
    fast = segment_map_area(tmp_path / "classes.tif", frame, ["opium_poppy", "cannabis"])
    assert _aligned_block_areas(tmp_path / "classes.tif", frame, ["cannabis"]) is not None
    zonal = zonal_class_area(tmp_path / "classes.tif", frame, "segment_id")
    for crop in ("opium_poppy", "cannabis"):
        by_hand = [(codes[10 * r : 10 * r + 10, 10 * c : 10 * c + 10] == code_of(crop)).sum()
                   * 0.01 for r, c in cells]  # fmt: skip
        assert fast[f"{crop}_map_ha"].to_numpy() == pytest.approx(by_hand)
        of_crop = zonal[zonal["class"] == code_of(crop)].set_index("segment_id")["area_ha"]
        assert fast[f"{crop}_map_ha"].to_numpy() == pytest.approx(of_crop.loc[frame.segment_id])
    # half a pixel off the grid: the exact-fraction zonal pass, which still sums to the same
    shifted = frame.set_geometry(frame.geometry.translate(5, 0))
    assert _aligned_block_areas(tmp_path / "classes.tif", shifted, ["cannabis"]) is None
    off = segment_map_area(tmp_path / "classes.tif", shifted.iloc[:1], ["opium_poppy"])
    first = codes[0:10, 0:11] == code_of("opium_poppy")
    expected = (first[:, 1:10].sum() + 0.5 * first[:, 0].sum() + 0.5 * first[:, 10].sum()) * 0.01
    assert off["opium_poppy_map_ha"].iloc[0] == pytest.approx(expected)
