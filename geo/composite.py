"""Per-pixel season composites and seasonal metrics, written as Cloud Optimized GeoTIFFs.

A season stack (``geo.imagery.read_season``) has NaN wherever a pixel was
cloudy, shadowed or missing; every statistic here skips those. Composites are
computed block by block with dask (the time axis of one spatial block at a
time), so memory depends on the chunk size and the number of dates, not on
the area.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from geo.cog import write_cog

__all__ = [
    "season_composite",
    "seasonal_metrics",
    "valid_count",
    "band_variables",
    "write_cog",
    "nan_percentile",
    "METHODS",
]

logger = logging.getLogger(__name__)

METHODS = ("median", "mean", "min", "max", "max_ndvi", "pNN (percentile, e.g. p10, p90)")
"""Composite methods understood by :func:`season_composite`."""

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def band_variables(stack: xr.Dataset) -> list[str]:
    """The floating-point variables over ``time`` of a stack: the bands a composite reduces."""
    return [
        name
        for name, var in stack.data_vars.items()
        if name != "valid" and "time" in var.dims and np.issubdtype(var.dtype, np.floating)
    ]


def _whole_time(stack: xr.Dataset) -> xr.Dataset:
    """One chunk along time (each block then holds every date of its pixels)."""
    if stack.chunks:
        return stack.chunk({"time": -1})
    return stack


def nan_percentile(values: np.ndarray, q: float) -> np.ndarray:
    """Percentile along the last axis skipping NaN, linear between observations.

    Same numbers as ``np.nanpercentile(values, q, axis=-1)`` (its default
    "linear" method) but vectorised over pixels instead of numpy's per-pixel
    fallback for small axes, which is many times slower on season stacks.
    All-NaN pixels give NaN.

    Examples
    --------
    >>> nan_percentile(np.array([[0.05, np.nan, 0.20, 0.08, 0.10]]), 50).round(4).tolist()
    [0.09]
    """
    ordered, count = _sorted_along_time(values)
    rank = (q / 100.0) * np.maximum(count - 1, 0)
    lower = np.floor(rank).astype(np.intp)
    upper = np.minimum(lower + 1, np.maximum(count - 1, 0))
    low_value = np.take_along_axis(ordered, lower[None], axis=0)[0]
    high_value = np.take_along_axis(ordered, upper[None], axis=0)[0]
    with np.errstate(invalid="ignore"):  # inf - inf where no date is valid: masked below
        result = low_value + (rank - lower) * (high_value - low_value)
    return np.where(count > 0, result, np.nan)


SORTING_NETWORK_MAX_DATES = 24
"""Up to this many dates a season is sorted by a sorting network, beyond by ``np.sort``."""


def _sorted_along_time(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` sorted along the last axis, moved first; and the finite values per pixel.

    The entries before each pixel's count are its finite values in ascending order, as
    ``np.sort`` gives them. A season holds a few dozen dates: there, Batcher's
    odd-even merge network of whole-array ``minimum``/``maximum`` (NaN held as +inf)
    beats ``np.sort`` along a short axis, and gives the same values in the same places.
    Stacks with an infinite value (ordered differently from NaN) take ``np.sort``.
    """
    dates = values.shape[-1]
    if not 2 <= dates <= SORTING_NETWORK_MAX_DATES or np.isinf(values).any():
        ordered = np.moveaxis(np.sort(values, axis=-1), -1, 0)  # NaN sort last
        return ordered, np.isfinite(ordered).sum(axis=0)
    rows = [np.where(np.isnan(row), np.inf, row) for row in np.moveaxis(values, -1, 0)]
    for i, j in _merge_network(dates):
        low = np.minimum(rows[i], rows[j])
        np.maximum(rows[i], rows[j], out=rows[j])
        rows[i] = low
    ordered = np.stack(rows)
    return ordered, np.isfinite(ordered).sum(axis=0)


@functools.cache
def _merge_network(n: int) -> tuple[tuple[int, int], ...]:
    """The comparators ``(i, j)``, ``i < j``, of Batcher's odd-even merge sort of ``n`` items."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return tuple(pairs)


def _nan_pct(values: np.ndarray, axis: int = -1, q: float = 50.0) -> np.ndarray:
    return nan_percentile(values, q)


def _nan_median(values: np.ndarray, axis: int = -1) -> np.ndarray:
    return nan_percentile(values, 50.0)


def _nan_mean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """``np.nanmean`` without its "Mean of empty slice" warning: all-NaN pixels give NaN."""
    total = np.asarray(np.nansum(values, axis=axis))
    count = np.sum(~np.isnan(values), axis=axis, dtype=np.intp)
    # divided in the values' own dtype, as numpy's nanmean does; 0 / 0 is NaN (errstate)
    return np.true_divide(total, count, out=total, casting="unsafe")


def _nan_max(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """``np.nanmax`` without its "All-NaN slice" warning (``fmax`` skips NaN)."""
    return np.fmax.reduce(values, axis=axis)


def _nan_min(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """``np.nanmin`` without its "All-NaN slice" warning (``fmin`` skips NaN)."""
    return np.fmin.reduce(values, axis=axis)


def _nan_reduce(func: Any, array: xr.DataArray, **kwargs: Any) -> xr.DataArray:
    # No warnings.catch_warnings here: it swaps the process-wide filters and is not
    # thread-safe, so on dask's threads one block's exit let another's warning through.
    # The reductions are warning-free; errstate is per thread.
    def block(values: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return func(values, axis=-1, **kwargs).astype(np.float32)

    return xr.apply_ufunc(
        block,
        array,
        input_core_dims=[["time"]],
        dask="parallelized",
        output_dtypes=[np.float32],
    )


def _best_pixel(stack: xr.Dataset, bands: list[str]) -> xr.Dataset:
    """Each band at the date of the pixel's highest NDVI."""
    if "red" not in stack or "nir" not in stack:
        raise ValueError("max_ndvi composite needs 'red' and 'nir' bands in the stack")
    with np.errstate(all="ignore"):
        ndvi = (stack["nir"] - stack["red"]) / (stack["nir"] + stack["red"])

    def pick(ndvi_block: np.ndarray, band_block: np.ndarray) -> np.ndarray:
        scored = np.where(np.isfinite(ndvi_block), ndvi_block, -np.inf)
        best = np.argmax(scored, axis=-1)[..., None]
        chosen = np.take_along_axis(band_block, best, axis=-1)[..., 0]
        any_valid = np.isfinite(ndvi_block).any(axis=-1)
        return np.where(any_valid, chosen, np.nan).astype(np.float32)

    picked = {
        band: xr.apply_ufunc(
            pick,
            ndvi,
            stack[band],
            input_core_dims=[["time"], ["time"]],
            dask="parallelized",
            output_dtypes=[np.float32],
        )
        for band in bands
    }
    return xr.Dataset(picked)


def season_composite(stack: xr.Dataset, method: str = "median") -> xr.Dataset:
    """Composite a season stack per pixel, ignoring masked (NaN) observations.

    Parameters
    ----------
    stack : xarray.Dataset
        Reflectance (or index) variables with a ``time`` dimension, NaN where
        masked; an optional boolean ``valid`` variable.
    method : str, default "median"
        ``median``, ``mean``, ``min``, ``max``, ``max_ndvi`` (best pixel: every
        band from the date of highest NDVI), or a percentile ``pNN`` (``p10``,
        ``p90``, linear interpolation between observations).

    Returns
    -------
    xarray.Dataset
        One float32 variable per input band, dims ``(y, x)``, NaN where no
        observation was valid, plus ``valid_count`` (int16, number of valid
        observations). Lazy when the stack is.

    Examples
    --------
    >>> composite = season_composite(season, "p90")  # doctest: +SKIP
    """
    bands = band_variables(stack)
    if not bands:
        raise ValueError("season_composite: stack has no floating-point variable over time")
    stack = _whole_time(stack)
    if method == "max_ndvi":
        composite = _best_pixel(stack, bands)
    elif method in ("median", "mean", "min", "max"):
        func = {"median": _nan_median, "mean": _nan_mean, "min": _nan_min, "max": _nan_max}
        composite = xr.Dataset({b: _nan_reduce(func[method], stack[b]) for b in bands})
    elif match := _PERCENTILE.match(method):
        q = float(match.group(1))
        composite = xr.Dataset({b: _nan_reduce(_nan_pct, stack[b], q=q) for b in bands})
    else:
        raise ValueError(f"unknown composite method {method!r}; use one of {METHODS}")
    composite["valid_count"] = _valid_count(stack, bands)
    composite.attrs.update({"composite": method, "n_dates": int(stack.sizes["time"])})
    return _keep_georef(composite, stack)


def valid_count(stack: xr.Dataset) -> xr.DataArray:
    """Valid observations per pixel (int16): the ``valid_count`` of :func:`season_composite`."""
    bands = band_variables(stack)
    if "valid" not in stack and not bands:
        raise ValueError("valid_count: stack has no 'valid' and no floating-point band over time")
    return _valid_count(_whole_time(stack), bands).rename("valid_count")


def _valid_count(stack: xr.Dataset, bands: list[str]) -> xr.DataArray:
    if "valid" in stack:
        return stack["valid"].sum("time").astype(np.int16)
    return stack[bands[0]].notnull().sum("time").astype(np.int16)


def _keep_georef(result: xr.Dataset, source: xr.Dataset | xr.DataArray) -> xr.Dataset:
    if "spatial_ref" in source.coords:
        result = result.assign_coords(spatial_ref=source["spatial_ref"])
    return result


def seasonal_metrics(index_stack: xr.DataArray) -> xr.Dataset:
    """Seasonal metrics of one index (e.g. NDVI) over a season stack.

    Opium poppy is green in December-January while fields around it are bare
    or harvested: the height and the date of the peak separate it.

    Parameters
    ----------
    index_stack : xarray.DataArray
        Dims ``(time, y, x)``, ``time`` datetime64, NaN where masked.

    Returns
    -------
    xarray.Dataset
        ``peak_value``, ``peak_doy`` (day of year of the peak, 1-366),
        ``peak_day`` (days since the first date of the stack: continuous across
        New Year, unlike the day of year), ``min_value``, ``amplitude``
        (peak - min), ``mean_value`` (float32) and ``valid_count`` (int16).
        NaN (counts: 0) where no observation was valid.
    """
    if "time" not in index_stack.dims:
        raise ValueError("seasonal_metrics needs a 'time' dimension")
    stack = index_stack.chunk({"time": -1}) if index_stack.chunks else index_stack
    times = stack["time"].values.astype("datetime64[D]")
    doy = (times - times.astype("datetime64[Y]")).astype(np.int64) + 1
    days = (times - times.min()).astype(np.int64)
    calendar = np.stack([doy, days]).astype(np.float32)

    def peak(values: np.ndarray) -> np.ndarray:
        finite = np.isfinite(values)
        best = np.argmax(np.where(finite, values, -np.inf), axis=-1)
        ok = finite.any(axis=-1)
        out = np.stack([calendar[0][best], calendar[1][best]], axis=-1)
        ok = ok[..., None]
        return np.where(ok, out, np.nan).astype(np.float32)

    peak_dates = xr.apply_ufunc(
        peak,
        stack,
        input_core_dims=[["time"]],
        output_core_dims=[["metric"]],
        dask="parallelized",
        output_dtypes=[np.float32],
        dask_gufunc_kwargs={"output_sizes": {"metric": 2}},
    )
    peak_value = _nan_reduce(_nan_max, stack)
    min_value = _nan_reduce(_nan_min, stack)
    metrics = xr.Dataset(
        {
            "peak_value": peak_value,
            "peak_doy": peak_dates.isel(metric=0, drop=True),
            "peak_day": peak_dates.isel(metric=1, drop=True),
            "min_value": min_value,
            "amplitude": peak_value - min_value,
            "mean_value": _nan_reduce(_nan_mean, stack),
            "valid_count": stack.notnull().sum("time").astype(np.int16),
        }
    )
    metrics.attrs["season_start"] = str(times.min())
    return _keep_georef(metrics, index_stack)
