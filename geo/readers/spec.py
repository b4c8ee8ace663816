"""What an imagery adapter produces: a description of one scene, no pixels read.

An adapter (Landsat C2 L2 folder, Sentinel-2 L2A product, STAC item, drone
ortho) says which file and band holds each common band, how its digital
numbers become reflectance, which file masks it, and what it had to assume.
:func:`geo.readers.base.load_scene` turns that into pixels.

Every adapter follows :class:`SceneReader`: ``accepts(source)`` to claim a
source, ``describe(source, bands)`` to describe it. Whatever an adapter cannot
read from the product's own metadata (no BOA offset declared, a scaling taken
from the product definition rather than the file) goes through
:func:`assume`: a :class:`ImageryAssumptionWarning` now, and the text in
``SceneSpec.assumptions`` so the run manifest records it.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "COMMON_BANDS",
    "BandFile",
    "MaskFile",
    "SceneSpec",
    "SceneReader",
    "ImageryAssumptionWarning",
    "assume",
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
"""admon's band names, in spectral order (``nir08`` is Sentinel-2's narrow NIR, B8A)."""


class ImageryAssumptionWarning(UserWarning):
    """A reader had to assume something the product's metadata does not say."""


def assume(assumptions: list[str], source: str, text: str) -> None:
    """Record an assumption about ``source``: warn now, keep ``text`` for the manifest.

    Parameters
    ----------
    assumptions : list of str
        The adapter's running list; ``text`` is appended.
    source : str
        The file or item the assumption is about (for the warning).
    text : str
        What was assumed and why, in full (it is what a reader of the manifest sees).
    """
    assumptions.append(text)
    warnings.warn(f"{source}: {text}", ImageryAssumptionWarning, stacklevel=3)
    logger.warning("%s: %s", source, text)


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
    """``sentinel-2a``, ``landsat-5``, ``drone`` or what the metadata says."""
    time: np.datetime64 | None
    """Acquisition time (UTC), or ``None`` when the source does not say."""
    bands: tuple[BandFile, ...]
    """One entry per available band."""
    mask: MaskFile | None = None
    """Quality band, if any."""
    attrs: dict[str, Any] = field(default_factory=dict)
    """Extra metadata copied to the Dataset attributes."""
    assumptions: tuple[str, ...] = ()
    """What the adapter assumed because the metadata did not say (see :func:`assume`)."""


@runtime_checkable
class SceneReader(Protocol):
    """One adapter per product family: claim a source, describe it as a :class:`SceneSpec`."""

    name: str
    """Product family, as shown in messages and the manifest."""

    def accepts(self, source: Any) -> bool:
        """True if ``source`` is of this adapter's family (cheap: names and headers only)."""
        ...

    def describe(self, source: Any, bands: list[str] | None) -> SceneSpec:
        """Describe ``source``; raise :class:`~core.errors.ImageryError` if it cannot be read."""
        ...
