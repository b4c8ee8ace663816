"""Raster previews: the class map and NDVI composite as small images for maps.

A published map never embeds a full-resolution raster. Each COG is read once
through a warped, decimated window (GDAL picks the COG overviews), so memory
stays bounded by ``max_size`` whatever the size of the mosaic, then coloured
with the shared legend (``geo/landcover.py``) or an NDVI colour ramp.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from matplotlib import colormaps
from matplotlib.colors import Normalize, to_rgba
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import array_bounds
from rasterio.vrt import WarpedVRT
from rasterio.warp import calculate_default_transform, transform_bounds

from core.errors import ImageryError, InvalidInputError
from core.io import atomic_path
from core.legend import CROPS_OF_INTEREST, LEGEND, NODATA, code_of

__all__ = [
    "RasterPreview",
    "NDVI_CMAP",
    "NDVI_RANGE",
    "DENSITY_CMAP",
    "cultivation_density",
    "density_rgba",
    "read_preview",
    "class_rgba",
    "ndvi_rgba",
    "write_overlay_png",
]

logger = logging.getLogger(__name__)

NDVI_CMAP = "RdYlGn"
"""Colour ramp of NDVI (brown bare soil to green canopy) on every map."""
NDVI_RANGE: tuple[float, float] = (-0.2, 0.9)
"""NDVI values mapped to the ends of the ramp; outside values are clipped."""
DENSITY_CMAP = "YlOrRd"
"""Colour ramp of cultivation density (ha per km²) on the public map."""


@dataclass(frozen=True)
class RasterPreview:
    """A decimated, possibly reprojected copy of one band of a raster."""

    values: np.ndarray
    """2-D array; float with NaN for no data (NDVI) or uint8 codes with 0 for no data."""
    bounds: tuple[float, float, float, float]
    """``(left, bottom, right, top)`` in :attr:`crs`."""
    crs: CRS
    """Coordinate reference system of :attr:`values`."""


def _fit(width: int, height: int, max_size: int) -> tuple[int, int]:
    scale = min(1.0, max_size / max(width, height))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _overview_level(src: rasterio.DatasetReader, decimation: float) -> int | None:
    """The coarsest overview of band 1 still as fine as the preview (``decimation`` source
    pixels per preview pixel), or None for the full resolution.

    The warper reads the level it is given: from the full resolution, a preview of the
    16x benchmark region's class map read all 17 Mpx (0.6 s), and the read grows with the
    area; from the overview it reads about as many pixels as the preview has.
    """
    level = None
    for index, factor in enumerate(src.overviews(1)):
        if factor <= decimation:
            level = index
    return level


def read_preview(
    path: str | Path,
    *,
    categorical: bool,
    max_size: int = 1600,
    dst_crs: str | CRS | None = None,
) -> RasterPreview:
    """Read band 1 of a raster at most ``max_size`` pixels on its long side.

    Parameters
    ----------
    path
        A GeoTIFF / COG.
    categorical
        ``True`` for class codes (nearest-neighbour, ``0`` = no data kept as 0),
        ``False`` for continuous values (averaged, no data as NaN).
    max_size
        Longest side of the preview in pixels; bounds the memory used.
    dst_crs
        Reproject to this CRS (e.g. ``"EPSG:4326"`` for web maps); ``None``
        keeps the raster's own CRS.

    Returns
    -------
    RasterPreview

    Raises
    ------
    ImageryError
        When the file cannot be opened or has no CRS.
    """
    resampling = Resampling.nearest if categorical else Resampling.average
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise ImageryError(f"{path}: cannot open raster for the map preview ({exc})") from exc
    with src:
        if src.crs is None:
            raise ImageryError(f"{path}: raster has no CRS; write it with a CRS before publishing")
        target_crs = CRS.from_user_input(dst_crs) if dst_crs is not None else src.crs
        full_transform, full_w, full_h = calculate_default_transform(
            src.crs, target_crs, src.width, src.height, *src.bounds
        )
        width, height = _fit(full_w, full_h, max_size)
        transform = full_transform @ Affine.scale(full_w / width, full_h / height)
        nodata = src.nodata if src.nodata is not None else (NODATA if categorical else None)
        vrt_options = {"crs": target_crs, "transform": transform, "width": width, "height": height}
        vrt_options["resampling"] = resampling
        if nodata is not None:
            vrt_options["src_nodata"] = nodata
            vrt_options["nodata"] = nodata
        level = _overview_level(src, min(full_w / width, full_h / height))
        with contextlib.ExitStack() as stack:
            source = src if level is None else stack.enter_context(
                rasterio.open(path, overview_level=level)
            )  # fmt: skip
            vrt = stack.enter_context(WarpedVRT(source, **vrt_options))
            band = vrt.read(1, masked=True)
    if categorical:
        values = np.asarray(band.filled(NODATA), dtype=np.uint8)
    else:
        values = np.asarray(band.astype("float32").filled(np.nan))
    bounds = array_bounds(height, width, transform)
    logger.debug("preview of %s: %dx%d px in %s", path, width, height, target_crs)
    return RasterPreview(
        values=values, bounds=(bounds[0], bounds[1], bounds[2], bounds[3]), crs=target_crs
    )


def class_rgba(codes: np.ndarray) -> np.ndarray:
    """Colour class codes with the legend colours; no data (and unknown codes) transparent."""
    lookup = np.zeros((256, 4), dtype=np.uint8)
    for entry in LEGEND:
        lookup[entry.code] = np.round(np.array(to_rgba(entry.colour)) * 255)
    return lookup[np.asarray(codes, dtype=np.uint8)]


def ndvi_rgba(values: np.ndarray) -> np.ndarray:
    """Colour NDVI with :data:`NDVI_CMAP` over :data:`NDVI_RANGE`; NaN transparent."""
    norm = Normalize(*NDVI_RANGE, clip=True)
    rgba = colormaps[NDVI_CMAP](norm(np.nan_to_num(values, nan=0.0)), bytes=True)
    rgba[~np.isfinite(values)] = 0
    return rgba


def cultivation_density(
    class_map: str | Path,
    out_tif: str | Path,
    *,
    cell_km2: float = 1.0,
    crops: tuple[str, ...] = CROPS_OF_INTEREST,
) -> Path:
    """Generalise a class map to hectares of cultivation per km² on cells of ``cell_km2``.

    This is what a public map may show: each output cell is the mapped area of
    ``crops`` inside it (per km²), so no field outline survives. The class map is
    read in dask chunks, so a national mosaic does not need to fit in memory.

    Parameters
    ----------
    class_map
        uint8 legend codes (0 no data) in a projected CRS with square pixels in metres.
    out_tif
        The generalised GeoTIFF (float32, NaN where the cell has no data), written atomically.
    cell_km2
        Area of one output cell, in km² (1.0: cells of 1 km × 1 km).
    crops
        Legend names counted as cultivation.

    Returns
    -------
    Path

    Raises
    ------
    InvalidInputError
        The class map is in geographic degrees, or ``cell_km2`` is not positive.
    """
    import rioxarray

    if not cell_km2 > 0:
        raise InvalidInputError(f"density cell of {cell_km2!r} km²: give a positive area")
    codes = rioxarray.open_rasterio(class_map, chunks={"x": 2048, "y": 2048}).squeeze("band")
    if codes.rio.crs is None or not codes.rio.crs.is_projected:
        raise InvalidInputError(
            f"{Path(class_map).name}: the class map is not in a projected CRS (metres); "
            "a density grid needs pixel sizes in metres"
        )
    pixel_m = abs(float(codes.rio.resolution()[0]))
    factor = max(1, round(math.sqrt(cell_km2) * 1000 / pixel_m))
    # as numbers: cells at the edge are padded, and padding a boolean array makes objects
    valid = (codes != NODATA).astype("float32")
    grown = codes.isin([code_of(c) for c in crops]).astype("float32")
    coarse = {"x": factor, "y": factor}
    share = grown.coarsen(coarse, boundary="pad").sum() / valid.coarsen(
        coarse, boundary="pad"
    ).sum().where(lambda n: n > 0)
    density = (share * 100.0).astype("float32")  # ha per km²
    # cell centres from the coarse transform (a padded edge cell's mean coordinate is off)
    transform = codes.rio.transform() * Affine.scale(factor, factor)
    density = density.assign_coords(
        x=transform.c + transform.a * (np.arange(density.sizes["x"]) + 0.5),
        y=transform.f + transform.e * (np.arange(density.sizes["y"]) + 0.5),
    )
    density = density.rio.write_crs(codes.rio.crs).rio.write_transform(transform)
    density = density.rio.write_nodata(np.nan)
    with atomic_path(out_tif) as tmp:
        density.compute().rio.to_raster(tmp, driver="GTiff", compress="deflate")
    logger.debug("density of %s on %d-pixel cells: %s", class_map, factor, out_tif)
    return Path(out_tif)


def density_rgba(values: np.ndarray, vmax: float) -> np.ndarray:
    """Colour ha/km² with :data:`DENSITY_CMAP` from 0 to ``vmax``; none and no data transparent."""
    norm = Normalize(0.0, max(float(vmax), 1e-9), clip=True)
    rgba = colormaps[DENSITY_CMAP](norm(np.nan_to_num(values, nan=0.0)), bytes=True)
    rgba[~np.isfinite(values) | (np.nan_to_num(values) <= 0)] = 0
    return rgba


def write_overlay_png(
    raster: str | Path,
    out_png: str | Path,
    *,
    kind: str,
    max_size: int = 1600,
    vmax: float | None = None,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Render a raster as a transparent PNG for a Leaflet image overlay.

    Parameters
    ----------
    raster
        Class map (uint8 legend codes), NDVI (float) COG or a density grid
        (:func:`cultivation_density`).
    out_png
        Output PNG, written atomically.
    kind
        ``"classes"``, ``"ndvi"`` or ``"density"``.
    max_size
        Longest side of the PNG in pixels.
    vmax
        Top of the density colour ramp (ha/km²); default the grid's maximum.

    Returns
    -------
    tuple
        Leaflet bounds ``((south, west), (north, east))`` in degrees (EPSG:4326);
        the image itself is in Web Mercator rows and columns.
    """
    import matplotlib.image

    if kind not in ("classes", "ndvi", "density"):
        raise ValueError(f"kind must be 'classes', 'ndvi' or 'density', got {kind!r}")
    # Leaflet stretches an image overlay linearly in Web Mercator: warping to
    # EPSG:3857 puts every pixel where it belongs; the corners give the bounds.
    preview = read_preview(
        raster, categorical=kind == "classes", max_size=max_size, dst_crs="EPSG:3857"
    )
    if kind == "classes":
        rgba = class_rgba(preview.values)
    elif kind == "ndvi":
        rgba = ndvi_rgba(preview.values)
    else:
        top = vmax if vmax is not None else float(np.nanmax(preview.values, initial=0.0))
        rgba = density_rgba(preview.values, top)
    with atomic_path(out_png) as tmp:
        matplotlib.image.imsave(tmp, rgba, format="png")
    west, south, east, north = transform_bounds("EPSG:3857", "EPSG:4326", *preview.bounds)
    return (south, west), (north, east)
