"""Per-pixel season composites and seasonal metrics, written as Cloud Optimized GeoTIFFs.

A season stack (``geo.imagery.read_season``) has NaN wherever a pixel was
cloudy, shadowed or missing; every statistic here skips those. Composites are
computed block by block with dask (the time axis of one spatial block at a
time), so memory depends on the chunk size and the number of dates, not on
the area.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import dask
import numpy as np
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.windows import Window

from geo.io import TMP_PREFIX, atomic_path, release_memory

__all__ = ["season_composite", "seasonal_metrics", "write_cog", "nan_percentile", "METHODS"]

logger = logging.getLogger(__name__)

METHODS = ("median", "mean", "min", "max", "max_ndvi", "pNN (percentile, e.g. p10, p90)")
"""Composite methods understood by :func:`season_composite`."""

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def _band_vars(stack: xr.Dataset) -> list[str]:
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
    "linear" method) but one vectorised sort instead of numpy's per-pixel
    fallback for small axes, which is many times slower on season stacks.
    All-NaN pixels give NaN.

    Examples
    --------
    >>> nan_percentile(np.array([[0.05, np.nan, 0.20, 0.08, 0.10]]), 50).round(4).tolist()
    [0.09]
    """
    ordered = np.sort(values, axis=-1)  # NaN sort last
    count = np.isfinite(ordered).sum(axis=-1)
    rank = (q / 100.0) * np.maximum(count - 1, 0)
    lower = np.floor(rank).astype(np.intp)
    upper = np.minimum(lower + 1, np.maximum(count - 1, 0))
    low_value = np.take_along_axis(ordered, lower[..., None], axis=-1)[..., 0]
    high_value = np.take_along_axis(ordered, upper[..., None], axis=-1)[..., 0]
    result = low_value + (rank - lower) * (high_value - low_value)
    return np.where(count > 0, result, np.nan)


def _nan_pct(values: np.ndarray, axis: int = -1, q: float = 50.0) -> np.ndarray:
    return nan_percentile(values, q)


def _nan_median(values: np.ndarray, axis: int = -1) -> np.ndarray:
    return nan_percentile(values, 50.0)


def _nan_reduce(func: Any, array: xr.DataArray, **kwargs: Any) -> xr.DataArray:
    def block(values: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"), _quiet_all_nan():
            return func(values, axis=-1, **kwargs).astype(np.float32)

    return xr.apply_ufunc(
        block,
        array,
        input_core_dims=[["time"]],
        dask="parallelized",
        output_dtypes=[np.float32],
    )


class _quiet_all_nan:
    """Silence numpy's "All-NaN slice" warnings: all-NaN pixels are expected (never clear)."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


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
    bands = _band_vars(stack)
    if not bands:
        raise ValueError("season_composite: stack has no floating-point variable over time")
    stack = _whole_time(stack)
    if method == "max_ndvi":
        composite = _best_pixel(stack, bands)
    elif method in ("median", "mean", "min", "max"):
        func = {"median": _nan_median, "mean": np.nanmean, "min": np.nanmin, "max": np.nanmax}
        composite = xr.Dataset({b: _nan_reduce(func[method], stack[b]) for b in bands})
    elif match := _PERCENTILE.match(method):
        q = float(match.group(1))
        composite = xr.Dataset({b: _nan_reduce(_nan_pct, stack[b], q=q) for b in bands})
    else:
        raise ValueError(f"unknown composite method {method!r}; use one of {METHODS}")
    composite["valid_count"] = _valid_count(stack, bands)
    composite.attrs.update({"composite": method, "n_dates": int(stack.sizes["time"])})
    return _keep_georef(composite, stack)


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
    peak_value = _nan_reduce(np.nanmax, stack)
    min_value = _nan_reduce(np.nanmin, stack)
    metrics = xr.Dataset(
        {
            "peak_value": peak_value,
            "peak_doy": peak_dates.isel(metric=0, drop=True),
            "peak_day": peak_dates.isel(metric=1, drop=True),
            "min_value": min_value,
            "amplitude": peak_value - min_value,
            "mean_value": _nan_reduce(np.nanmean, stack),
            "valid_count": stack.notnull().sum("time").astype(np.int16),
        }
    )
    metrics.attrs["season_start"] = str(times.min())
    return _keep_georef(metrics, index_stack)


def _as_band_array(data: xr.DataArray | xr.Dataset) -> tuple[xr.DataArray, list[str]]:
    """(band, y, x) array and the band descriptions."""
    if isinstance(data, xr.Dataset):
        names = [n for n, v in data.data_vars.items() if v.dims == ("y", "x")]
        if not names:
            raise ValueError("write_cog: the Dataset has no (y, x) variable to write")
        dtypes = {data[n].dtype for n in names}
        target = np.result_type(*dtypes) if len(dtypes) > 1 else dtypes.pop()
        if np.issubdtype(target, np.floating):
            target = np.float32 if all(np.dtype(d).itemsize <= 4 for d in dtypes) else target
        array = xr.concat([data[n].astype(target) for n in names], dim="band")
        array = array.assign_coords(band=names)
        return array.rio.write_crs(data.rio.crs).rio.write_transform(data.rio.transform()), names
    if data.dims == ("y", "x"):
        return data.expand_dims("band"), [str(data.name or "band_1")]
    if data.ndim == 3 and data.dims[1:] == ("y", "x"):
        band_dim = data.dims[0]
        names = [str(v) for v in data[band_dim].values] if band_dim in data.coords else []
        return data, names or [f"band_{i + 1}" for i in range(data.shape[0])]
    raise ValueError(f"write_cog: expected dims (y, x) or (band, y, x), got {data.dims}")


def _blocks(array: xr.DataArray, block_px: int) -> Any:
    """Yield (row_off, col_off, lazy or numpy block) over the (band, y, x) array."""
    if array.chunks is None:
        values = array.values
        for r in range(0, values.shape[1], block_px):
            for c in range(0, values.shape[2], block_px):
                yield r, c, values[:, r : r + block_px, c : c + block_px]
        return
    data = array.data.rechunk({0: -1})
    row_offsets = np.cumsum((0,) + data.chunks[1])
    col_offsets = np.cumsum((0,) + data.chunks[2])
    delayed = data.to_delayed()
    for i in range(delayed.shape[1]):
        for j in range(delayed.shape[2]):
            yield int(row_offsets[i]), int(col_offsets[j]), delayed[0, i, j]


def write_cog(
    data: xr.DataArray | xr.Dataset,
    path: str | os.PathLike[str],
    *,
    compress: str = "deflate",
    block_px: int = 512,
    overview_resampling: str | None = None,
    blocks_in_flight: int = 4,
) -> Path:
    """Write a raster as a tiled, compressed Cloud Optimized GeoTIFF with overviews.

    Blocks are computed a few at a time (``blocks_in_flight``) and written to a
    tiled scratch GeoTIFF, which GDAL's COG driver then copies with overviews,
    so memory stays bounded by the block size, not the raster size. The COG
    appears under ``path`` only when complete (``geo.io.atomic_path``).

    Parameters
    ----------
    data : xarray.DataArray or xarray.Dataset
        ``(y, x)`` or ``(band, y, x)`` array, or a Dataset whose ``(y, x)``
        variables become bands (described by variable name). Needs a
        rioxarray CRS and transform. Float data get NaN as nodata.
    path : path-like
        Output ``.tif``.
    compress : str, default "deflate"
        GDAL compression (``deflate``, ``zstd``, ``lzw``...).
    block_px : int, default 512
        Internal tile size.
    overview_resampling : str, optional
        ``average`` for float data and ``nearest`` for integers by default.
    blocks_in_flight : int, default 4
        Blocks computed together (more uses more memory, fewer threads idle).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> write_cog(season_composite(season, "median"), "composite/median.tif")  # doctest: +SKIP
    """
    array, names = _as_band_array(data)
    crs = array.rio.crs
    if crs is None:
        raise ValueError(f"write_cog {path}: data have no CRS; attach one with .rio.write_crs()")
    dtype = np.dtype(array.dtype)
    if dtype == np.bool_:
        array, dtype = array.astype(np.uint8), np.dtype(np.uint8)
    is_float = np.issubdtype(dtype, np.floating)
    profile = {
        "driver": "GTiff",
        "width": array.sizes["x"],
        "height": array.sizes["y"],
        "count": array.shape[0],
        "dtype": dtype.name,
        "crs": crs,
        "transform": array.rio.transform(),
        "tiled": True,
        "blockxsize": block_px,
        "blockysize": block_px,
        "nodata": np.nan if is_float else None,
        "BIGTIFF": "IF_SAFER",
    }
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    resampling = overview_resampling or ("average" if is_float else "nearest")
    # The scratch file carries geo.io's temporary prefix, so clean_partial() removes
    # what a killed run leaves behind.
    handle, scratch_name = tempfile.mkstemp(
        prefix=TMP_PREFIX, suffix=".scratch.tif", dir=final.parent
    )
    os.close(handle)
    scratch = Path(scratch_name)
    try:
        with rasterio.open(scratch, "w", **profile) as dst:
            pending: list[tuple[int, int, Any]] = []
            for item in _blocks(array, block_px):
                pending.append(item)
                if len(pending) >= blocks_in_flight:
                    _write_blocks(dst, pending)
                    pending = []
            _write_blocks(dst, pending)
            for i, name in enumerate(names, start=1):
                dst.set_band_description(i, name)
        with atomic_path(final) as tmp:
            rasterio.shutil.copy(
                scratch,
                tmp,
                driver="COG",
                COMPRESS=compress.upper(),
                BLOCKSIZE=block_px,
                OVERVIEWS="AUTO",
                RESAMPLING=resampling.upper(),
                PREDICTOR="YES",
                NUM_THREADS="ALL_CPUS",
                BIGTIFF="IF_SAFER",
            )
    finally:
        scratch.unlink(missing_ok=True)
        release_memory()
    logger.info("wrote COG %s (%d bands, %s)", final, len(names), dtype.name)
    return final


def _write_blocks(dst: Any, pending: list[tuple[int, int, Any]]) -> None:
    if not pending:
        return
    values = dask.compute(*(block for _, _, block in pending))
    for (row, col, _), block in zip(pending, values, strict=True):
        window = Window(col, row, block.shape[2], block.shape[1])
        dst.write(np.asarray(block, dtype=dst.dtypes[0]), window=window)
