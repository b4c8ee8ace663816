"""Cloud Optimized GeoTIFFs: the one writer of admon's rasters.

``write_cog`` computes a lazy (dask) raster a few blocks at a time into a tiled
scratch GeoTIFF and copies it to a COG with overviews (``copy_as_cog``), so
memory is bounded by the block size and a COG appears only when complete.
Writers that produce their blocks themselves (the classifier) use
``scratch_geotiff`` and ``copy_as_cog`` directly, with the same creation options.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import numpy as np
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.windows import Window

from core.errors import InvalidInputError
from core.io import TMP_PREFIX, atomic_path, release_memory

__all__ = ["write_cog", "scratch_geotiff", "copy_as_cog"]

logger = logging.getLogger(__name__)


def _as_band_array(data: xr.DataArray | xr.Dataset) -> tuple[xr.DataArray, list[str]]:
    """(band, y, x) array and the band descriptions."""
    if isinstance(data, xr.Dataset):
        names = [n for n, v in data.data_vars.items() if v.dims == ("y", "x")]
        if not names:
            raise InvalidInputError("write_cog: the Dataset has no (y, x) variable to write")
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
    raise InvalidInputError(f"write_cog: expected dims (y, x) or (band, y, x), got {data.dims}")


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
    appears under ``path`` only when complete (``core.io.atomic_path``).

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
        raise InvalidInputError(
            f"write_cog {path}: data have no CRS; attach one with .rio.write_crs()"
        )
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
    resampling = overview_resampling or ("average" if is_float else "nearest")
    with scratch_geotiff(final) as scratch:
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
        copy_as_cog(scratch, final, compress=compress, block_px=block_px, resampling=resampling)
    release_memory()
    logger.info("wrote COG %s (%d bands, %s)", final, len(names), dtype.name)
    return final


@contextlib.contextmanager
def scratch_geotiff(final: str | os.PathLike[str]) -> Iterator[Path]:
    """A scratch GeoTIFF path beside ``final``, removed on the way out.

    Blocks go to a plain tiled GeoTIFF first because GDAL's COG driver only copies
    whole datasets. The scratch name carries ``core.io``'s temporary prefix, so
    ``clean_partial()`` removes what a killed run leaves behind.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".scratch.tif", dir=final.parent)
    os.close(handle)
    scratch = Path(name)
    try:
        yield scratch
    finally:
        scratch.unlink(missing_ok=True)


def copy_as_cog(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    compress: str = "deflate",
    block_px: int = 512,
    resampling: str = "nearest",
) -> Path:
    """Copy a GeoTIFF to a Cloud Optimized GeoTIFF with overviews, atomically.

    The one set of COG creation options admon writes with: ``compress`` (lossless),
    the horizontal predictor, ``block_px`` tiles, overviews down to about one tile
    resampled by ``resampling`` (``nearest``, ``mode`` for classes, ``average`` for
    continuous values), all CPUs, BigTIFF when needed.
    """
    with atomic_path(target) as tmp:
        rasterio.shutil.copy(
            source,
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
    return Path(target)


def _write_blocks(dst: Any, pending: list[tuple[int, int, Any]]) -> None:
    if not pending:
        return
    values = dask.compute(*(block for _, _, block in pending))
    for (row, col, _), block in zip(pending, values, strict=True):
        window = Window(col, row, block.shape[2], block.shape[1])
        dst.write(np.asarray(block, dtype=dst.dtypes[0]), window=window)
