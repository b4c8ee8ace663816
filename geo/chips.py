"""What an interpreter sees around one reference point: image chips and the season's NDVI profile.

A *chip* is a small square of a raster centred on a sample point, rendered as
8-bit RGB: a drone orthomosaic or very-high-resolution (VHR) GeoTIFF as it is,
or the season composite's reflectance stretched to true or false colour. The
*profile* is the NDVI of the point's pixel in every scene of the season, the
evidence that separates a dry-season crop from the paddy and fallow around it.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.warp import transform_bounds
from rasterio.windows import from_bounds
from shapely.geometry import box

from core.errors import ImageryError, InvalidInputError
from geo.grid import AnalysisGrid

__all__ = ["ChipSpec", "render_chip", "chip_png", "covering_rasters", "point_profiles"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChipSpec:
    """How one raster is cut into chips."""

    path: str
    """The raster (GeoTIFF)."""
    bands: tuple[int, int, int] = (1, 2, 3)
    """1-based band numbers shown as red, green, blue."""
    half_width_m: float = 25.0
    """Half the chip's edge, in metres on the ground."""
    size_px: int = 256
    """Edge of the rendered chip in pixels."""
    stretch: tuple[float, float] | None = None
    """Values mapped to 0 and 255 (reflectance); ``None`` for 8-bit imagery shown as it is."""


def render_chip(spec: ChipSpec, x: float, y: float, crs: object) -> np.ndarray:
    """Cut the chip of ``spec`` centred on the point ``(x, y)`` given in ``crs``.

    The square is laid out in ``crs`` (a metric CRS: the map's), then read from
    the raster in its own CRS, resampled to ``size_px``. Outside the raster the
    chip is black.

    Parameters
    ----------
    spec : ChipSpec
        Raster, bands, size and stretch.
    x, y : float
        The point, in ``crs``.
    crs : CRS-like
        A metric CRS (the class map's).

    Returns
    -------
    numpy.ndarray
        ``(size_px, size_px, 3)`` uint8.

    Raises
    ------
    ImageryError
        The raster cannot be read or lacks a band.

    Examples
    --------
    >>> chip = render_chip(ChipSpec("segment_3.tif"), 466120.0, 2245310.0, "EPSG:32647")  # doctest: +SKIP
    >>> chip.shape  # doctest: +SKIP
    (256, 256, 3)
    """
    h = spec.half_width_m
    try:
        with rasterio.open(spec.path) as src:
            missing = [b for b in spec.bands if not 1 <= b <= src.count]
            if missing:
                raise ImageryError(f"{spec.path}: no band {missing} (it has {src.count})")
            bounds = transform_bounds(crs, src.crs, x - h, y - h, x + h, y + h)
            window = from_bounds(*bounds, transform=src.transform)
            data = src.read(
                list(spec.bands),
                window=window,
                out_shape=(3, spec.size_px, spec.size_px),
                boundless=True,
                masked=True,
                resampling=Resampling.bilinear if spec.stretch else Resampling.nearest,
            )
    except RasterioError as exc:
        raise ImageryError(f"{spec.path}: cannot cut a chip ({exc})") from None
    values = np.ma.filled(data.astype("float64"), np.nan)
    if spec.stretch is not None:
        low, high = spec.stretch
        values = (values - low) / (high - low) * 255.0
    rgb = np.nan_to_num(np.clip(values, 0, 255), nan=0.0).astype("uint8")
    return np.moveaxis(rgb, 0, -1)


def chip_png(chip: np.ndarray) -> bytes:
    """Encode an ``(h, w, 3)`` uint8 chip as PNG bytes (GDAL's PNG driver, no extra library)."""
    height, width, _ = chip.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.MemoryFile() as memory:
            with memory.open(
                driver="PNG", width=width, height=height, count=3, dtype="uint8"
            ) as png:
                png.write(np.moveaxis(chip, -1, 0))
            return bytes(memory.read())


def covering_rasters(
    points: gpd.GeoSeries, paths: Sequence[str | os.PathLike[str]]
) -> dict[str, np.ndarray]:
    """Which points each raster covers (its footprint on the ground, from its header).

    Parameters
    ----------
    points : geopandas.GeoSeries
        Sample points with a CRS.
    paths : sequence of path
        GeoTIFFs (drone orthomosaics, VHR scenes).

    Returns
    -------
    dict
        ``{path: boolean array over points}`` for every raster covering at least one point.

    Raises
    ------
    ImageryError
        A raster cannot be opened or has no CRS.
    """
    if points.crs is None:
        raise InvalidInputError("sample points have no CRS")
    found: dict[str, np.ndarray] = {}
    for path in paths:
        try:
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise ImageryError(f"{path}: no CRS; georeference the image (e.g. in QGIS)")
                footprint = gpd.GeoSeries([box(*src.bounds)], crs=src.crs).to_crs(points.crs)
        except RasterioError as exc:
            raise ImageryError(f"{path}: cannot be read ({exc})") from None
        inside = points.within(footprint.iloc[0]).to_numpy()
        if inside.any():
            found[str(path)] = inside
    return found


def point_profiles(
    season: xr.Dataset, grid: AnalysisGrid, points: gpd.GeoDataFrame, id_column: str = "sample_id"
) -> pd.DataFrame:
    """NDVI of each point's pixel in every scene of the season.

    Parameters
    ----------
    season : xarray.Dataset
        ``read_season`` output on ``grid`` with ``red``, ``nir`` and ``valid``.
    grid : AnalysisGrid
        The grid the season was read onto.
    points : geopandas.GeoDataFrame
        Points with ``id_column``.
    id_column : str
        Identifier copied into the result.

    Returns
    -------
    pandas.DataFrame
        ``<id_column>, date, ndvi`` (one row per point and scene; NaN where the
        pixel was cloud or no data, so the profile shows the gap).

    Raises
    ------
    InvalidInputError
        The season lacks red or NIR, or a point is off the grid.
    """
    missing = [v for v in ("red", "nir", "valid") if v not in season]
    if missing:
        raise InvalidInputError(f"season has no {missing}; NDVI needs red and nir")
    xy = points.geometry.to_crs(grid.crs)
    transform = grid.transform
    cols = np.floor((xy.x.to_numpy() - transform.c) / transform.a).astype("int64")
    rows = np.floor((xy.y.to_numpy() - transform.f) / transform.e).astype("int64")
    off = (cols < 0) | (cols >= grid.width) | (rows < 0) | (rows >= grid.height)
    if off.any():
        raise InvalidInputError(
            f"points {points[id_column].to_numpy()[off][:5].tolist()} lie off the analysis grid"
        )
    picked = season[["red", "nir", "valid"]].isel(
        y=xr.DataArray(rows, dims="point"), x=xr.DataArray(cols, dims="point")
    )
    picked = picked.compute()
    red, nir = picked["red"].to_numpy(), picked["nir"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = np.where(picked["valid"].to_numpy(), (nir - red) / (nir + red), np.nan)
    dates = pd.to_datetime(np.atleast_1d(picked["time"].to_numpy())).strftime("%Y-%m-%d")
    ndvi = ndvi.reshape(len(dates), len(points))
    return pd.DataFrame(
        {
            id_column: np.tile(points[id_column].to_numpy(), len(dates)),
            "date": np.repeat(dates, len(points)),
            "ndvi": np.round(ndvi.ravel(), 4),
        }
    )
