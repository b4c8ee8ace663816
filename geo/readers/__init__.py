"""Imagery adapters behind ``geo.imagery.read_scene``: one module per product family.

``spec`` holds what an adapter produces (:class:`SceneSpec`) and the
:class:`SceneReader` protocol; ``base`` and ``blocks`` turn a spec into pixels;
``landsat`` (+ ``mtl``), ``sentinel2``, ``stac`` (+ ``stac_assets``,
``stac_rules``) and ``drone`` are the adapters; ``bands`` and ``masks`` hold the
band tables and the quality-band rules. ``docs/imagery.md`` tabulates them.
"""

from __future__ import annotations

from geo.readers.base import AllMaskedError, NoOverlapError, load_scene
from geo.readers.spec import (
    COMMON_BANDS,
    BandFile,
    ImageryAssumptionWarning,
    MaskFile,
    SceneReader,
    SceneSpec,
)

__all__ = [
    "COMMON_BANDS",
    "AllMaskedError",
    "BandFile",
    "ImageryAssumptionWarning",
    "MaskFile",
    "NoOverlapError",
    "SceneReader",
    "SceneSpec",
    "load_scene",
]
