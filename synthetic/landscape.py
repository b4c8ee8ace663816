"""The landscape of the synthetic region: smooth noise, districts, terrain, base land cover.

Pure numpy helpers for ``synthetic.truth``. Districts are Voronoi cells of
jittered seeds on warped coordinates (one connected piece each, boundaries on
pixel edges); the terrain is a smooth elevation with a river valley; the base
surface (before any field is drawn) is forest with valley paddy, fallow patches
and the river.
"""

from __future__ import annotations

import functools

import numpy as np
import shapely
from affine import Affine
from rasterio import features
from scipy import ndimage
from scipy.spatial import cKDTree

__all__ = [
    "SURFACE",
    "rng_for",
    "smooth_noise",
    "district_labels",
    "district_polygons",
    "terrain",
    "base_surface",
]

SURFACE: dict[str, int] = {
    "opium_poppy": 1,
    "cannabis": 2,
    "paddy": 3,
    "forest": 4,
    "fallow_bare": 5,
    "water": 6,
    "dry_crop": 7,
}
"""Surface types that drive the imagery; codes 1-6 equal the land cover codes, 7
(dry-season crops) is land cover ``other_crops`` with its own phenology."""


def rng_for(seed: int, *parts: int) -> np.random.Generator:
    """Return an independent generator for one component (``parts``) of a region."""
    return np.random.default_rng([int(seed), *[int(p) for p in parts]])


@functools.lru_cache(maxsize=64)
def _bspline_matrix(n_out: int, cell: float, n_coarse: int) -> np.ndarray:
    """Weights of a cubic B-spline through ``n_coarse`` knots sampled at ``n_out`` points."""
    t = np.abs(np.arange(n_out)[:, None] / cell + 1.0 - np.arange(n_coarse)[None, :])
    near = (4 - 6 * t**2 + 3 * t**3) / 6
    far = (2 - t) ** 3 / 6
    weights = np.where(t < 1, near, np.where(t < 2, far, 0.0)).astype(np.float32)
    weights.flags.writeable = False  # cached and shared
    return weights


def smooth_noise(
    rng: np.random.Generator,
    shape: tuple[int, int],
    cell_px: float,
    rows: slice | None = None,
) -> np.ndarray:
    """Return a smooth random field (mean 0, sd about 1) with features about ``cell_px`` wide.

    White noise on a coarse grid of knots ``cell_px`` apart, smoothed by a separable
    cubic B-spline (two small matrix products: fast at any size). ``rows`` returns
    only those rows of the same field, so a large field can be made strip by strip
    (pass a generator in the same state each time).
    """
    height, width = shape
    cell = max(float(cell_px), 1.0)
    coarse = rng.standard_normal((int(height / cell) + 4, int(width / cell) + 4), dtype=np.float32)
    row_weights = _bspline_matrix(height, cell, coarse.shape[0])
    col_weights = _bspline_matrix(width, cell, coarse.shape[1])
    # sd of the smoothed field, from the weights (not the sample): same for every strip
    scale = np.sqrt((row_weights**2).sum(axis=1).mean() * (col_weights**2).sum(axis=1).mean())
    # float64 products: a float32 GEMM's rounding depends on the matrix shapes (BLAS kernels
    # and blocking), so a strip's rows would differ in the last bits from the whole field's.
    picked = row_weights[rows if rows is not None else slice(None)].astype(np.float64)
    fine = picked @ coarse.astype(np.float64) @ col_weights.T.astype(np.float64)
    return (fine / scale).astype(np.float32)


_BRUTE_FORCE_MAX_DISTRICTS = 24


def district_labels(rng: np.random.Generator, height: int, width: int, n: int) -> np.ndarray:
    """Voronoi cells of jittered seeds on warped coordinates, one connected piece each."""
    cols = max(1, int(round(np.sqrt(n * width / height))))
    rows = int(np.ceil(n / cols))
    cells = rng.permutation(rows * cols)[:n]
    cell_w, cell_h = width / cols, height / rows
    seed_x = (cells % cols + 0.5 + rng.uniform(-0.3, 0.3, n)) * cell_w
    seed_y = (cells // cols + 0.5 + rng.uniform(-0.3, 0.3, n)) * cell_h
    warp = 0.18 * min(cell_w, cell_h)
    cell_px = min(cell_w, cell_h) / 2
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    xx += warp * smooth_noise(rng, (height, width), cell_px)
    yy += warp * smooth_noise(rng, (height, width), cell_px)
    labels = np.zeros((height, width), dtype=np.int16)
    if n <= _BRUTE_FORCE_MAX_DISTRICTS:
        best = np.full((height, width), np.inf, dtype=np.float32)
        for k in range(n):
            dist = (xx - seed_x[k]) ** 2 + (yy - seed_y[k]) ** 2
            closer = dist < best
            best[closer] = dist[closer]
            labels[closer] = k
    else:  # many districts (scale > 2): nearest seed by k-d tree, a strip of rows at a time
        tree = cKDTree(np.column_stack([seed_x, seed_y]))
        for row0 in range(0, height, 256):
            rows = slice(row0, min(row0 + 256, height))
            points = np.column_stack([xx[rows].ravel(), yy[rows].ravel()])
            labels[rows] = tree.query(points)[1].reshape(xx[rows].shape)
    return _keep_largest_pieces(labels)


def _keep_largest_pieces(labels: np.ndarray) -> np.ndarray:
    """Give stray fragments of a district to the nearest main piece of any district."""
    stray = np.zeros(labels.shape, dtype=bool)
    for k, box in enumerate(ndimage.find_objects(labels.astype(np.int32) + 1)):
        if box is None:
            continue
        pieces, count = ndimage.label(labels[box] == k)
        if count > 1:
            sizes = np.bincount(pieces.ravel())[1:]
            stray[box] |= (pieces > 0) & (pieces != 1 + int(np.argmax(sizes)))
    if stray.any():
        _, (iy, ix) = ndimage.distance_transform_edt(stray, return_indices=True)
        labels = labels[iy, ix]
    return labels


def district_polygons(labels: np.ndarray, transform: Affine, n: int) -> list:
    """Polygon (pixel edges) of each district label ``0..n-1``, in map coordinates."""
    parts: list[list] = [[] for _ in range(n)]
    for geom, value in features.shapes(labels, transform=transform, connectivity=4):
        parts[int(value)].append(shapely.geometry.shape(geom))
    return [shapely.union_all(p) if len(p) > 1 else p[0] for p in parts]


# -- terrain and base land cover --


def terrain(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (elevation m, horizontal distance to the river centre in pixels)."""
    rows = np.arange(height, dtype=np.float32)
    phase = rng.uniform(0, 2 * np.pi)
    wiggle = smooth_noise(rng, (height, 1), max(height / 6, 4))[:, 0]
    centre = width * (0.38 + 0.08 * np.sin(2 * np.pi * 1.2 * rows / height + phase)) + (
        0.03 * width * wiggle
    )
    distance = np.abs(np.arange(width, dtype=np.float32)[None, :] - centre[:, None])
    valley = 1.0 - np.exp(-((distance / (0.16 * width)) ** 2))
    broad = smooth_noise(rng, (height, width), max(width / 8, 6))
    fine = smooth_noise(rng, (height, width), max(width / 40, 3))
    elevation = 480 + valley * (950 + 250 * broad) + 90 * fine + 60 * broad
    return elevation.astype(np.float32), distance


def base_surface(
    rng: np.random.Generator, elevation: np.ndarray, river_distance: np.ndarray
) -> np.ndarray:
    height, width = elevation.shape
    surface = np.full(elevation.shape, SURFACE["forest"], dtype=np.uint8)
    patch = smooth_noise(rng, elevation.shape, max(width / 60, 3))
    fallow_noise = smooth_noise(rng, elevation.shape, max(width / 70, 3))
    low = elevation < np.quantile(elevation, 0.16)
    surface[low & (patch > -0.6)] = SURFACE["paddy"]
    surface[(fallow_noise > 1.05) & ~low] = SURFACE["fallow_bare"]
    half_width = max(1.5, width / 600)
    surface[river_distance <= half_width] = SURFACE["water"]
    return surface
