"""Small fields of opium poppy, cannabis and dry-season crops, drawn as polygons.

Each field is a compact polygon (a jittered ellipse of 6-10 vertices, 0.1-2 ha)
rasterized by pixel centre into the 10 m grid. Fields are placed one district
at a time until the district's target area for the crop is reached, never on
water, paddy (except dry-season crops), another field or across a district
boundary. In later years about a fifth of last year's poppy and cannabis
fields are sown again; the others lie fallow.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine

from synthetic.landscape import SURFACE

__all__ = [
    "FIELD_COLUMNS",
    "draw_fields_all_years",
    "field_ring",
    "make_field_polygon",
    "pixel_centres_inside",
]

logger = logging.getLogger(__name__)

FIELD_COLUMNS = (
    "field_id",
    "year",
    "land_cover",
    "surface",
    "district_id",
    "area_ha",
    "polygon_area_ha",
    "sow_shift_days",
    "vigour",
    "eradicated",
    "eradication_day",
    "yield_kg_ha",
    "resown_from",
)

_POPPY, _CANNABIS, _PADDY, _FOREST, _FALLOW, _DRY = (
    SURFACE[n] for n in ("opium_poppy", "cannabis", "paddy", "forest", "fallow_bare", "dry_crop")
)
_KINDS = (
    # surface name, surface code, land cover name, target column, allowed surfaces
    ("opium_poppy", _POPPY, "opium_poppy", "poppy_frac", (_FOREST, _FALLOW)),
    ("cannabis", _CANNABIS, "cannabis", "cannabis_frac", (_FOREST, _FALLOW)),
    ("dry_crop", _DRY, "other_crops", "dry_crop_frac", (_FALLOW, _PADDY, _FOREST)),
)
_PIXEL_M2 = 100.0
_MIN_FIELD_PX = 10  # 0.1 ha, the smallest field drawn
_RESOW_SHARE = 0.2


def make_field_polygon(
    rng: np.random.Generator, x: float, y: float, area_m2: float
) -> shapely.Polygon:
    """Return a compact field polygon of exactly ``area_m2`` centred near (x, y)."""
    return shapely.Polygon(field_ring(rng, x, y, area_m2))


def field_ring(rng: np.random.Generator, x: float, y: float, area_m2: float) -> np.ndarray:
    """Closed ring (n + 1, 2) of a jittered ellipse of ``area_m2`` around (x, y)."""
    n = int(rng.integers(6, 11))
    step = 2 * np.pi / n
    angles = np.arange(n) * step + rng.uniform(-0.25, 0.25, n) * step
    radius = 1.0 + rng.uniform(-0.18, 0.18, n)
    aspect = rng.uniform(1.0, 2.2)
    rotation = rng.uniform(0, np.pi)
    px = radius * np.cos(angles) * aspect
    py = radius * np.sin(angles)
    rx = px * np.cos(rotation) - py * np.sin(rotation)
    ry = px * np.sin(rotation) + py * np.cos(rotation)
    previous = np.arange(n) - 1  # index -1 wraps to the last vertex
    shape_area = 0.5 * abs(np.dot(rx, ry[previous]) - np.dot(ry, rx[previous]))
    k = np.sqrt(area_m2 / shape_area)
    ring = np.column_stack([x + k * rx, y + k * ry])
    return np.vstack([ring, ring[:1]])


def pixel_centres_inside(xs: np.ndarray, ys: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Even-odd test of points against a closed ring (same rule as GDAL: pixel centres)."""
    x0, y0 = ring[:-1, 0], ring[:-1, 1]
    x1, y1 = ring[1:, 0], ring[1:, 1]
    px, py = xs[..., None], ys[..., None]
    crosses = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    return (crosses & (px < x_cross)).sum(axis=-1) % 2 == 1


def _rasterize_window(
    ring: np.ndarray, transform: Affine, shape: tuple[int, int]
) -> tuple[slice, slice, np.ndarray] | None:
    """Pixels (by centre) inside ``ring`` as a window and a boolean mask, or None if outside."""
    (minx, miny), (maxx, maxy) = ring.min(axis=0), ring.max(axis=0)
    size = transform.a
    col0 = int(np.floor((minx - transform.c) / size))
    col1 = int(np.ceil((maxx - transform.c) / size))
    row0 = int(np.floor((transform.f - maxy) / size))
    row1 = int(np.ceil((transform.f - miny) / size))
    if col0 < 0 or row0 < 0 or col1 > shape[1] or row1 > shape[0]:
        return None
    xs = transform.c + (np.arange(col0, col1) + 0.5) * size
    ys = transform.f - (np.arange(row0, row1) + 0.5) * size
    grid_x, grid_y = np.meshgrid(xs, ys)
    mask = pixel_centres_inside(grid_x, grid_y, ring)
    return slice(row0, row1), slice(col0, col1), mask


class _YearCanvas:
    """Mutable rasters of one year while fields are placed."""

    def __init__(self, surface: np.ndarray, labels: np.ndarray, transform: Affine) -> None:
        self.surface = surface
        self.labels = labels
        self.transform = transform
        self.field_raster = np.zeros(surface.shape, dtype=np.int32)
        self.records: list[dict] = []
        self.rings: list[np.ndarray] = []

    def try_place(
        self, ring: np.ndarray, district: int, code: int, allowed: tuple[int, ...]
    ) -> int:
        """Place a field if it fits; return its pixel count (0 if it does not fit)."""
        window = _rasterize_window(ring, self.transform, self.surface.shape)
        if window is None:
            return 0
        rows, cols, mask = window
        pixels = int(mask.sum())
        if pixels < 3:
            return 0
        surface = self.surface[rows, cols][mask]
        if (
            (self.field_raster[rows, cols][mask] != 0).any()
            or (self.labels[rows, cols][mask] != district).any()
            or not np.isin(surface, allowed).all()
        ):
            return 0
        self.rings.append(ring)
        self.field_raster[rows, cols][mask] = len(self.rings)
        self.surface[rows, cols][mask] = code
        return pixels


def _candidate_weights(elevation: np.ndarray, kind: str) -> np.ndarray:
    q20, q50, q60 = np.quantile(elevation[::7, ::7], [0.2, 0.5, 0.6])
    if kind == "opium_poppy":
        return 1.0 / (1.0 + np.exp(-(elevation - q60) / 80.0))
    if kind == "cannabis":
        return np.exp(-(((elevation - q50) / 160.0) ** 2))
    return np.exp(-(((elevation - q20) / 120.0) ** 2))


def _field_size_px(rng: np.random.Generator) -> float:
    return float(np.clip(rng.lognormal(np.log(45.0), 0.6), 10.0, 200.0))


def _place_kind(
    rng: np.random.Generator,
    canvas: _YearCanvas,
    district: int,
    target_px: float,
    kind: tuple,
    weights: np.ndarray,
    previous: gpd.GeoDataFrame | None,
    district_id: str,
    district_pixels: np.ndarray,
) -> list[dict]:
    name, code, land_cover, _, allowed = kind
    placed, attrs = 0, []
    if previous is not None and name != "dry_crop":
        mine = previous[(previous.surface == name) & (previous.district_id == district_id)]
        for row in mine.itertuples():
            if rng.random() > _RESOW_SHARE or placed + row.area_ha / 0.01 > 1.05 * target_px:
                continue
            ring = np.asarray(row.geometry.exterior.coords)
            got = canvas.try_place(ring, district, code, allowed)
            if got:
                placed += got
                attrs.append(
                    {"surface": name, "land_cover": land_cover, "resown_from": row.field_id}
                )
    allowed_here = np.isin(canvas.surface.ravel()[district_pixels], allowed)
    candidates = district_pixels[allowed_here]
    if candidates.size == 0 or target_px - placed < _MIN_FIELD_PX:
        return attrs
    cumulative = np.cumsum(weights.ravel()[candidates].astype(np.float64))
    width = canvas.surface.shape[1]
    t = canvas.transform
    for _ in range(int(40 + 6 * target_px / 45)):
        remaining = target_px - placed
        if remaining < _MIN_FIELD_PX:
            break
        size_px = min(_field_size_px(rng), remaining)
        pick = candidates[np.searchsorted(cumulative, rng.uniform(0, cumulative[-1]))]
        x = t.c + (pick % width + rng.uniform()) * t.a
        y = t.f + (pick // width + rng.uniform()) * t.e
        ring = field_ring(rng, x, y, size_px * _PIXEL_M2)
        got = canvas.try_place(ring, district, code, allowed)
        if got:
            placed += got
            attrs.append({"surface": name, "land_cover": land_cover, "resown_from": ""})
    return attrs


def draw_fields_all_years(
    seed: int,
    base: np.ndarray,
    elevation: np.ndarray,
    labels: np.ndarray,
    district_ids: list[str],
    targets: pd.DataFrame,
    transform: Affine,
    years: tuple[int, ...],
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], dict[int, gpd.GeoDataFrame]]:
    """Place every year's fields; return (surface, field raster, field table) by year."""
    weights = {kind[0]: _candidate_weights(elevation, kind[0]) for kind in _KINDS}
    district_px = np.bincount(labels.ravel(), minlength=len(district_ids))
    by_district = np.split(np.argsort(labels.ravel(), kind="stable"), np.cumsum(district_px)[:-1])
    surfaces, rasters, tables = {}, {}, {}
    previous: gpd.GeoDataFrame | None = None
    for step, year in enumerate(years):
        rng = np.random.default_rng([int(seed), 6, year])
        surface = base.copy()
        if previous is not None:
            last = rasters[years[step - 1]]
            crop_rows = np.flatnonzero(previous.surface.isin(["opium_poppy", "cannabis"])) + 1
            surface[np.isin(last, crop_rows)] = _FALLOW
        canvas = _YearCanvas(surface, labels, transform)
        year_targets = targets[targets.year == year].set_index("district_id")
        district_of_field: list[str] = []
        for kind in _KINDS:
            for k, district_id in enumerate(district_ids):
                target_px = float(year_targets.loc[district_id, kind[3]]) * district_px[k]
                attrs = _place_kind(
                    rng,
                    canvas,
                    k,
                    target_px,
                    kind,
                    weights[kind[0]],
                    previous,
                    district_id,
                    by_district[k],
                )
                canvas.records.extend(attrs)
                district_of_field.extend([district_id] * len(attrs))
        table = _field_table(rng, canvas, district_of_field, year)
        surfaces[year], rasters[year], tables[year] = canvas.surface, canvas.field_raster, table
        previous = table
        logger.debug("year %s: %d fields", year, len(table))
    return surfaces, rasters, tables


def _field_table(
    rng: np.random.Generator, canvas: _YearCanvas, district_of_field: list[str], year: int
) -> gpd.GeoDataFrame:
    n = len(canvas.records)
    pixels = np.bincount(canvas.field_raster.ravel(), minlength=n + 1)[1:]
    table = pd.DataFrame(canvas.records)
    if n == 0:
        table = pd.DataFrame(columns=["surface", "land_cover", "resown_from"])
    table["field_id"] = [f"F{year}-{i + 1:05d}" for i in range(n)]
    table["year"] = year
    table["district_id"] = district_of_field
    table["area_ha"] = np.round(pixels * 0.01, 2)
    if n:
        sizes = np.array([len(r) for r in canvas.rings])
        polygons = shapely.polygons(
            shapely.linearrings(np.vstack(canvas.rings), indices=np.repeat(np.arange(n), sizes))
        )
    else:
        polygons = np.array([], dtype=object)
    table["polygon_area_ha"] = np.round(shapely.area(polygons) / 10_000, 4)
    table["sow_shift_days"] = np.round(rng.normal(0, 10, n), 1)
    table["vigour"] = np.round(np.clip(rng.normal(1.0, 0.15, n), 0.6, 1.4), 3)
    is_poppy = (table.surface == "opium_poppy").to_numpy()
    erad_share = {d: rng.uniform(0.0, 0.25) for d in sorted(set(district_of_field))}
    share = np.array([erad_share[d] for d in district_of_field]) if n else np.zeros(0)
    table["eradicated"] = is_poppy & (rng.random(n) < share)
    table["eradication_day"] = np.where(
        table.eradicated, np.round(rng.uniform(100, 140, n)), np.nan
    )
    mean_yield = {d: rng.uniform(8, 20) for d in sorted(set(district_of_field))}
    field_yield = np.array([mean_yield[d] for d in district_of_field]) * rng.lognormal(0, 0.25, n)
    table["yield_kg_ha"] = np.where(is_poppy, np.round(np.clip(field_yield, 4, 40), 2), np.nan)
    return gpd.GeoDataFrame(table[list(FIELD_COLUMNS)], geometry=polygons, crs="EPSG:32647")
