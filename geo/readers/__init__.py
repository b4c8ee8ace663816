"""Imagery adapters behind ``geo.imagery.read_scene``: one module per source kind."""

from __future__ import annotations

from geo.readers.base import (
    COMMON_BANDS,
    AllMaskedError,
    BandFile,
    MaskFile,
    NoOverlapError,
    SceneSpec,
    load_scene,
)

__all__ = [
    "COMMON_BANDS",
    "AllMaskedError",
    "BandFile",
    "MaskFile",
    "NoOverlapError",
    "SceneSpec",
    "load_scene",
]
