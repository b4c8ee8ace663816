"""geo.composite: per-pixel composites and metrics against numbers worked by hand."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine

from geo.composite import season_composite, seasonal_metrics, write_cog

NAN = np.nan
TIMES = np.array(["2024-11-20", "2024-12-25", "2025-01-10", "2025-03-01"], dtype="datetime64[ns]")
# one row of 3 pixels over 4 dates; NaN = masked
RED = [[0.10, 0.20, NAN], [0.05, NAN, NAN], [0.08, 0.30, NAN], [0.20, 0.10, NAN]]
NIR = [[0.30, 0.40, NAN], [0.45, NAN, NAN], [0.40, 0.35, NAN], [0.25, 0.50, NAN]]


@pytest.fixture
def stack() -> xr.Dataset:
    red = np.array(RED, dtype=np.float32)[:, None, :]
    nir = np.array(NIR, dtype=np.float32)[:, None, :]
    valid = np.isfinite(red)
    dims = ("time", "y", "x")
    ds = xr.Dataset(
        {
            "red": (dims, da.from_array(red, chunks=(1, 1, 2))),
            "nir": (dims, da.from_array(nir, chunks=(1, 1, 2))),
            "valid": (dims, da.from_array(valid, chunks=(1, 1, 2))),
        },
        coords={"time": TIMES, "y": [2200005.0], "x": [600005.0, 600015.0, 600025.0]},
    )
    return ds.rio.write_crs("EPSG:32647").rio.write_transform(
        Affine(10, 0, 600000, 0, -10, 2200010)
    )


def test_median_and_count_ignore_masked(stack):
    composite = season_composite(stack, "median")
    assert isinstance(composite["red"].data, da.Array)
    red = composite["red"].values[0]
    assert red[0] == pytest.approx(np.median([0.10, 0.05, 0.08, 0.20]))  # 0.09
    assert red[1] == pytest.approx(0.20)  # median of 0.20, 0.30, 0.10
    assert np.isnan(red[2])
    np.testing.assert_array_equal(composite["valid_count"].values[0], [4, 3, 0])
    assert composite["valid_count"].dtype == np.int16


def test_percentiles_linear(stack):
    p10 = season_composite(stack, "p10")["red"].values[0]
    p90 = season_composite(stack, "p90")["nir"].values[0]
    # sorted red pixel 0: .05 .08 .10 .20; p10 at rank 0.3 -> .05 + .3 * .03
    assert p10[0] == pytest.approx(0.059, abs=1e-6)
    # sorted nir pixel 1: .35 .40 .50; p90 at rank 1.8 -> .40 + .8 * .10
    assert p90[1] == pytest.approx(0.48, abs=1e-6)
    assert np.isnan(p10[2])


def test_max_ndvi_takes_every_band_from_the_best_date(stack):
    composite = season_composite(stack, "max_ndvi")
    # pixel 0 NDVI: .5, .8, .667, .111 -> date 2; pixel 1: .333, nan, .0769, .667 -> date 4
    np.testing.assert_allclose(composite["red"].values[0, :2], [0.05, 0.10], atol=1e-7)
    np.testing.assert_allclose(composite["nir"].values[0, :2], [0.45, 0.50], atol=1e-7)
    assert np.isnan(composite["red"].values[0, 2])


def test_seasonal_metrics_peak_and_dates(stack):
    ndvi = (stack["nir"] - stack["red"]) / (stack["nir"] + stack["red"])
    metrics = seasonal_metrics(ndvi)
    assert metrics["peak_value"].values[0, 0] == pytest.approx(0.4 / 0.5)
    assert metrics["peak_doy"].values[0, 0] == 360  # 2024-12-25 (leap year)
    assert metrics["peak_day"].values[0, 0] == 35  # days after 2024-11-20
    assert metrics["peak_doy"].values[0, 1] == 60  # 2025-03-01
    assert metrics["peak_day"].values[0, 1] == 101
    assert metrics["min_value"].values[0, 0] == pytest.approx(0.05 / 0.45, rel=1e-5)
    assert metrics["amplitude"].values[0, 0] == pytest.approx(0.8 - 0.05 / 0.45, rel=1e-5)
    np.testing.assert_array_equal(metrics["valid_count"].values[0], [4, 3, 0])
    assert np.isnan(metrics["peak_doy"].values[0, 2])


def test_unknown_method(stack):
    with pytest.raises(ValueError, match="unknown composite method"):
        season_composite(stack, "best")


def test_write_cog_is_a_valid_cog_with_overviews(tmp_path):
    size = 1100
    rng = np.random.default_rng(0)
    values = rng.random((size, size), dtype=np.float32)
    values[:10, :10] = np.nan
    data = xr.DataArray(
        da.from_array(values, chunks=256),
        dims=("y", "x"),
        coords={"y": 2200000 - 5 - 10 * np.arange(size), "x": 600005 + 10 * np.arange(size)},
        name="ndvi_median",
    )
    data = data.rio.write_crs("EPSG:32647").rio.write_transform(
        Affine(10, 0, 600000, 0, -10, 2200000)
    )
    out = write_cog(data, tmp_path / "indices" / "ndvi_median.tif")
    assert sorted(p.name for p in out.parent.iterdir()) == ["ndvi_median.tif"]
    with rasterio.open(out) as cog:
        assert cog.driver == "GTiff"
        assert cog.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert cog.profile["tiled"] and cog.profile["blockxsize"] == 512
        assert cog.compression.name.lower() == "deflate"
        assert cog.overviews(1) == [2, 4]
        assert cog.descriptions == ("ndvi_median",)
        assert cog.crs.to_epsg() == 32647
        np.testing.assert_array_equal(cog.read(1), values)


def test_internal_outputs_have_no_overviews_and_the_same_values(tmp_path):
    from geo.cog import write_cogs

    size = 1100
    values = np.random.default_rng(1).random((size, size), dtype=np.float32)
    values[:10, :10] = np.nan
    data = xr.DataArray(
        da.from_array(values, chunks=512),
        dims=("y", "x"),
        coords={"y": 2200000 - 5 - 10 * np.arange(size), "x": 600005 + 10 * np.arange(size)},
        name="features",
    )
    data = data.rio.write_crs("EPSG:32647").rio.write_transform(
        Affine(10, 0, 600000, 0, -10, 2200000)
    )
    viewed, internal = write_cogs(
        {tmp_path / "viewed.tif": data, tmp_path / "features.tif": data},
        internal=[tmp_path / "features.tif"],
    )
    with rasterio.open(viewed) as a, rasterio.open(internal) as b:
        assert a.overviews(1) == [2, 4] and b.overviews(1) == []
        assert b.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert a.compression.name.lower() == "deflate"
        assert b.compression.name.lower() == "zstd" and b.profile["blockxsize"] == 512
        assert a.read().tobytes() == b.read().tobytes() == values[None].tobytes()
    assert viewed.read_bytes() != internal.read_bytes()


def test_write_cog_dataset_bands_by_name(stack, tmp_path):
    composite = season_composite(stack, "median")
    out = write_cog(composite, tmp_path / "composite" / "median.tif")
    with rasterio.open(out) as cog:
        assert cog.descriptions == ("red", "nir", "valid_count")
        assert cog.dtypes[0] == "float32"
        assert cog.read(3)[0].tolist() == [4, 3, 0]
        assert cog.read(1)[0, 0] == pytest.approx(0.09)
        assert np.isnan(cog.read(1)[0, 2])


def test_nan_percentile_matches_numpy():
    from geo.composite import nan_percentile

    rng = np.random.default_rng(3)
    values = rng.random((50, 40, 7))
    values[rng.random(values.shape) < 0.4] = np.nan
    values[0, 0, :] = np.nan
    for q in (0, 10, 50, 90, 100):
        expected = np.nanpercentile(values[1:], q, axis=-1)
        np.testing.assert_allclose(nan_percentile(values[1:], q), expected, rtol=1e-12)
    assert np.isnan(nan_percentile(values, 50)[0, 0])


def _by_np_sort(values: np.ndarray, q: float) -> np.ndarray:
    """nan_percentile as it was before the sorting network: one ``np.sort`` of the stack."""
    ordered = np.sort(values, axis=-1)
    count = np.isfinite(ordered).sum(axis=-1)
    rank = (q / 100.0) * np.maximum(count - 1, 0)
    lower = np.floor(rank).astype(np.intp)
    upper = np.minimum(lower + 1, np.maximum(count - 1, 0))
    low = np.take_along_axis(ordered, lower[..., None], axis=-1)[..., 0]
    high = np.take_along_axis(ordered, upper[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore"):
        result = low + (rank - lower) * (high - low)
    return np.where(count > 0, result, np.nan)


@pytest.mark.parametrize("dates", [1, 2, 3, 5, 7, 8, 13, 24, 25, 40])
def test_nan_percentile_is_the_np_sort_percentile_bit_for_bit(dates):
    """The sorting network (up to SORTING_NETWORK_MAX_DATES) and np.sort beyond it give the
    very bits of sorting with np.sort: all-NaN pixels, signed zeros, ties, infinities."""
    from geo.composite import nan_percentile

    rng = np.random.default_rng(dates)
    stack = rng.integers(0, 6, (dates, 30, 40)).astype(np.float32) / 5  # many ties
    stack[rng.random(stack.shape) < 0.35] = np.nan
    stack[:, 0, 0] = np.nan
    stack[:, 0, 1] = -0.0
    stack[0, 0, 2], stack[-1, 0, 2] = 0.0, -0.0
    with_inf = stack.copy()
    with_inf[0, 1, :3] = [np.inf, -np.inf, np.inf]
    for values in (stack, with_inf):
        values = np.moveaxis(values, 0, -1)  # time last, a view: as apply_ufunc hands it
        for q in (0, 10, 50, 90, 100):
            expected = _by_np_sort(values, q)
            assert nan_percentile(values, q).tobytes() == expected.tobytes(), (dates, q)


def test_the_merge_network_sorts_every_zero_one_input():
    """The 0-1 principle: a comparator network that sorts every 0/1 sequence sorts all."""
    import itertools

    from geo.composite import SORTING_NETWORK_MAX_DATES, _merge_network

    for n in range(2, 15):
        rows = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.int8).T.copy()
        for i, j in _merge_network(n):
            assert i < j
            rows[i], rows[j] = np.minimum(rows[i], rows[j]), np.maximum(rows[i], rows[j])
        assert (np.diff(rows, axis=0) >= 0).all(), n
    rng = np.random.default_rng(0)
    for n in range(15, SORTING_NETWORK_MAX_DATES + 1):
        rows = rng.random((n, 20_000))
        for i, j in _merge_network(n):
            rows[i], rows[j] = np.minimum(rows[i], rows[j]), np.maximum(rows[i], rows[j])
        assert (np.diff(rows, axis=0) >= 0).all(), n


def test_nan_reductions_are_numpys_own_numbers_and_never_warn_from_threads():
    """All-NaN pixels are expected; no warning may escape (warnings' filters are global)."""
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    from geo.composite import _nan_max, _nan_mean, _nan_min

    rng = np.random.default_rng(7)
    values = rng.random((64, 48, 6)).astype(np.float32)
    values[rng.random(values.shape) < 0.6] = np.nan
    values[:8] = np.nan  # whole rows of never-clear pixels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = [np.nanmean(values, -1), np.nanmax(values, -1), np.nanmin(values, -1)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        def block(reduce):  # as _nan_reduce's blocks run: errstate in the worker thread
            with np.errstate(all="ignore"):
                return reduce(values, -1)

        with ThreadPoolExecutor(4) as pool:
            runs = list(pool.map(block, [_nan_mean, _nan_max, _nan_min] * 20))
    assert caught == []
    for got, want in zip(runs, expected * 20, strict=True):
        assert np.array_equal(got, want, equal_nan=True) and got.dtype == want.dtype
