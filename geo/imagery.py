"""Read satellite and drone imagery as surface reflectance on one analysis grid.

One entry point, :func:`read_scene`, detects what ``source`` is and hands it
to the adapter for that kind (``geo/readers/``):

- a STAC item (JSON file, dict or :class:`pystac.Item`) from Planetary Computer,
  Earth Search v0/v1, Copernicus Data Space or USGS, STAC 0.7 to 1.1;
- a Sentinel-2 L2A product directory (SAFE or a folder of band files);
- a Landsat 4/5 TM, 7 ETM+ or 8/9 OLI Collection 2 Level-2 scene (folder, MTL
  as ``.txt``/``.json``/``.xml``, or band file);
- a drone orthomosaic GeoTIFF (or a :class:`DroneOrtho` with its band layout).

What an adapter could not read from the product's own metadata is warned
about (:class:`ImageryAssumptionWarning`) and listed in the scene's
``attrs["assumptions"]``, which the run manifest keeps. ``docs/imagery.md``
tabulates every family: metadata read, scale/offset source, mask.

Every adapter returns the same shape of result: a lazily dask-chunked
:class:`xarray.Dataset` of float32 reflectance (0-1) with one variable per
common band name, a boolean ``valid`` variable, NaN wherever ``valid`` is
False, a scalar ``time`` coordinate and rioxarray CRS/transform.
:func:`read_season` stacks several scenes on a ``time`` dimension.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr
from rasterio.enums import Resampling

from core.errors import ImageryError
from geo.grid import AnalysisGrid
from geo.readers.base import (
    COMMON_BANDS,
    DEFAULT_CHUNK_PX,
    AllMaskedError,
    NoOverlapError,
    SceneSpec,
    all_masked_message,
    clear_check,
    clear_share,
    load_scene,
)
from geo.readers.drone import PROFILES, DroneOrtho, DroneReader, SensorProfile
from geo.readers.landsat import LandsatReader
from geo.readers.sentinel2 import Sentinel2Reader
from geo.readers.spec import ImageryAssumptionWarning, SceneReader
from geo.readers.stac import StacItemReader, search_scenes

__all__ = [
    "read_scene",
    "read_season",
    "valid_share",
    "describe_source",
    "search_scenes",
    "AnalysisGrid",
    "DroneOrtho",
    "SensorProfile",
    "PROFILES",
    "COMMON_BANDS",
    "NoOverlapError",
    "AllMaskedError",
    "ImageryAssumptionWarning",
    "READERS",
]

logger = logging.getLogger(__name__)


READERS: tuple[SceneReader, ...] = (
    StacItemReader(),
    LandsatReader(),
    Sentinel2Reader(),
    DroneReader(),
)
"""The adapters, one per product family, in the order they are asked to claim a source."""


def describe_source(source: Any, bands: Sequence[str] | None = None) -> SceneSpec:
    """Detect the kind of ``source`` and return its adapter's :class:`SceneSpec`.

    Raises
    ------
    ImageryError
        The source does not exist, is of no known kind, or its adapter cannot read it.
    """
    wanted = list(bands) if bands is not None else None
    unknown = [b for b in wanted or [] if b not in COMMON_BANDS]
    if unknown:
        raise ImageryError(f"unknown band name(s) {unknown}; admon's names are {COMMON_BANDS}")
    if isinstance(source, str | Path) and not Path(source).exists():
        raise ImageryError(f"{source}: no such file or directory")
    for reader in READERS:
        if reader.accepts(source):
            return reader.describe(source, wanted)
    raise ImageryError(
        f"{source}: not a STAC item, Sentinel-2 L2A product, Landsat C2 L2 scene or "
        "orthomosaic GeoTIFF; see docs/imagery.md for the layouts read"
    )


def read_scene(
    source: Any,
    bands: Sequence[str] | None = None,
    grid: AnalysisGrid | None = None,
    *,
    chunk_px: int = DEFAULT_CHUNK_PX,
    resampling: Resampling = Resampling.nearest,
    mask_snow: bool = False,
    require_clear: bool = True,
) -> xr.Dataset:
    """Read one scene as lazily chunked surface reflectance on ``grid``.

    Parameters
    ----------
    source : path, pystac.Item, DroneOrtho or SceneSpec
        STAC item JSON, Sentinel-2 L2A directory, Landsat C2 L2 scene
        (directory, MTL or band file), or drone orthomosaic GeoTIFF; or what
        :func:`describe_source` made of one (its metadata is not parsed again).
    bands : sequence of str, optional
        Common band names to read (``blue``, ``red``, ``nir``, ``swir1``...);
        every band the source has by default.
    grid : AnalysisGrid, optional
        CRS, resolution and alignment to read onto (coarser bands are
        resampled); by default the scene's own grid at its finest band.
    chunk_px : int, default 512
        Dask block edge in pixels.
    resampling : rasterio.enums.Resampling, default nearest
        How reflectance bands are resampled when warped (masks: always nearest).
    mask_snow : bool, default False
        Also mask snow/ice (SCL 11, QA_PIXEL bit 5).
    require_clear : bool, default True
        Read the quality band once and raise :class:`AllMaskedError` if no pixel is clear.

    Returns
    -------
    xarray.Dataset
        float32 reflectance per band (NaN where invalid), boolean ``valid``,
        scalar ``time`` coordinate (when known), CRS and transform attached.

    Raises
    ------
    ImageryError
        Missing/corrupt file, missing band, assets in different CRS.
    NoOverlapError
        The scene does not intersect ``grid``.
    AllMaskedError
        No clear pixel over ``grid``.

    Examples
    --------
    >>> scene = read_scene("S2B_MSIL2A_20250112.json", bands=["red", "nir"])  # doctest: +SKIP
    >>> float(scene["nir"].mean())  # doctest: +SKIP
    """
    spec = source if isinstance(source, SceneSpec) else describe_source(source, bands)
    logger.debug("reading %s as %s", spec.source, spec.sensor)
    return load_scene(
        spec,
        grid,
        chunk_px=chunk_px,
        resampling=resampling,
        mask_snow=mask_snow,
        require_clear=require_clear,
    )


def valid_share(
    source: Any,
    grid: AnalysisGrid,
    *,
    chunk_px: int = DEFAULT_CHUNK_PX,
    mask_snow: bool = False,
) -> float:
    """Share of the ``grid`` pixels where the scene is clear, read from its mask alone.

    A scene without a mask (a drone ortho without alpha) is read whole: its valid
    pixels are those with data in every band. ``source`` is what :func:`read_scene`
    takes, a :class:`SceneSpec` included.
    """
    spec = source if isinstance(source, SceneSpec) else describe_source(source)
    share = clear_share(spec, grid, chunk_px=chunk_px, mask_snow=mask_snow)
    if share is None:
        scene = load_scene(spec, grid, chunk_px=chunk_px, mask_snow=mask_snow, require_clear=False)
        share = scene["valid"].data.mean()
    return float(share.compute())


def _skip(reason: Exception) -> None:
    warnings.warn(str(reason), stacklevel=3)
    logger.warning("skipped: %s", reason)


def read_season(
    sources: Iterable[Any],
    grid: AnalysisGrid,
    bands: Sequence[str] | None = None,
    *,
    chunk_px: int = DEFAULT_CHUNK_PX,
    resampling: Resampling = Resampling.nearest,
    mask_snow: bool = False,
) -> xr.Dataset:
    """Read several scenes onto one grid and stack them on ``time`` (sorted).

    Scenes that do not intersect the grid or have no clear pixel are skipped
    with a warning naming the file. Only bands present in every scene are
    kept when ``bands`` is not given.

    Parameters
    ----------
    sources : iterable
        Anything :func:`read_scene` accepts.
    grid : AnalysisGrid
        The common analysis grid.
    bands : sequence of str, optional
        Bands to read; by default those common to all scenes.

    Returns
    -------
    xarray.Dataset
        Dimensions ``(time, y, x)``, ``time`` as datetime64, dask-chunked one
        scene per chunk.

    Raises
    ------
    ImageryError
        No source was usable, or a scene has no acquisition time.
    """
    specs = [describe_source(source, bands) for source in sources]
    if bands is None and specs:
        # read only what every scene has (e.g. no red-edge when Landsat joins Sentinel-2)
        names = [{b.name for b in spec.bands} for spec in specs]
        shared = set.intersection(*names)
        dropped = sorted(set.union(*names) - shared)
        if dropped:
            logger.info("bands not in every scene, not read: %s", dropped)
        specs = [
            replace(spec, bands=tuple(b for b in spec.bands if b.name in shared)) for spec in specs
        ]
        if not shared:
            raise ImageryError("read_season: the scenes share no band; pass bands=[...]")
    candidates = []
    for spec in specs:
        try:
            scene = load_scene(
                spec,
                grid,
                chunk_px=chunk_px,
                resampling=resampling,
                mask_snow=mask_snow,
                require_clear=False,
            )
        except NoOverlapError as exc:
            _skip(exc)
            continue
        if "time" not in scene.coords:
            raise ImageryError(
                f"{spec.source}: no acquisition time; a season stack needs one "
                "(for drone orthos pass DroneOrtho(path, time=...))"
            )
        candidates.append(
            (spec, scene, clear_check(spec, grid, chunk_px=chunk_px, mask_snow=mask_snow))
        )
    # one pass over all the masks, in parallel, rather than one per scene
    checks = [check for _, _, check in candidates if check is not None]
    answers = iter(dask.compute(*checks)) if checks else iter(())
    scenes = []
    for spec, scene, check in candidates:
        if check is not None and not bool(next(answers)):
            _skip(AllMaskedError(all_masked_message(spec)))
            continue
        scenes.append(scene)
    if not scenes:
        raise ImageryError("read_season: no usable scene (all missing the area or fully masked)")
    common = [b for b in COMMON_BANDS if all(b in s for s in scenes)]
    scenes.sort(key=lambda s: s["time"].values)
    keep = [*common, "valid"]
    stack = xr.concat(
        [s[keep].drop_vars("spatial_ref", errors="ignore") for s in scenes],
        dim="time",
        combine_attrs="drop_conflicts",
        coords="minimal",
        compat="override",
        join="override",
    )
    stack = stack.assign_coords(source=("time", [s.attrs["source"] for s in scenes]))
    stack.attrs.pop("source", None)
    stack = stack.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    times = stack["time"].values
    if np.unique(times).size != times.size:
        logger.warning("several scenes share an acquisition time: %s", times)
    return stack
