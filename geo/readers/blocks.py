"""Block readers: one dask task reads one block of a scene onto the analysis grid.

Every task opens its files, reads (or warps) only its window, scales and
masks it, so no task ever needs more than one block of memory and the graph
can run on threads or on a Dask cluster alike (tasks hold only paths and
small records, which pickle).
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import dask.array as da
import numpy as np
import rasterio
import rasterio.errors
from affine import Affine
from dask.array.core import normalize_chunks
from dask.base import tokenize
from rasterio.enums import MaskFlags, Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from core.errors import ImageryError
from geo.grid import AnalysisGrid
from geo.readers.masks import clear_from_mask

if TYPE_CHECKING:
    from geo.readers.spec import BandFile, MaskFile

__all__ = [
    "read_raw",
    "open_file",
    "integer_upsampling",
    "read_on_pixel_edges",
    "scene_block",
    "clear_block",
    "lazy_blocks",
]


def read_raw(
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
        src = open_file(path)
        factor = integer_upsampling(src, grid_crs, block_transform, resampling)
        if factor:
            res = block_transform.a
            row = int(round((src.transform.f - block_transform.f) / res))
            col = int(round((block_transform.c - src.transform.c) / res))
            return read_on_pixel_edges(src, band, row, col, height, width, factor)
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


OPEN_FILES_PER_THREAD = 32
"""Raster files each thread keeps open between blocks (least recently used closed first)."""

_open_files = threading.local()


def open_file(path: str) -> Any:
    """``path`` opened for reading, kept open for the next block this thread reads from it.

    Opening a file again for every block costs a quarter of the read time. A file is
    known by its path, inode, size and modification time, so a file replaced on disk
    is opened afresh.
    """
    try:
        stat = os.stat(path)
        key: tuple[Any, ...] = (path, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    except OSError:  # not a local file (a URL, /vsi...): rasterio says what is wrong
        key = (path,)
    files: OrderedDict[tuple[Any, ...], Any] = getattr(_open_files, "files", None) or OrderedDict()
    _open_files.files = files
    src = files.pop(key, None)
    if src is None or src.closed:
        src = rasterio.open(path)
    files[key] = src
    while len(files) > OPEN_FILES_PER_THREAD:
        files.popitem(last=False)[1].close()
    return src


def integer_upsampling(
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


def read_on_pixel_edges(
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


def scene_block(
    bands: tuple[BandFile, ...],
    mask: MaskFile | None,
    grid_crs: Any,
    block_transform: Affine,
    height: int,
    width: int,
    resampling: Resampling,
    mask_snow: bool,
) -> np.ndarray:
    """All bands of one block as float32 reflectance ``(band, y, x)``, NaN where invalid.

    One task per block for the whole scene: the mask is read first, and a
    block with no clear pixel reads no band at all.
    """
    reflectance = np.full((len(bands), height, width), np.nan, dtype=np.float32)
    if mask is not None:
        ok = clear_block(mask, grid_crs, block_transform, height, width, mask_snow)
    else:
        ok = np.ones((height, width), dtype=bool)
    if not ok.any():
        return reflectance
    for i, spec in enumerate(bands):
        values, inside = read_raw(
            spec.path, spec.band, grid_crs, block_transform, height, width, resampling
        )
        ok &= inside if spec.nodata is None else inside & (values != spec.nodata)
        np.multiply(values, np.float32(spec.scale), out=reflectance[i], casting="unsafe")
        reflectance[i] += np.float32(spec.offset)
    reflectance[:, ~ok] = np.nan
    return reflectance


def clear_block(
    spec: MaskFile,
    grid_crs: Any,
    block_transform: Affine,
    height: int,
    width: int,
    mask_snow: bool,
) -> np.ndarray:
    values, inside = read_raw(
        spec.path, spec.band, grid_crs, block_transform, height, width, Resampling.nearest
    )
    return clear_from_mask(values, spec.kind, mask_snow=mask_snow) & inside


def lazy_blocks(
    func: Any,
    spec: Any,
    grid: AnalysisGrid,
    chunk_px: int,
    dtype: Any,
    *extra: Any,
    layers: int | None = None,
) -> da.Array:
    """Dask array on ``grid``; block (i, j) is ``func(*spec, crs, transform, h, w, *extra)``.

    ``spec`` is a tuple of leading arguments; with ``layers`` each block has
    that many layers in front, ``(layers, h, w)``, in one chunk.
    """
    chunks = normalize_chunks((chunk_px, chunk_px), grid.shape)
    name = f"{func.__name__.strip('_')}-{tokenize(spec, grid, chunk_px, *extra)}"
    graph: dict[Any, Any] = {}
    row_off = 0
    for i, block_h in enumerate(chunks[0]):
        col_off = 0
        for j, block_w in enumerate(chunks[1]):
            block_transform = grid.transform @ Affine.translation(col_off, row_off)
            key = (name, i, j) if layers is None else (name, 0, i, j)
            graph[key] = (func, *spec, grid.crs, block_transform, block_h, block_w, *extra)
            col_off += block_w
        row_off += block_h
    if layers is not None:
        chunks = ((layers,), *chunks)
    return da.Array(graph, name, chunks, dtype=dtype)
