"""True area of raster pixels: constant in a projected CRS, per row on the ellipsoid otherwise.

A pixel of ``0.0001°`` is not a fixed number of square metres: its area
shrinks with the cosine of the latitude. Area estimates weight strata by mapped
area, so the weights must come from the true area of each pixel, never from
pixel count times a nominal size in degrees.

For a geographic CRS the area of a cell between latitudes ``φ1`` and ``φ2`` and
``Δλ`` wide is the exact ellipsoidal zone area (Lambert's authalic formula)::

    A = b² Δλ / 2 · [q(φ2) − q(φ1)],
    q(φ) = sin φ / (1 − e² sin² φ) + ln((1 + e sin φ) / (1 − e sin φ)) / (2e)

which is what ``pyproj.Geod.polygon_area_perimeter`` returns for the same cell
(the tests check it). Rows share one value, so the cost is one number per row.
"""

from __future__ import annotations

import logging

import dask.array as da
import numpy as np
import xarray as xr
from affine import Affine
from pyproj import CRS

from core.errors import InvalidInputError

__all__ = ["row_pixel_area_m2", "pixel_area_ha"]

logger = logging.getLogger(__name__)

M2_PER_HA = 10_000.0


def _authalic_q(phi: np.ndarray, eccentricity: float) -> np.ndarray:
    """Return ``q(φ)`` of the ellipsoidal zone area; a sphere (e = 0) gives ``2 sin φ``."""
    s = np.sin(phi)
    if eccentricity == 0.0:
        return 2.0 * s
    es = eccentricity * s
    return s / (1.0 - es * es) + np.log((1.0 + es) / (1.0 - es)) / (2.0 * eccentricity)


def row_pixel_area_m2(transform: Affine, height: int, crs: CRS | str | int) -> np.ndarray:
    """Return the true area in m² of one pixel in each row of a north-up raster.

    Parameters
    ----------
    transform : affine.Affine
        Pixel-to-CRS transform; rotation terms must be zero.
    height : int
        Number of rows.
    crs : pyproj.CRS, str or int
        Raster CRS. Projected: ``|a·e|`` in the CRS linear unit converted to
        metres (constant; exact for an equal-area CRS, within the scale error of
        a conformal one such as UTM). Geographic: the exact ellipsoidal area of
        the cell between its two bounding parallels.

    Returns
    -------
    numpy.ndarray
        ``float64`` array of length ``height``.

    Raises
    ------
    InvalidInputError
        If the raster is rotated or has no CRS.

    Examples
    --------
    >>> from affine import Affine
    >>> row_pixel_area_m2(Affine(10, 0, 500000, 0, -10, 2000000), 2, "EPSG:32647")
    array([100., 100.])
    """
    if crs is None:
        raise InvalidInputError("class map has no CRS; write one (e.g. rio.write_crs) first")
    if transform.b != 0 or transform.d != 0:
        raise InvalidInputError(
            f"rotated rasters are not supported (transform {tuple(transform)[:6]}); "
            "warp the class map to a north-up grid first"
        )
    crs = CRS.from_user_input(crs)
    if crs.is_geographic:
        ellipsoid = crs.ellipsoid
        a = ellipsoid.semi_major_metre
        b = ellipsoid.semi_minor_metre
        ecc = float(np.sqrt(max(0.0, 1.0 - (b / a) ** 2)))
        rows = np.arange(height + 1, dtype="float64")
        lat_edges = np.deg2rad(transform.f + transform.e * rows)
        q = _authalic_q(lat_edges, ecc)
        d_lon = np.deg2rad(abs(transform.a))
        return b * b * d_lon / 2.0 * np.abs(np.diff(q))
    unit_m = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    if not crs.is_projected:
        raise InvalidInputError(
            f"class map CRS {crs.to_string()} is neither projected nor geographic"
        )
    area = abs(transform.a * transform.e) * unit_m * unit_m
    return np.full(height, area, dtype="float64")


def pixel_area_ha(class_map: xr.DataArray, chunks: int = 1024) -> xr.DataArray:
    """Return a lazy (dask) raster of the true area in hectares of each pixel of ``class_map``.

    Parameters
    ----------
    class_map : xarray.DataArray
        2-D ``(y, x)`` raster with rioxarray CRS and transform.
    chunks : int
        Dask chunk edge in pixels.

    Returns
    -------
    xarray.DataArray
        Same grid and coordinates as ``class_map``; nothing is computed until read.
    """
    height, width = class_map.rio.height, class_map.rio.width
    per_row = row_pixel_area_m2(class_map.rio.transform(), height, class_map.rio.crs) / M2_PER_HA
    column = da.from_array(per_row[:, None], chunks=(chunks, 1))
    grid = da.broadcast_to(column, (height, width), chunks=(chunks, chunks))
    area = xr.DataArray(
        grid,
        dims=("y", "x"),
        coords={"y": class_map["y"], "x": class_map["x"]},
        name="pixel_area_ha",
    )
    return area.rio.write_crs(class_map.rio.crs).rio.write_transform(class_map.rio.transform())
