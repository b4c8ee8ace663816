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
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np
import rasterio
import rasterio.errors
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from dask.array.core import normalize_chunks
from dask.base import tokenize
from rasterio.enums import MaskFlags, Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from geo.grid import AnalysisGrid
from geo.readers.masks import clear_from_mask
from models.errors import ImageryError

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
    "all_masked_message",
]

logger = logging.getLogger(__name__)

COMMON_BANDS = (
    "coastal",
    "blue",
    "green",
    "red",
    "rededge1",
    "rededge2",
    "rededge3",
    "nir",
    "nir08",
    "swir1",
    "swir2",
)
"""admon's band names, in spectral order."""

DEFAULT_CHUNK_PX = 512


class NoOverlapError(ImageryError):
    """The scene's footprint does not intersect the analysis grid."""


class AllMaskedError(ImageryError):
    """The scene has no clear pixel over the analysis grid (cloud, no data)."""


@dataclass(frozen=True)
class BandFile:
    """Where one band lives and how its numbers become reflectance."""

    name: str
    """Common band name (one of :data:`COMMON_BANDS`)."""
    path: str
    """Local path or URL of the raster file."""
    band: int = 1
    """1-based band index inside the file."""
    scale: float = 1.0
    """Reflectance = DN * scale + offset."""
    offset: float = 0.0
    """Added after scaling."""
    nodata: float | None = None
    """DN that marks a missing pixel (``None``: none)."""


@dataclass(frozen=True)
class MaskFile:
    """A quality band and how to read it."""

    path: str
    """Local path or URL of the mask raster."""
    kind: str
    """``"scl"`` (Sentinel-2), ``"qa_pixel"`` (Landsat C2) or ``"alpha"`` (0 = transparent)."""
    band: int = 1
    """1-based band index inside the file."""


@dataclass(frozen=True)
class SceneSpec:
    """A scene as an adapter describes it; no pixels read yet."""

    source: str
    """What the user passed (for messages)."""
    sensor: str
    """``sentinel-2``, ``landsat``, ``drone`` or what the STAC item says."""
    time: np.datetime64 | None
    """Acquisition time (UTC), or ``None`` when the source does not say."""
    bands: tuple[BandFile, ...]
    """One entry per available band."""
    mask: MaskFile | None = None
    """Quality band, if any."""
    attrs: dict[str, Any] = field(default_factory=dict)
    """Extra metadata copied to the Dataset attributes."""


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


def native_grid(info: FileInfo) -> AnalysisGrid:
    """The grid of a file itself (used when the caller gives no grid)."""
    return AnalysisGrid.from_transform(info.crs, info.transform, info.width, info.height)


def _read_raw(
    path: str,
    band: int,
    grid_crs: Any,
    block_transform: Affine,
    height: int,
    width: int,
    resampling: Resampling,
) -> tuple[np.ndarray, np.ndarray]:
    """Read one block of ``path`` onto the grid: (values, inside footprint and not nodata)."""
    try:
        with rasterio.open(path) as src:
            factor = _integer_upsampling(src, grid_crs, block_transform, resampling)
            if factor:
                res = block_transform.a
                row = int(round((src.transform.f - block_transform.f) / res))
                col = int(round((block_transform.c - src.transform.c) / res))
                return _read_on_pixel_edges(src, band, row, col, height, width, factor)
            with WarpedVRT(
                src,
                crs=grid_crs,
                transform=block_transform,
                width=width,
                height=height,
                resampling=resampling,
                add_alpha=True,
            ) as vrt:
                values = vrt.read(band)
                inside = vrt.read(vrt.count) > 0
            return values, inside
    except rasterio.errors.RasterioError as exc:
        raise ImageryError(
            f"{path}: cannot read band {band} for block at {block_transform.c:.1f}, "
            f"{block_transform.f:.1f} ({exc}); the file is corrupt or truncated, fetch it again"
        ) from exc


def _integer_upsampling(
    src: Any, grid_crs: Any, block_transform: Affine, resampling: Resampling
) -> int:
    """k if every grid pixel lies inside one source pixel (k x k grid px each), else 0.

    Then a windowed read plus ``np.repeat`` gives exactly what nearest-neighbour
    warping would, without GDAL's warper: the common case of 10 m and 20 m
    Sentinel-2 bands on a 10 m grid in the scene's own CRS.
    """
    st, res = src.transform, block_transform.a
    if src.crs != grid_crs or st.b or st.d or block_transform.b or block_transform.d:
        return 0
    if not math.isclose(st.a, -st.e) or not math.isclose(res, -block_transform.e):
        return 0
    factor = st.a / res
    if abs(factor - round(factor)) > 1e-9 or round(factor) < 1:
        return 0
    if round(factor) > 1 and resampling != Resampling.nearest:
        return 0
    col = (block_transform.c - st.c) / res
    row = (st.f - block_transform.f) / res
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return 0
    return int(round(factor))


def _read_on_pixel_edges(
    src: Any, band: int, row: int, col: int, height: int, width: int, factor: int
) -> tuple[np.ndarray, np.ndarray]:
    """Windowed read of a block whose pixels nest in the file's (``factor`` per side)."""
    values = np.zeros((height, width), dtype=src.dtypes[band - 1])
    inside = np.zeros((height, width), dtype=bool)
    r0, r1 = max(row, 0), min(row + height, src.height * factor)
    c0, c1 = max(col, 0), min(col + width, src.width * factor)
    if r0 >= r1 or c0 >= c1:
        return values, inside
    sr0, sr1 = r0 // factor, (r1 - 1) // factor + 1
    sc0, sc1 = c0 // factor, (c1 - 1) // factor + 1
    window = Window(sc0, sr0, sc1 - sc0, sr1 - sr0)
    crop = (
        slice(r0 - sr0 * factor, r1 - sr0 * factor),
        slice(c0 - sc0 * factor, c1 - sc0 * factor),
    )
    part = (slice(r0 - row, r1 - row), slice(c0 - col, c1 - col))

    def upsample(array: np.ndarray) -> np.ndarray:
        if factor == 1:
            return array
        return np.repeat(np.repeat(array, factor, axis=0), factor, axis=1)[crop]

    values[part] = upsample(src.read(band, window=window))
    inside[part] = True
    if MaskFlags.per_dataset in src.mask_flag_enums[band - 1]:  # internal mask or alpha
        inside[part] &= upsample(src.read_masks(band, window=window)) > 0
    return values, inside


def _reflectance_block(
    spec: BandFile,
    grid_crs: Any,
    block_transform: Affine,
    height: int,
    width: int,
    resampling: Resampling,
) -> np.ndarray:
    values, inside = _read_raw(
        spec.path, spec.band, grid_crs, block_transform, height, width, resampling
    )
    ok = inside if spec.nodata is None else inside & (values != spec.nodata)
    reflectance = values.astype(np.float32) * np.float32(spec.scale) + np.float32(spec.offset)
    reflectance[~ok] = np.nan
    return reflectance


def _clear_block(
    spec: MaskFile,
    grid_crs: Any,
    block_transform: Affine,
    height: int,
    width: int,
    mask_snow: bool,
) -> np.ndarray:
    values, inside = _read_raw(
        spec.path, spec.band, grid_crs, block_transform, height, width, Resampling.nearest
    )
    return clear_from_mask(values, spec.kind, mask_snow=mask_snow) & inside


def _lazy_blocks(
    func: Any, spec: Any, grid: AnalysisGrid, chunk_px: int, dtype: Any, *extra: Any
) -> da.Array:
    """Dask array on ``grid``; block (i, j) is ``func(spec, crs, transform, h, w, *extra)``."""
    chunks = normalize_chunks((chunk_px, chunk_px), grid.shape)
    name = f"{func.__name__.strip('_')}-{tokenize(spec, grid, chunk_px, *extra)}"
    graph: dict[Any, Any] = {}
    row_off = 0
    for i, block_h in enumerate(chunks[0]):
        col_off = 0
        for j, block_w in enumerate(chunks[1]):
            block_transform = grid.transform @ Affine.translation(col_off, row_off)
            graph[(name, i, j)] = (
                func,
                spec,
                grid.crs,
                block_transform,
                block_h,
                block_w,
                *extra,
            )
            col_off += block_w
        row_off += block_h
    return da.Array(graph, name, chunks, dtype=dtype)


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
    if spec.mask is None:
        return None
    return _lazy_blocks(_clear_block, spec.mask, grid, chunk_px, bool, mask_snow).any()


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
        grid = native_grid(infos[finest.path])
    _check_overlap(spec, infos, grid)

    reflectance = {
        b.name: _lazy_blocks(_reflectance_block, b, grid, chunk_px, np.float32, resampling)
        for b in spec.bands
    }
    valid = None
    for array in reflectance.values():
        finite = ~da.isnan(array)
        valid = finite if valid is None else valid & finite
    if spec.mask is not None:
        clear = _lazy_blocks(_clear_block, spec.mask, grid, chunk_px, bool, mask_snow)
        if require_clear and not bool(clear.any().compute()):
            raise AllMaskedError(all_masked_message(spec))
        valid = valid & clear
    dims = ("y", "x")
    coords: dict[str, Any] = {"y": grid.y_coords(), "x": grid.x_coords()}
    if spec.time is not None:
        coords["time"] = np.datetime64(spec.time, "ns")
    data_vars = {
        name: (dims, da.where(valid, array, np.float32(np.nan)))
        for name, array in reflectance.items()
    }
    data_vars["valid"] = (dims, valid)
    scene = xr.Dataset(data_vars, coords=coords)
    scene.attrs.update({"source": spec.source, "sensor": spec.sensor, **spec.attrs})
    for name in reflectance:
        scene[name].attrs.update({"units": "1", "long_name": f"{name} surface reflectance"})
    scene = scene.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    return scene
