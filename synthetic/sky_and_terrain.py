"""Clouds, cirrus, cloud shadows and terrain shading of a synthetic scene."""

from __future__ import annotations

import numpy as np

from synthetic.truth import smooth_noise

__all__ = ["clouds", "terrain_shading"]


def terrain_shading(elevation: np.ndarray, rows: slice, water: np.ndarray) -> np.ndarray:
    """Illumination factor of slopes facing a south-eastern morning sun."""
    lo, hi = max(rows.start - 1, 0), min(rows.stop + 1, elevation.shape[0])
    gy, gx = np.gradient(elevation[lo:hi], 10.0)
    keep = slice(rows.start - lo, rows.start - lo + (rows.stop - rows.start))
    gy, gx = gy[keep], gx[keep]
    shade = np.clip(1.0 + 0.35 * (gx - gy) / np.sqrt(1 + gx**2 + gy**2), 0.6, 1.4)
    shade[water] = 1.0
    return shade.astype(np.float32)


def clouds(
    rng: np.random.Generator, shape20: tuple[int, int], fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return cloud opacity, cirrus thickness and shadow mask on the 20 m grid."""
    width = shape20[1]
    blobs = smooth_noise(rng, shape20, max(width / 12, 4)) + 0.35 * smooth_noise(
        rng, shape20, max(width / 50, 2)
    )
    opacity = np.zeros(shape20, dtype=np.float32)
    if fraction > 0:
        edge = np.quantile(blobs, 1.0 - fraction)
        opacity = np.clip((blobs - edge) / 0.6, 0.0, 1.0) * (blobs > edge)
    cirrus_field = smooth_noise(rng, shape20, max(width / 6, 4))
    cirrus_share = rng.uniform(0.0, 0.08)
    cirrus = np.zeros(shape20, dtype=np.float32)
    if cirrus_share > 0.005:
        edge = np.quantile(cirrus_field, 1.0 - cirrus_share)
        cirrus = np.clip((cirrus_field - edge) / 0.5, 0, 1) * 0.05 * (cirrus_field > edge)
    dy, dx = int(rng.integers(6, 14)), int(rng.integers(-14, -6))
    cloudy = opacity > 0.25
    shadow = np.zeros(shape20, dtype=bool)
    ys, xs = slice(max(dy, 0), shape20[0]), slice(max(dx, 0), shape20[1] + min(dx, 0))
    src_y, src_x = slice(0, shape20[0] - dy), slice(max(-dx, 0), shape20[1])
    shadow[ys, xs] = cloudy[src_y, src_x]
    shadow &= opacity == 0
    return opacity.astype(np.float32), cirrus.astype(np.float32), shadow
