"""The analysis grid: one CRS, one pixel size, one alignment for every scene.

Scenes from different sensors and dates only stack when they are read onto
the same pixels. An :class:`AnalysisGrid` fixes those pixels: a CRS, a square
pixel size in CRS units and bounds snapped to whole multiples of the pixel
size (so two grids with the same CRS and resolution always share pixel edges).

By default the grid of an area is in the UTM zone of its centre; with
``equal_area=True`` it uses the global cylindrical equal-area CRS
EPSG:6933 (metres), whose pixels all cover the same ground area.

A grid is always metric: a geographic CRS (degrees) is refused, because a
``resolution`` of 10 would then mean 10-degree pixels. Districts shipped in
WGS 84 (HDX, geoBoundaries, MIMU) get the UTM zone of their area from
:meth:`AnalysisGrid.for_area`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import CRSError
from rasterio.warp import transform_bounds, transform_geom

from core.errors import InvalidInputError

__all__ = ["AnalysisGrid", "utm_crs_for", "EQUAL_AREA_CRS", "NEAR_SQUARE_TOLERANCE"]

logger = logging.getLogger(__name__)

EQUAL_AREA_CRS = CRS.from_epsg(6933)
"""Default equal-area CRS: WGS 84 / NSIDC EASE-Grid 2.0 Global (metres)."""

NEAR_SQUARE_TOLERANCE = 1e-3
"""Relative difference of pixel width and height below which pixels count as square.

Real GeoTIFFs carry float noise in their transforms (rasterio's ``RGB.byte.tif``
has 300.038 x 300.042 m pixels); such a file gets a grid of its pixel width.
"""

Bounds = tuple[float, float, float, float]


def utm_crs_for(lon: float, lat: float) -> CRS:
    """Return the WGS 84 / UTM zone CRS containing a longitude/latitude point.

    Parameters
    ----------
    lon, lat : float
        Position in degrees (WGS 84).

    Returns
    -------
    rasterio.crs.CRS
        EPSG:326zz north of the equator, EPSG:327zz south of it.

    Examples
    --------
    >>> utm_crs_for(99.0, 20.0).to_epsg()
    32647
    """
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


@dataclass(frozen=True)
class AnalysisGrid:
    """A fixed raster grid every scene is read onto.

    Parameters
    ----------
    crs : CRS-like
        Anything ``rasterio.crs.CRS.from_user_input`` accepts ("EPSG:32647", an int...).
    resolution : float
        Square pixel size in CRS units (metres for UTM and EPSG:6933).
    bounds : tuple of float
        ``(left, bottom, right, top)`` in the CRS; width and height must be
        whole multiples of ``resolution`` (use :meth:`from_bounds` to snap).
    """

    crs: CRS
    """Coordinate reference system of the grid."""
    resolution: float
    """Pixel size in CRS units."""
    bounds: Bounds
    """Outer edges ``(left, bottom, right, top)`` of the grid."""

    def __post_init__(self) -> None:
        try:
            crs = CRS.from_user_input(self.crs)
        except CRSError as exc:
            raise InvalidInputError(
                f"AnalysisGrid crs {self.crs!r} is not a CRS ({exc}); give e.g. 'EPSG:32647'"
            ) from exc
        if crs.is_geographic:
            raise InvalidInputError(
                f"AnalysisGrid crs {crs.to_string()} is geographic (degrees): a resolution of "
                f"{self.resolution} would be {self.resolution}-degree pixels; use a metric CRS "
                "(AnalysisGrid.for_area picks the UTM zone of an area, or equal_area=True)"
            )
        object.__setattr__(self, "crs", crs)
        object.__setattr__(self, "resolution", float(self.resolution))
        object.__setattr__(self, "bounds", tuple(float(b) for b in self.bounds))
        left, bottom, right, top = self.bounds
        if not self.resolution > 0 or not math.isfinite(self.resolution):
            raise InvalidInputError(
                f"AnalysisGrid resolution must be positive, got {self.resolution}"
            )
        if not all(math.isfinite(b) for b in self.bounds) or right <= left or top <= bottom:
            raise InvalidInputError(f"AnalysisGrid bounds {self.bounds} are empty or inverted")
        for extent, name in ((right - left, "width"), (top - bottom, "height")):
            pixels = extent / self.resolution
            if abs(pixels - round(pixels)) > 1e-6:
                raise InvalidInputError(
                    f"AnalysisGrid {name} {extent} is not a whole number of {self.resolution} "
                    "pixels; build the grid with AnalysisGrid.from_bounds to snap it"
                )

    @property
    def width(self) -> int:
        """Number of columns."""
        return int(round((self.bounds[2] - self.bounds[0]) / self.resolution))

    @property
    def height(self) -> int:
        """Number of rows."""
        return int(round((self.bounds[3] - self.bounds[1]) / self.resolution))

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``, numpy order."""
        return self.height, self.width

    @property
    def transform(self) -> Affine:
        """Affine transform of the top-left pixel corner, north up."""
        return Affine(self.resolution, 0.0, self.bounds[0], 0.0, -self.resolution, self.bounds[3])

    def x_coords(self) -> np.ndarray:
        """Pixel-centre x coordinates, left to right."""
        return self.bounds[0] + (np.arange(self.width) + 0.5) * self.resolution

    def y_coords(self) -> np.ndarray:
        """Pixel-centre y coordinates, top to bottom."""
        return self.bounds[3] - (np.arange(self.height) + 0.5) * self.resolution

    @classmethod
    def from_bounds(cls, bounds: Bounds, crs: Any, resolution: float) -> AnalysisGrid:
        """Grid covering ``bounds`` (in ``crs``), edges snapped outward to the resolution.

        Examples
        --------
        >>> AnalysisGrid.from_bounds((3, 4, 25, 31), "EPSG:32647", 10).bounds
        (0.0, 0.0, 30.0, 40.0)
        """
        left, bottom, right, top = bounds
        res = float(resolution)
        # round() first so that bounds already on the grid are not pushed out by float noise
        snapped = (
            math.floor(round(left / res, 6)) * res,
            math.floor(round(bottom / res, 6)) * res,
            math.ceil(round(right / res, 6)) * res,
            math.ceil(round(top / res, 6)) * res,
        )
        return cls(crs=crs, resolution=res, bounds=snapped)

    @classmethod
    def from_transform(cls, crs: Any, transform: Affine, width: int, height: int) -> AnalysisGrid:
        """Grid of an existing north-up raster with (nearly) square pixels, e.g. a scene's own.

        Pixels whose width and height differ by less than
        :data:`NEAR_SQUARE_TOLERANCE` (relative) get a grid of the pixel width;
        the file is then warped onto it when read.

        Raises
        ------
        InvalidInputError
            The raster is rotated, not north-up, or its pixels are not square.
        """
        size_x, size_y = abs(transform.a), abs(transform.e)
        if transform.b or transform.d or transform.e >= 0 or transform.a <= 0:
            raise InvalidInputError(
                f"the raster is rotated or not north-up (transform {tuple(transform)[:6]}); "
                "warp it north-up first (gdalwarp) or pass an explicit grid"
            )
        if abs(size_x - size_y) > NEAR_SQUARE_TOLERANCE * max(size_x, size_y):
            raise InvalidInputError(
                f"the raster's pixels are {size_x:g} x {size_y:g} (not square); pass an "
                "explicit grid (AnalysisGrid.for_area / from_bounds) to resample it onto"
            )
        if size_x != size_y:
            logger.info("pixels %g x %g taken as square %g", size_x, size_y, size_x)
        left, top = transform.c, transform.f
        res = size_x
        return cls(
            crs=crs, resolution=res, bounds=(left, top - height * res, left + width * res, top)
        )

    @classmethod
    def for_area(
        cls,
        area: Any,
        crs_of_bounds: Any = "EPSG:4326",
        resolution: float = 10,
        equal_area: bool | Any = False,
    ) -> AnalysisGrid:
        """Grid over an area, in the UTM zone of its centre or an equal-area CRS.

        Parameters
        ----------
        area : shapely geometry, GeoJSON-like mapping or ``(left, bottom, right, top)``
            The area of interest, expressed in ``crs_of_bounds``.
        crs_of_bounds : CRS-like, default "EPSG:4326"
            CRS of ``area``.
        resolution : float, default 10
            Pixel size in metres.
        equal_area : bool or CRS-like, default False
            ``True`` for EPSG:6933, or a specific projected equal-area CRS.

        Returns
        -------
        AnalysisGrid

        Examples
        --------
        >>> g = AnalysisGrid.for_area((99.0, 20.0, 99.01, 20.01), resolution=10)
        >>> g.crs.to_epsg(), g.resolution
        (32647, 10.0)
        """
        src_crs = CRS.from_user_input(crs_of_bounds)
        bounds = _area_bounds(area)
        lon_lat = transform_bounds(src_crs, "EPSG:4326", *bounds, densify_pts=21)
        if equal_area is True:
            target = EQUAL_AREA_CRS
        elif equal_area:
            target = CRS.from_user_input(equal_area)
        else:
            target = utm_crs_for((lon_lat[0] + lon_lat[2]) / 2, (lon_lat[1] + lon_lat[3]) / 2)
        if not hasattr(area, "total_bounds") and (
            hasattr(area, "__geo_interface__") or isinstance(area, dict)
        ):
            geom = getattr(area, "__geo_interface__", area)
            projected = _area_bounds(transform_geom(src_crs, target, geom))
        else:
            projected = transform_bounds(src_crs, target, *bounds, densify_pts=21)
        grid = cls.from_bounds(projected, target, resolution)
        logger.debug("analysis grid for area %s: %s", bounds, grid)
        return grid


def _area_bounds(area: Any) -> Bounds:
    """Bounds of a shapely geometry, a GeoJSON mapping or a 4-tuple."""
    if hasattr(area, "total_bounds"):  # GeoSeries / GeoDataFrame
        return tuple(float(b) for b in area.total_bounds)
    if hasattr(area, "bounds") and not isinstance(area, tuple | list):
        return tuple(float(b) for b in area.bounds)  # shapely / GeoSeries-like
    geom = getattr(area, "__geo_interface__", area)
    if isinstance(geom, dict):
        coords = np.asarray(_flatten_coords(geom["coordinates"]), dtype=float).reshape(-1, 2)
        return (
            float(coords[:, 0].min()),
            float(coords[:, 1].min()),
            float(coords[:, 0].max()),
            float(coords[:, 1].max()),
        )
    left, bottom, right, top = area
    return float(left), float(bottom), float(right), float(top)


def _flatten_coords(coords: Any) -> list[float]:
    if isinstance(coords[0], int | float):
        return [float(c) for c in coords[:2]]
    flat: list[float] = []
    for item in coords:
        flat.extend(_flatten_coords(item))
    return flat
