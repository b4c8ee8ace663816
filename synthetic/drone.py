"""The drone area frame: square segments, two strata, a stratified random sample.

The region is tiled into 250 m segments (25 x 25 pixels, so a segment's true
crop area is an exact pixel count). Segments whose mean elevation is in the
top 40 % form the ``high`` risk stratum, the others ``low``. Each year a
stratified random sample is flown (about 60 % of it in ``high``); the
interpreted poppy and cannabis area inside each sampled segment is the truth.
A handful of segments get an RGB orthomosaic at 1 m with colours by surface
(poppy in flower shows petals).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from scipy import ndimage

from core.legend import code_of
from synthetic.fields import pixel_centres_inside
from synthetic.truth import PIXEL_AREA_HA, SURFACE, TruthRegion, rng_for

__all__ = ["SEGMENT_PX", "SEGMENT_SIZE_M", "segment_frame", "draw_segment_sample", "orthomosaic"]

logger = logging.getLogger(__name__)

SEGMENT_PX = 25
SEGMENT_SIZE_M = 250.0
ORTHO_RESOLUTION_M = 1.0
_COLOURS = {
    # mean RGB and per-pixel sd of each surface seen from a drone in January
    SURFACE["opium_poppy"]: ((92, 138, 64), 14),
    SURFACE["cannabis"]: ((66, 112, 48), 12),
    SURFACE["paddy"]: ((168, 152, 104), 12),
    SURFACE["forest"]: ((36, 72, 34), 16),
    SURFACE["fallow_bare"]: ((152, 128, 92), 14),
    SURFACE["water"]: ((58, 82, 86), 6),
    SURFACE["dry_crop"]: ((112, 152, 72), 12),
}
_PETALS = np.array([[232, 60, 58], [240, 238, 236], [196, 96, 172]], dtype=np.float32)


def segment_frame(truth: TruthRegion) -> gpd.GeoDataFrame:
    """Return every whole segment of the region with its stratum (the area frame)."""
    height, width = truth.shape
    ny, nx = height // SEGMENT_PX, width // SEGMENT_PX
    block = truth.elevation[: ny * SEGMENT_PX, : nx * SEGMENT_PX]
    mean_elevation = block.reshape(ny, SEGMENT_PX, nx, SEGMENT_PX).mean(axis=(1, 3))
    high = mean_elevation >= np.quantile(mean_elevation, 0.6)
    rows, cols = np.divmod(np.arange(ny * nx), nx)
    left = truth.transform.c + cols * SEGMENT_SIZE_M
    top = truth.transform.f - rows * SEGMENT_SIZE_M
    return gpd.GeoDataFrame(
        {
            "segment_id": [f"SEG-{k:05d}" for k in range(ny * nx)],
            "row": rows,
            "col": cols,
            "stratum": np.where(high.ravel(), "high", "low"),
            "mean_elevation_m": np.round(mean_elevation.ravel(), 1),
        },
        geometry=shapely.box(left, top - SEGMENT_SIZE_M, left + SEGMENT_SIZE_M, top),
        crs=truth.crs,
    )


def draw_segment_sample(truth: TruthRegion, frame: gpd.GeoDataFrame, year: int) -> gpd.GeoDataFrame:
    """Draw the stratified random sample of ``year`` with the true crop area per segment."""
    rng = rng_for(truth.seed, 40, year)
    height, width = truth.shape
    ratio = np.sqrt(width * height / (1200 * 900))
    n_total = int(np.clip(round(24 * ratio), 4, len(frame) // 2))
    n_high = int(round(0.6 * n_total))
    picks = []
    for stratum, n in (("high", n_high), ("low", n_total - n_high)):
        members = np.flatnonzero(frame.stratum.to_numpy() == stratum)
        picks.extend(rng.choice(members, size=min(n, members.size), replace=False))
    sample = frame.iloc[np.sort(picks)].copy()
    landcover = truth.landcover[year]
    poppy, cannabis, district = [], [], []
    for seg in sample.itertuples():
        window = (
            slice(seg.row * SEGMENT_PX, (seg.row + 1) * SEGMENT_PX),
            slice(seg.col * SEGMENT_PX, (seg.col + 1) * SEGMENT_PX),
        )
        classes = landcover[window]
        poppy.append(round(float((classes == code_of("opium_poppy")).sum()) * PIXEL_AREA_HA, 2))
        cannabis.append(round(float((classes == code_of("cannabis")).sum()) * PIXEL_AREA_HA, 2))
        labels = np.bincount(truth.district_raster[window].ravel())
        district.append(truth.districts.district_id.iloc[int(np.argmax(labels))])
    sample["district_id"] = district
    sample["opium_poppy_ha"] = poppy
    sample["cannabis_ha"] = cannabis
    sample["year"] = year
    return sample


def orthomosaic(
    truth: TruthRegion, year: int, segment: gpd.GeoSeries | object, *, day: float = 105.0
) -> tuple[np.ndarray, Affine]:
    """Return an RGBA uint8 orthomosaic (4, 250, 250) at 1 m of one segment and its transform.

    ``day`` is the flight's day since 1 October: poppy eradicated before it shows as
    slashed residue (bare), the rest in flower.
    """
    rng = rng_for(truth.seed, 41, year, int(segment.row), int(segment.col))
    factor = int(round(truth.transform.a / ORTHO_RESOLUTION_M))
    window = (
        slice(segment.row * SEGMENT_PX, (segment.row + 1) * SEGMENT_PX),
        slice(segment.col * SEGMENT_PX, (segment.col + 1) * SEGMENT_PX),
    )
    surface = truth.surface[year][window].copy()
    surface[truth.field_raster[year][window] > 0] = SURFACE["fallow_bare"]
    fine = np.repeat(np.repeat(surface, factor, axis=0), factor, axis=1)
    minx, miny, maxx, maxy = segment.geometry.bounds
    transform = Affine(ORTHO_RESOLUTION_M, 0, minx, 0, -ORTHO_RESOLUTION_M, maxy)
    size = fine.shape[0]
    xs, ys = np.meshgrid(
        minx + (np.arange(size) + 0.5) * ORTHO_RESOLUTION_M,
        maxy - (np.arange(size) + 0.5) * ORTHO_RESOLUTION_M,
    )
    fields = truth.fields[year]
    for field in fields[fields.intersects(segment.geometry)].itertuples():
        ring = np.asarray(field.geometry.exterior.coords)
        slashed = field.eradicated and field.eradication_day < day
        code = SURFACE["fallow_bare"] if slashed else SURFACE[field.surface]
        fine[pixel_centres_inside(xs, ys, ring)] = code
    rgb = np.zeros((3, size, size), dtype=np.float32)
    texture = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 1.5) * 4
    for code, (mean, sd) in _COLOURS.items():
        where = fine == code
        if where.any():
            for b in range(3):
                rgb[b][where] = mean[b] + rng.normal(0, sd, where.sum()) + texture[where] * sd
    flowers = (fine == SURFACE["opium_poppy"]) & (rng.random((size, size)) < 0.22)
    colour = _PETALS[rng.integers(0, len(_PETALS), flowers.sum())]
    rgb[:, flowers] = colour.T
    alpha = np.full((1, size, size), 255, dtype=np.uint8)
    return np.concatenate([np.clip(rgb, 0, 255).astype(np.uint8), alpha]), transform
