"""Per-pixel features of a season of imagery for the land cover classifier.

A single date cannot tell opium poppy from other crops: poppy is green in
December-January, when paddy around it is harvested and dry, and is lanced in
February-March. The features therefore describe the whole season of each pixel:

- the median reflectance of each band over the season (``<band>_median``);
- NDVI statistics: median, 10th and 90th percentile, amplitude (p90 - p10) and
  the day of the NDVI peak counted from 1 July before the season
  (``ndvi_peak_day``; counting from mid-year keeps a December-March dry season
  from wrapping around 1 January);
- the median NDMI and NBR (moisture, burnt/cleared ground);
- the NDVI profile: one median NDVI per calendar month that has acquisitions
  (``ndvi_month_12``, ``ndvi_month_01``, ...), a month with no clear view of a
  pixel filled with that pixel's season median.

Everything is computed block by block with :func:`dask.array.map_blocks` on
``(y, x)`` chunks holding the whole time axis, so memory is bounded by the
chunk size, not by the mosaic.
"""

from __future__ import annotations

import logging
from typing import Any

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from rasterio.features import geometry_mask
from rasterio.transform import rowcol
from rasterio.windows import Window, from_bounds
from rasterio.windows import transform as window_transform

from geo.landcover import code_of, name_of
from models.errors import InvalidInputError

__all__ = ["REFLECTANCE_BANDS", "build_features", "feature_names_for", "training_samples"]

logger = logging.getLogger(__name__)

REFLECTANCE_BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir1", "swir2")
"""Season variables the features are computed from (common band names)."""

_INDEX_BANDS = ("red", "nir", "swir1", "swir2")

SEASON_ANCHOR_MONTH = 7
"""``ndvi_peak_day`` counts days from the 1st of this month before the peak."""

_SUMMARY_FEATURES = (
    "ndvi_median",
    "ndvi_p10",
    "ndvi_p90",
    "ndvi_amplitude",
    "ndvi_peak_day",
    "ndmi_median",
    "nbr_median",
)


def feature_names_for(months: list[int] | tuple[int, ...]) -> list[str]:
    """Return the feature names, in order, for a season covering ``months``.

    Parameters
    ----------
    months : sequence of int
        Calendar months with acquisitions, in season order (e.g. ``[11, 12, 1]``).

    Returns
    -------
    list of str
        ``<band>_median`` for each reflectance band, the NDVI/NDMI/NBR summaries,
        then ``ndvi_month_MM`` per month.
    """
    return (
        [f"{band}_median" for band in REFLECTANCE_BANDS]
        + list(_SUMMARY_FEATURES)
        + [f"ndvi_month_{m:02d}" for m in months]
    )


def _season_days(times: np.ndarray) -> np.ndarray:
    """Days from 1 July (before each date's season) to each acquisition date."""
    stamps = pd.DatetimeIndex(times)
    anchor_year = np.where(stamps.month >= SEASON_ANCHOR_MONTH, stamps.year, stamps.year - 1)
    anchors = pd.to_datetime({"year": anchor_year, "month": SEASON_ANCHOR_MONTH, "day": 1})
    return (stamps - pd.DatetimeIndex(anchors)).days.to_numpy().astype(np.float32)


def _month_bins(times: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Calendar months in season order and, per date, the index of its month bin."""
    stamps = pd.DatetimeIndex(times)
    periods = stamps.to_period("M")
    ordered = sorted(set(periods))
    index_of = {p: i for i, p in enumerate(ordered)}
    months = [p.month for p in ordered]
    if len(set(months)) != len(months):
        raise InvalidInputError(
            f"season spans more than a year ({ordered[0]} to {ordered[-1]}): calendar month "
            "features would repeat; pass the acquisitions of one season"
        )
    return months, np.array([index_of[p] for p in periods], dtype=np.int64)


def _normalised_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a - b) / (a + b)``, NaN where the sum is zero or an input is NaN."""
    total = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total != 0, (a - b) / total, np.nan)


def _nan_quantiles(values: np.ndarray, quantiles: list[float], axis: int) -> np.ndarray:
    """Quantiles over ``axis`` ignoring NaN (numpy's "linear" method); NaN for all-NaN slices.

    Equal to ``np.nanquantile`` but vectorised: numpy loops over pixels in Python
    when slices hold NaN (seconds per block), and warns from inside dask threads.
    """
    ordered = np.moveaxis(np.sort(values, axis=axis), axis, 0)  # NaN sort last
    n_valid = np.isfinite(ordered).sum(axis=0)
    last = np.maximum(n_valid - 1, 0)
    result = []
    for q in quantiles:
        position = q * last
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, last)
        low = np.take_along_axis(ordered, below[None], axis=0)[0]
        high = np.take_along_axis(ordered, above[None], axis=0)[0]
        value = low + (position - below) * (high - low)
        result.append(np.where(n_valid > 0, value, np.nan))
    return np.stack(result).astype(values.dtype, copy=False)


def _nan_median(values: np.ndarray, axis: int) -> np.ndarray:
    return _nan_quantiles(values, [0.5], axis)[0]


def _season_feature_block(
    reflectance: np.ndarray, season_days: np.ndarray, month_index: np.ndarray, n_months: int
) -> np.ndarray:
    """Features of one ``(band, time, y, x)`` block; returns ``(feature, y, x)`` float32."""
    red, nir, swir1, swir2 = (reflectance[REFLECTANCE_BANDS.index(b)] for b in _INDEX_BANDS)
    ndvi = _normalised_difference(nir, red)
    ndmi = _normalised_difference(nir, swir1)
    nbr = _normalised_difference(nir, swir2)
    band_medians = _nan_median(reflectance, axis=1)
    ndvi_median = _nan_median(ndvi, axis=0)
    ndvi_p10, ndvi_p90 = _nan_quantiles(ndvi, [0.1, 0.9], axis=0)
    ndmi_median = _nan_median(ndmi, axis=0)
    nbr_median = _nan_median(nbr, axis=0)
    monthly = np.stack([_nan_median(ndvi[month_index == m], axis=0) for m in range(n_months)])
    any_valid = np.isfinite(ndvi).any(axis=0)
    peak_date = np.argmax(np.where(np.isfinite(ndvi), ndvi, -np.inf), axis=0)
    peak_day = np.where(any_valid, season_days[peak_date], np.nan)
    monthly = np.where(np.isfinite(monthly), monthly, ndvi_median[None])
    summaries = np.stack(
        [
            ndvi_median,
            ndvi_p10,
            ndvi_p90,
            ndvi_p90 - ndvi_p10,
            peak_day,
            ndmi_median,
            nbr_median,
        ]
    )
    return np.concatenate([band_medians, summaries, monthly]).astype(np.float32)


def _check_season(season: xr.Dataset) -> None:
    missing = [band for band in REFLECTANCE_BANDS if band not in season.data_vars]
    if missing:
        raise InvalidInputError(
            f"season has no variable(s) {missing} (has {sorted(season.data_vars)}); "
            "read it with geo.imagery.read_season and all six reflectance bands"
        )
    for band in REFLECTANCE_BANDS:
        if season[band].dims != ("time", "y", "x"):
            raise InvalidInputError(
                f"season variable {band!r} has dims {season[band].dims}; "
                "expected ('time', 'y', 'x')"
            )
    if season.sizes["time"] < 1:
        raise InvalidInputError("season has no acquisition (time is empty)")
    if season.rio.crs is None:
        raise InvalidInputError("season has no CRS; write one with .rio.write_crs(...)")


def build_features(season: xr.Dataset, *, chunk_px: int = 512) -> xr.DataArray:
    """Stack the season features of every pixel into one lazy ``(feature, y, x)`` array.

    Parameters
    ----------
    season : xarray.Dataset
        A season of surface reflectance as returned by ``geo.imagery.read_season``:
        variables ``blue, green, red, nir, swir1, swir2`` with dims ``(time, y, x)``,
        NaN where invalid, optionally a boolean ``valid`` (False masks the date);
        rioxarray CRS and transform.
    chunk_px : int, default 512
        Side of the ``(y, x)`` blocks the features are computed in. Each block
        holds every date of every band, so memory is about
        ``6 * n_dates * chunk_px**2 * 4`` bytes per worker.

    Returns
    -------
    xarray.DataArray
        float32, dims ``(feature, y, x)``, dask-chunked ``(all, chunk_px, chunk_px)``,
        ``feature`` coordinate of names (see :func:`feature_names_for`), same
        ``y``/``x`` coordinates, CRS and transform as ``season``. NaN where a pixel
        has no valid date.

    Raises
    ------
    InvalidInputError
        A band is missing, dims are not ``(time, y, x)``, there is no CRS, or the
        season spans more than twelve calendar months.

    Examples
    --------
    >>> features = build_features(season)  # doctest: +SKIP
    >>> features.sel(feature="ndvi_p90").plot()  # doctest: +SKIP
    """
    _check_season(season)
    season = season.sortby("time")
    times = season["time"].values
    months, month_index = _month_bins(times)
    season_days = _season_days(times)

    layers = []
    for band in REFLECTANCE_BANDS:
        layer = season[band].astype(np.float32)
        if "valid" in season.data_vars:
            layer = layer.where(season["valid"].astype(bool))
        layers.append(layer.data if isinstance(layer.data, da.Array) else da.asarray(layer.data))
    reflectance = da.stack(layers).rechunk({0: -1, 1: -1, 2: chunk_px, 3: chunk_px})

    names = feature_names_for(months)
    feature_data = da.map_blocks(
        _season_feature_block,
        reflectance,
        drop_axis=1,
        chunks=((len(names),), reflectance.chunks[2], reflectance.chunks[3]),
        dtype=np.float32,
        meta=np.empty((0, 0, 0), dtype=np.float32),
        season_days=season_days,
        month_index=month_index,
        n_months=len(months),
    )
    features = xr.DataArray(
        feature_data,
        dims=("feature", "y", "x"),
        coords={"feature": names, "y": season["y"].values, "x": season["x"].values},
        name="features",
        attrs={"season_start": str(times[0])[:10], "season_end": str(times[-1])[:10]},
    )
    features = features.rio.write_crs(season.rio.crs)
    features = features.rio.write_transform(season.rio.transform())
    logger.info(
        "season features: %d dates, %d features on a %d x %d grid",
        len(times),
        len(names),
        season.sizes["y"],
        season.sizes["x"],
    )
    return features


def _label_codes(labels: pd.Series, label_column: str) -> np.ndarray:
    """Legend codes of a label column holding class names (or codes)."""
    codes = np.zeros(len(labels), dtype=np.int64)
    for position, (row, value) in enumerate(labels.items()):
        try:
            if isinstance(value, int | np.integer):
                codes[position] = code_of(name_of(int(value)))
            else:
                codes[position] = code_of(str(value).strip())
        except KeyError as exc:
            raise InvalidInputError(
                f"training row {row}: {label_column}={value!r} is not a land cover class; "
                f"{exc.args[0]}"
            ) from None
    return codes


def _plot_pixels(
    geometry: Any, transform: Any, shape: tuple[int, int], point_window_px: int = 1
) -> tuple[np.ndarray, ...]:
    """Rows and columns of the pixels that sample one plot geometry.

    A polygon gives its interior pixels; a point the ``point_window_px`` square
    of pixels centred on the pixel under it (clipped to the grid).
    """
    if geometry.geom_type in ("Point", "MultiPoint"):
        points = getattr(geometry, "geoms", [geometry])
        rows, cols = (
            np.asarray(a, dtype=np.int64)
            for a in rowcol(transform, [p.x for p in points], [p.y for p in points], op=np.floor)
        )
        half = point_window_px // 2
        dr, dc = np.meshgrid(np.arange(-half, half + 1), np.arange(-half, half + 1))
        rows = (rows[:, None] + dr.ravel()[None]).ravel()
        cols = (cols[:, None] + dc.ravel()[None]).ravel()
        inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
        return rows[inside], cols[inside]
    bounds_window = from_bounds(*geometry.bounds, transform=transform)
    row0 = max(int(np.floor(bounds_window.row_off)), 0)
    col0 = max(int(np.floor(bounds_window.col_off)), 0)
    row1 = min(int(np.ceil(bounds_window.row_off + bounds_window.height)), shape[0])
    col1 = min(int(np.ceil(bounds_window.col_off + bounds_window.width)), shape[1])
    if row1 <= row0 or col1 <= col0:
        return np.empty(0, int), np.empty(0, int)
    window = Window(col0, row0, col1 - col0, row1 - row0)
    win_transform = window_transform(window, transform)
    win_shape = (row1 - row0, col1 - col0)
    pixel_size = min(abs(transform.a), abs(transform.e))
    # A pixel lies wholly inside when its centre is half a pixel from the boundary; the
    # small margin keeps pixels whose edges coincide with the boundary.
    for candidate in (geometry.buffer(-0.499 * pixel_size), geometry):
        if candidate.is_empty:
            continue
        inside = geometry_mask(
            [candidate], win_shape, win_transform, all_touched=False, invert=True
        )
        if inside.any():
            rows, cols = np.nonzero(inside)
            return rows + row0, cols + col0
    return np.empty(0, int), np.empty(0, int)


def _gather_pixels(features: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Feature vectors at ``(rows, cols)``, computing each dask block once; ``(n, feature)``."""
    data = features.data
    if not hasattr(data, "chunks"):
        return np.asarray(data)[:, rows, cols].T
    y_edges = np.cumsum((0,) + data.chunks[1])
    x_edges = np.cumsum((0,) + data.chunks[2])
    block_y = np.searchsorted(y_edges, rows, side="right") - 1
    block_x = np.searchsorted(x_edges, cols, side="right") - 1
    out = np.empty((len(rows), data.shape[0]), dtype=np.float32)
    tasks, positions = [], []
    for by, bx in sorted(set(zip(block_y.tolist(), block_x.tolist(), strict=True))):
        here = np.nonzero((block_y == by) & (block_x == bx))[0]
        block = data.blocks[:, by, bx]
        local = (rows[here] - y_edges[by], cols[here] - x_edges[bx])
        tasks.append(dask.delayed(lambda b, r, c: b[:, r, c].T)(block, *local))
        positions.append(here)
    for here, values in zip(positions, dask.compute(*tasks), strict=True):
        out[here] = values
    return out


def training_samples(
    features: xr.DataArray,
    training: gpd.GeoDataFrame,
    *,
    label_column: str = "land_cover",
    plot_id_column: str = "plot_id",
    max_pixels_per_plot: int = 200,
    point_window_px: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Sample feature vectors of the pixels under each training plot.

    Parameters
    ----------
    features : xarray.DataArray
        ``(feature, y, x)`` from :func:`geo.features.build_features`.
    training : geopandas.GeoDataFrame
        Plots (polygons and/or points, any CRS) with a class name in ``label_column``
        and an id in ``plot_id_column`` (the row index is used when that column is absent).
    label_column, plot_id_column : str
        Column names.
    max_pixels_per_plot : int, default 200
        At most this many pixels per plot, drawn at random with ``seed``.
    point_window_px : int, default 5
        Side (odd) of the square of pixels a point plot labels. A survey point of
        forest, fallow or water is recorded inside a homogeneous patch, and a single
        pixel would give the extensive classes a handful of training pixels against
        hundreds from field polygons: on the demo region a 5 x 5 window raised the
        held-out accuracy from 0.82 (1 px) and 0.85 (3 x 3) to 0.88. Use 1 when
        points may sit on patch edges.
    seed : int
        Seed of the pixel draw.

    Returns
    -------
    pandas.DataFrame
        One row per pixel: ``plot_id`` (str), ``code`` (legend code), ``row``, ``col``,
        then one column per feature. Pixels with a missing feature (no valid date) are dropped.

    Raises
    ------
    InvalidInputError
        Missing label column, an unknown class name, or no plot with a usable pixel
        inside the raster.
    """
    if point_window_px < 1 or point_window_px % 2 == 0:
        raise InvalidInputError(f"point_window_px must be odd and >= 1, got {point_window_px}")
    if label_column not in training.columns:
        raise InvalidInputError(
            f"training plots have no {label_column!r} column (columns: {list(training.columns)}); "
            "pass label_column= naming the class column"
        )
    if training.crs is None:
        raise InvalidInputError("training plots have no CRS; set one (e.g. EPSG:4326)")
    labelled = training[training[label_column].notna() & training.geometry.notna()]
    if len(labelled) < len(training):
        logger.warning(
            "%d training rows without %s or geometry ignored",
            len(training) - len(labelled),
            label_column,
        )
    codes = _label_codes(labelled[label_column], label_column)
    plot_ids = (
        labelled[plot_id_column].astype(str).to_numpy()
        if plot_id_column in labelled.columns
        else labelled.index.astype(str).to_numpy()
    )
    geometries = labelled.geometry.to_crs(features.rio.crs)
    transform = features.rio.transform()
    shape = (features.sizes["y"], features.sizes["x"])
    rng = np.random.default_rng(seed)
    parts = []
    for plot_id, code, geometry in zip(plot_ids, codes, geometries, strict=True):
        rows, cols = _plot_pixels(geometry, transform, shape, point_window_px)
        if len(rows) > max_pixels_per_plot:
            keep = np.sort(rng.choice(len(rows), size=max_pixels_per_plot, replace=False))
            rows, cols = rows[keep], cols[keep]
        parts.append(pd.DataFrame({"plot_id": plot_id, "code": code, "row": rows, "col": cols}))
    samples = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if samples.empty:
        left, bottom, right, top = features.rio.bounds()
        raise InvalidInputError(
            f"none of the {len(labelled)} training plots has a pixel inside the raster "
            f"(bounds {left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f} in {features.rio.crs}); "
            "check that the plots and the imagery cover the same area and year"
        )
    values = _gather_pixels(features, samples["row"].to_numpy(), samples["col"].to_numpy())
    samples = pd.concat(
        [samples, pd.DataFrame(values, columns=[str(f) for f in features["feature"].values])],
        axis=1,
    )
    complete = np.isfinite(values).all(axis=1)
    if not complete.any():
        raise InvalidInputError(
            f"all {len(values)} training pixels under the plots have no valid date in the season "
            "(clouds or no data everywhere); use a season with clear views of the plots"
        )
    return samples[complete].reset_index(drop=True)
