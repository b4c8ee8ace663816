"""What every imagery adapter produces, and the one lazy reader behind them all.

An adapter (STAC item, Sentinel-2 folder, Landsat scene, drone ortho) only
describes a scene: which file and band holds each common band, how its digital
numbers scale to reflectance, and which file masks it. :func:`load_scene` turns
that description into a dask-backed :class:`xarray.Dataset` on an
:class:`~geo.grid.AnalysisGrid`, one block at a time: every dask task opens the
file, reads (or warps) just its window, scales and masks it. Nothing is read
until the data are computed, and no task needs more than one block.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import rasterio
import rasterio.errors
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.enums import Resampling
from rasterio.warp import transform_bounds

from core.errors import AllMaskedError, ImageryError, InvalidInputError, NoOverlapError
from geo.grid import AnalysisGrid
from geo.readers.blocks import clear_block, lazy_blocks, scene_block
from geo.readers.spec import COMMON_BANDS, BandFile, MaskFile, SceneSpec

__all__ = [
    "BandFile",
    "MaskFile",
    "SceneSpec",
    "FileInfo",
    "NoOverlapError",
    "AllMaskedError",
    "COMMON_BANDS",
    "inspect_file",
    "native_grid",
    "load_scene",
    "clear_check",
    "any_clear",
    "clear_share",
    "all_masked_message",
]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_PX = 512


@dataclass(frozen=True)
class FileInfo:
    """Header facts of one raster file."""

    crs: Any
    transform: Affine
    width: int
    height: int
    count: int
    dtype: str


def inspect_file(path: str) -> FileInfo:
    """Open a raster header; raise :class:`ImageryError` naming the file if it cannot be used."""
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise ImageryError(
                    f"{path}: raster has no CRS; georeference it (e.g. gdal_edit.py -a_srs)"
                )
            return FileInfo(src.crs, src.transform, src.width, src.height, src.count, src.dtypes[0])
    except rasterio.errors.RasterioError as exc:
        raise ImageryError(
            f"{path}: cannot open raster ({exc}); the file is missing, corrupt or truncated"
        ) from exc


def native_grid(info: FileInfo, path: str = "") -> AnalysisGrid:
    """The grid of a file itself (used when the caller gives no grid).

    Raises
    ------
    ImageryError
        The file is in degrees, rotated or has non-square pixels: it needs an explicit grid.
    """
    try:
        return AnalysisGrid.from_transform(info.crs, info.transform, info.width, info.height)
    except InvalidInputError as exc:
        raise ImageryError(
            f"{path}: cannot be read on its own grid: {exc}; pass "
            "grid=AnalysisGrid.for_area(...) to read it onto a metric grid"
        ) from exc


def _check_overlap(spec: SceneSpec, infos: dict[str, FileInfo], grid: AnalysisGrid) -> None:
    info = infos[spec.bands[0].path]
    left, top = info.transform.c, info.transform.f
    right = left + info.width * info.transform.a
    bottom = top + info.height * info.transform.e
    s_left, s_bottom, s_right, s_top = transform_bounds(
        info.crs, grid.crs, left, min(bottom, top), right, max(bottom, top), densify_pts=21
    )
    g_left, g_bottom, g_right, g_top = grid.bounds
    if s_left >= g_right or s_right <= g_left or s_bottom >= g_top or s_top <= g_bottom:
        raise NoOverlapError(
            f"{spec.source}: scene footprint "
            f"{tuple(round(v, 1) for v in (s_left, s_bottom, s_right, s_top))} "
            f"does not intersect the analysis grid {grid.bounds} ({grid.crs}); "
            "choose scenes that cover the area"
        )


def all_masked_message(spec: SceneSpec) -> str:
    """The message of :class:`AllMaskedError` for ``spec``."""
    mask = spec.mask.path if spec.mask is not None else "(no mask)"
    return (
        f"{spec.source}: no clear pixel over the analysis grid in mask {mask} "
        "(all cloud, shadow or no data); scene skipped"
    )


def clear_check(
    spec: SceneSpec,
    grid: AnalysisGrid,
    *,
    chunk_px: int = DEFAULT_CHUNK_PX,
    mask_snow: bool = False,
) -> da.Array | None:
    """Lazy boolean scalar: does the scene's mask have any clear pixel on ``grid``?

    ``None`` when the scene has no mask. Several scenes' checks can then be
    computed together (one pass, in parallel) instead of one after the other.
    """
    blocks = _clear_blocks(spec, grid, chunk_px, mask_snow)
    return None if blocks is None else blocks.any()


def _clear_blocks(spec: SceneSpec, grid: AnalysisGrid, chunk_px: int, mask_snow: bool):
    """Lazy boolean blocks of the scene's clear pixels on its mask's grid; ``None`` without a mask."""
    if spec.mask is None:
        return None
    check_grid = _mask_native_grid(spec.mask, grid) or grid
    return lazy_blocks(clear_block, (spec.mask,), check_grid, chunk_px, bool, mask_snow)


def any_clear(
    spec: SceneSpec,
    grid: AnalysisGrid,
    *,
    chunk_px: int = DEFAULT_CHUNK_PX,
    mask_snow: bool = False,
) -> bool | None:
    """Does the scene's mask have any clear pixel on ``grid``? Stops at the first one.

    The answer of :func:`clear_check`, read a few mask blocks at a time (twice as
    many each round) so that a scene with clear pixels near its first blocks is not
    read whole before its bands are. ``None`` when the scene has no mask.
    """
    blocks = _clear_blocks(spec, grid, chunk_px, mask_snow)
    if blocks is None:
        return None
    positions = [(i, j) for i in range(blocks.numblocks[0]) for j in range(blocks.numblocks[1])]
    start, step = 0, 4
    while start < len(positions):
        batch = positions[start : start + step]
        if any(dask.compute(*[blocks.blocks[i, j].any() for i, j in batch])):
            return True
        start, step = start + step, step * 2
    return False


def clear_share(
    spec: SceneSpec,
    grid: AnalysisGrid,
    *,
    chunk_px: int = DEFAULT_CHUNK_PX,
    mask_snow: bool = False,
) -> da.Array | None:
    """Lazy float scalar: the share of ``grid`` pixels the scene's mask calls clear.

    Reads the mask alone (no reflectance band); ``None`` when the scene has no mask.
    """
    if spec.mask is None:
        return None
    return lazy_blocks(clear_block, (spec.mask,), grid, chunk_px, bool, mask_snow).mean()


def _mask_native_grid(mask: MaskFile, grid: AnalysisGrid) -> AnalysisGrid | None:
    """The mask file's own pixels over ``grid`` (fewer to read), if both share a CRS."""
    info = inspect_file(mask.path)
    if info.crs != grid.crs or info.transform.b or info.transform.d:
        return None
    if info.crs.is_geographic:
        return None
    try:
        own = native_grid(info, mask.path)
    except ImageryError:
        return None
    left, bottom = max(own.bounds[0], grid.bounds[0]), max(own.bounds[1], grid.bounds[1])
    right, top = min(own.bounds[2], grid.bounds[2]), min(own.bounds[3], grid.bounds[3])
    if left >= right or bottom >= top:
        return None
    res = own.resolution
    # snap outward onto the mask's own pixel edges
    snapped = (
        own.bounds[0] + math.floor(round((left - own.bounds[0]) / res, 6)) * res,
        own.bounds[3] - math.ceil(round((own.bounds[3] - bottom) / res, 6)) * res,
        own.bounds[0] + math.ceil(round((right - own.bounds[0]) / res, 6)) * res,
        own.bounds[3] - math.floor(round((own.bounds[3] - top) / res, 6)) * res,
    )
    return AnalysisGrid(grid.crs, res, snapped)


def load_scene(
    spec: SceneSpec,
    grid: AnalysisGrid | None = None,
    *,
    chunk_px: int = DEFAULT_CHUNK_PX,
    resampling: Resampling = Resampling.nearest,
    mask_snow: bool = False,
    require_clear: bool = True,
) -> xr.Dataset:
    """Turn a :class:`SceneSpec` into a lazy reflectance Dataset on ``grid``.

    Parameters
    ----------
    spec : SceneSpec
        The scene, as an adapter described it.
    grid : AnalysisGrid, optional
        Target pixels; by default the grid of the scene's finest band.
    chunk_px : int, default 512
        Dask block edge in pixels.
    resampling : rasterio.enums.Resampling, default nearest
        Used for reflectance bands that must be warped; masks always use nearest.
    mask_snow : bool, default False
        Also mask snow/ice.
    require_clear : bool, default True
        Read the mask once and raise :class:`AllMaskedError` if no pixel is clear.

    Returns
    -------
    xarray.Dataset
        float32 reflectance variables plus boolean ``valid``.
    """
    infos = {path: inspect_file(path) for path in {b.path for b in spec.bands}}
    if spec.mask is not None:
        infos[spec.mask.path] = inspect_file(spec.mask.path)
    crs_seen = {str(info.crs): path for path, info in infos.items()}
    if len(crs_seen) > 1:
        listed = "; ".join(f"{path} is {crs}" for crs, path in crs_seen.items())
        raise ImageryError(
            f"{spec.source}: assets of one scene are in different CRS ({listed}); "
            "reproject them to one CRS or fix the georeferencing"
        )
    if grid is None:
        finest = min(spec.bands, key=lambda b: abs(infos[b.path].transform.a))
        grid = native_grid(infos[finest.path], finest.path)
    _check_overlap(spec, infos, grid)

    if require_clear and any_clear(spec, grid, chunk_px=chunk_px, mask_snow=mask_snow) is False:
        raise AllMaskedError(all_masked_message(spec))
    stacked = lazy_blocks(
        scene_block,
        (spec.bands, spec.mask),
        grid,
        chunk_px,
        np.float32,
        resampling,
        mask_snow,
        layers=len(spec.bands),
    )
    reflectance = {b.name: stacked[i] for i, b in enumerate(spec.bands)}
    valid = ~da.isnan(stacked[0])  # a block sets every band NaN where any input is invalid
    dims = ("y", "x")
    coords: dict[str, Any] = {"y": grid.y_coords(), "x": grid.x_coords()}
    if spec.time is not None:
        coords["time"] = np.datetime64(spec.time, "ns")
    data_vars = {name: (dims, array) for name, array in reflectance.items()}
    data_vars["valid"] = (dims, valid)
    scene = xr.Dataset(data_vars, coords=coords)
    scene.attrs.update({"source": spec.source, "sensor": spec.sensor, **spec.attrs})
    scene.attrs["assumptions"] = list(spec.assumptions)
    for name in reflectance:
        scene[name].attrs.update({"units": "1", "long_name": f"{name} surface reflectance"})
    scene = scene.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    return scene
