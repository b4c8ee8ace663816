"""Drone orthomosaics: 8/16-bit RGB or multispectral GeoTIFFs.

The band order comes from the caller or from a small sensor profile
(``rgb``: red, green, blue; ``multispectral5``: blue, green, red, rededge1,
nir, the order of MicaSense RedEdge/Altum-style exports). Integer pixels are
scaled by the largest value of their type (255, 65535) unless the profile
says otherwise; an alpha band (or the file's nodata) marks missing pixels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
from rasterio.enums import ColorInterp

from core.errors import ImageryError
from geo.readers.spec import COMMON_BANDS, BandFile, MaskFile, SceneSpec, assume

__all__ = ["SensorProfile", "PROFILES", "DroneOrtho", "DroneReader", "drone_spec"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SensorProfile:
    """Band layout of a drone camera's orthomosaic export."""

    name: str
    """Profile name."""
    bands: tuple[str, ...]
    """Common band name of each image band, in file order (alpha excluded)."""
    scale: float | None = None
    """Reflectance = DN * scale + offset; ``None``: 1 / max of the integer type (1 for floats)."""
    offset: float = 0.0
    """Added after scaling."""


PROFILES = {
    "rgb": SensorProfile("rgb", ("red", "green", "blue")),
    "multispectral5": SensorProfile("multispectral5", ("blue", "green", "red", "rededge1", "nir")),
}
"""Built-in sensor profiles by name."""


@dataclass(frozen=True)
class DroneOrtho:
    """A drone orthomosaic with an explicit band layout, to pass to ``read_scene``.

    Examples
    --------
    >>> read_scene(DroneOrtho("segment_3.tif", profile="multispectral5"))  # doctest: +SKIP
    """

    path: str | Path
    """The GeoTIFF."""
    profile: str | SensorProfile = "auto"
    """A name in :data:`PROFILES`, a :class:`SensorProfile`, or ``"auto"`` (by band count)."""
    time: str | None = None
    """Flight date/time (ISO 8601) if the file's TIFFTAG_DATETIME is missing or wrong."""


def _profile_for(ortho: DroneOrtho, n_bands: int) -> SensorProfile:
    profile = ortho.profile
    if isinstance(profile, SensorProfile):
        chosen = profile
    elif profile == "auto":
        chosen = next((p for p in PROFILES.values() if len(p.bands) == n_bands), None)
        if chosen is None:
            raise ImageryError(
                f"{ortho.path}: {n_bands} image bands match no built-in profile "
                f"({ {k: len(p.bands) for k, p in PROFILES.items()} }); pass "
                "DroneOrtho(path, profile=SensorProfile(...)) with the band order"
            )
    elif profile in PROFILES:
        chosen = PROFILES[profile]
    else:
        raise ImageryError(
            f"{ortho.path}: unknown sensor profile {profile!r}; use {sorted(PROFILES)}"
        )
    unknown = [b for b in chosen.bands if b not in COMMON_BANDS]
    if unknown:
        raise ImageryError(f"profile {chosen.name}: band names {unknown} are not in {COMMON_BANDS}")
    if len(chosen.bands) != n_bands:
        raise ImageryError(
            f"{ortho.path}: profile {chosen.name} lists {len(chosen.bands)} bands "
            f"({', '.join(chosen.bands)}) but the file has {n_bands} image bands"
        )
    return chosen


def _flight_time(tags: dict[str, str], ortho: DroneOrtho) -> np.datetime64 | None:
    if ortho.time:
        return np.datetime64(ortho.time, "ns")
    stamp = tags.get("TIFFTAG_DATETIME")
    if stamp:  # "YYYY:MM:DD HH:MM:SS"
        day, _, clock = stamp.partition(" ")
        try:
            return np.datetime64(f"{day.replace(':', '-')}T{clock or '00:00:00'}", "ns")
        except ValueError:
            logger.warning("%s: unreadable TIFFTAG_DATETIME %r", ortho.path, stamp)
    return None


def drone_spec(source: DroneOrtho | str | Path, bands: list[str] | None = None) -> SceneSpec:
    """Describe a drone orthomosaic as a :class:`SceneSpec`.

    Raises
    ------
    ImageryError
        The file cannot be opened, its band count fits no profile, or a
        requested band is not in the profile.
    """
    ortho = source if isinstance(source, DroneOrtho) else DroneOrtho(source)
    path = str(ortho.path)
    try:
        with rasterio.open(path) as src:
            interp = list(src.colorinterp)
            dtype = np.dtype(src.dtypes[0])
            nodata = src.nodata
            tags = src.tags()
    except rasterio.errors.RasterioError as exc:
        raise ImageryError(
            f"{path}: cannot open orthomosaic ({exc}); file corrupt or truncated"
        ) from exc
    alpha = next((i + 1 for i, ci in enumerate(interp) if ci == ColorInterp.alpha), None)
    image_bands = [i + 1 for i in range(len(interp)) if i + 1 != alpha]
    profile = _profile_for(ortho, len(image_bands))
    assumptions: list[str] = []
    if profile.scale is not None:
        scale = profile.scale
    elif np.issubdtype(dtype, np.integer):
        scale = 1.0 / float(np.iinfo(dtype).max)
        assume(
            assumptions,
            path,
            f"no radiometric calibration given: {dtype.name} values divided by "
            f"{np.iinfo(dtype).max} (relative brightness, not surface reflectance)",
        )
    else:
        scale = 1.0
    wanted = bands if bands is not None else list(profile.bands)
    missing = [b for b in wanted if b not in profile.bands]
    if missing:
        raise ImageryError(
            f"{path}: band(s) {missing} not in sensor profile {profile.name} "
            f"({', '.join(profile.bands)})"
        )
    band_files = tuple(
        BandFile(name, path, image_bands[profile.bands.index(name)], scale, profile.offset, nodata)
        for name in wanted
    )
    mask = MaskFile(path, "alpha", alpha) if alpha is not None else None
    attrs = {"sensor_profile": profile.name}
    return SceneSpec(
        path, "drone", _flight_time(tags, ortho), band_files, mask, attrs, tuple(assumptions)
    )


class DroneReader:
    """Adapter for drone orthomosaic GeoTIFFs (or a :class:`DroneOrtho`)."""

    name = "drone-ortho"

    def accepts(self, source: Any) -> bool:
        if isinstance(source, DroneOrtho):
            return True
        path = Path(source) if isinstance(source, str | Path) else None
        return path is not None and path.is_file() and path.suffix.lower() in (".tif", ".tiff")

    def describe(self, source: Any, bands: list[str] | None) -> SceneSpec:
        return drone_spec(source, bands)
