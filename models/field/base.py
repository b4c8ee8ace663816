"""What every field-data adapter returns, and the errors shared by all of them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from core.errors import InvalidInputError

__all__ = ["RawPlots", "UnsupportedFormatError"]


class UnsupportedFormatError(InvalidInputError):
    """The file type is not one admon reads (the web layer answers HTTP 415)."""


@dataclass
class RawPlots:
    """One file read by an adapter, before any domain checks.

    ``attributes`` holds the file's columns unchanged (strings for text
    formats), indexed by the 1-based data row number in the original file.
    ``geometry`` is aligned with it; ``None`` where the row had no geometry or
    the adapter already rejected it (with a reason in ``row_errors``).
    """

    source: str
    """File name shown in messages."""
    kind: str
    """Source kind: ``kobo_csv``, ``odk_csv``, ``csv``, ``geojson``, ``gpkg``, ``kml``..."""
    attributes: pd.DataFrame
    """The file's own columns; index = 1-based data row number."""
    geometry: list[BaseGeometry | None]
    """One geometry per row in ``crs`` (x = easting/longitude)."""
    crs: CRS | None
    """CRS of ``geometry``; ``None`` when the file has none (the caller decides)."""
    geometry_field: str = "geometry"
    """Name of the field geometries came from, for messages."""
    accuracy_m: np.ndarray | None = None
    """GPS accuracy per row from geo text (worst vertex), NaN when unknown."""
    consumed_columns: tuple[str, ...] = ()
    """Columns turned into the geometry (not kept as extra columns)."""
    row_errors: list[tuple[int, str, str]] = field(default_factory=list)
    """``(row, field, message)`` rejections found while parsing."""
    warnings: list[tuple[int, str, str]] = field(default_factory=list)
    """``(row, field, message)`` findings that do not reject a row."""
    sheet: str = ""
    """Sheet or archive member whose rows are numbered, when the file has several tables
    (a KoboToolbox repeat sheet, an ODK Central repeat CSV); empty otherwise."""

    @property
    def rows(self) -> np.ndarray:
        """1-based data row numbers."""
        return self.attributes.index.to_numpy()
