"""Small known-truth seasons for the classification tests.

A 160 x 160 grid of 10 m pixels (EPSG:32647, northern Myanmar / Lao uplands)
with five monthly Sentinel-2-like acquisitions (November to March) holding a
5 x 5 lattice of 16 x 16 px fields on fallow ground. Each class has its own
NDVI profile through the dry season, e.g. opium poppy is bare at sowing in
November, green in December-January and lanced/harvested by March; paddy
("other crops") is green in November only. Reflectance is derived from the
profile (red fixed per class, NIR from NDVI), with pixel noise, a per-field
offset and cloud rectangles set to NaN/invalid on some dates, plus a corner
that no date sees (no data).
"""

from __future__ import annotations

from dataclasses import dataclass

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.transform import xy
from shapely.geometry import Point, box

from core.legend import name_of

CRS = "EPSG:32647"
PIXEL_M = 10.0
ORIGIN = (500_000.0, 2_300_000.0)  # upper-left corner, metres
SIZE = 160
CELL = 32
FIELD = 16
FIELD_OFFSET = 5
DATES = pd.to_datetime(["2024-11-15", "2024-12-15", "2025-01-15", "2025-02-15", "2025-03-15"])
NO_DATA_CORNER = 5
"""Rows and columns ``0:5`` are invalid on every date."""

NDVI_PROFILE = {
    1: (0.20, 0.72, 0.75, 0.30, 0.15),  # opium_poppy: green Dec-Jan, harvested Feb-Mar
    2: (0.45, 0.60, 0.62, 0.55, 0.35),  # cannabis
    3: (0.68, 0.30, 0.20, 0.20, 0.25),  # other_crops: paddy harvested after November
    4: (0.82, 0.80, 0.76, 0.73, 0.70),  # forest
    5: (0.12, 0.10, 0.10, 0.12, 0.12),  # fallow_bare
    6: (-0.30, -0.30, -0.28, -0.30, -0.30),  # water
}
RED = {1: 0.05, 2: 0.05, 3: 0.06, 4: 0.03, 5: 0.15, 6: 0.05}


@dataclass(frozen=True)
class SyntheticSeason:
    """A season, its plots and the truth behind them."""

    season: xr.Dataset
    plots: gpd.GeoDataFrame
    truth: np.ndarray
    """Class code per pixel."""
    field_cells: pd.DataFrame
    """plot_id, code, row0, col0 (upper-left pixel of each 16 x 16 px field)."""
    transform: Affine


def grid_transform() -> Affine:
    return Affine(PIXEL_M, 0.0, ORIGIN[0], 0.0, -PIXEL_M, ORIGIN[1])


def season_dataset(bands: dict[str, np.ndarray], chunk_px: int = 64) -> xr.Dataset:
    """Wrap ``(time, y, x)`` band arrays as read_season does: dask, CRS, transform, valid."""
    transform = grid_transform()
    n_time, height, width = bands["red"].shape
    x = ORIGIN[0] + PIXEL_M * (np.arange(width) + 0.5)
    y = ORIGIN[1] - PIXEL_M * (np.arange(height) + 0.5)
    valid = np.isfinite(bands["red"]) & np.isfinite(bands["nir"])
    chunks = (1, chunk_px, chunk_px)
    data_vars = {
        name: (("time", "y", "x"), da.from_array(values.astype(np.float32), chunks=chunks))
        for name, values in bands.items()
    }
    data_vars["valid"] = (("time", "y", "x"), da.from_array(valid, chunks=chunks))
    season = xr.Dataset(data_vars, coords={"time": DATES[:n_time], "y": y, "x": x})
    return season.rio.write_crs(CRS).rio.write_transform(transform)


def build_season(seed: int = 7, *, single_plot_class: int | None = None) -> SyntheticSeason:
    """Build the synthetic season; ``single_plot_class`` keeps only one plot of that class."""
    rng = np.random.default_rng(seed)
    codes = np.array(([1, 2, 3, 4, 5, 6] * 5)[:25])
    codes = codes[rng.permutation(len(codes))]
    truth = np.full((SIZE, SIZE), 5, dtype=np.uint8)  # fallow ground between fields
    field_offset = np.zeros((SIZE, SIZE), dtype=np.float32)
    cells = []
    for k, code in enumerate(codes):
        row0 = (k // 5) * CELL + FIELD_OFFSET
        col0 = (k % 5) * CELL + FIELD_OFFSET
        truth[row0 : row0 + FIELD, col0 : col0 + FIELD] = code
        field_offset[row0 : row0 + FIELD, col0 : col0 + FIELD] = rng.normal(0, 0.03)
        cells.append({"plot_id": f"P{k + 1:03d}", "code": int(code), "row0": row0, "col0": col0})
    field_cells = pd.DataFrame(cells)

    shape = (len(DATES), SIZE, SIZE)
    profile = np.stack([np.array(NDVI_PROFILE[c]) for c in range(7) if c in NDVI_PROFILE])
    ndvi = profile[truth - 1].transpose(2, 0, 1) + field_offset  # (time, y, x)
    ndvi = np.clip(ndvi, -0.9, 0.95)
    red = np.vectorize(RED.get)(truth).astype(np.float32)[None] + rng.normal(0, 0.004, shape)
    red = np.clip(red, 0.005, None)
    nir = red * (1 + ndvi) / (1 - ndvi) + rng.normal(0, 0.004, shape)
    bands = {
        "blue": 0.7 * red + 0.02 + rng.normal(0, 0.003, shape),
        "green": 0.9 * red + 0.03 + rng.normal(0, 0.003, shape),
        "red": red,
        "nir": nir,
        "swir1": np.where(truth == 6, 0.01, 0.5 * nir + 0.5 * red) + rng.normal(0, 0.004, shape),
        "swir2": np.where(truth == 6, 0.005, 0.3 * nir + 0.6 * red) + rng.normal(0, 0.004, shape),
    }
    cloud = np.zeros(shape, dtype=bool)
    for t in range(len(DATES)):
        for _ in range(2):
            r, c = rng.integers(0, SIZE - 30, size=2)
            cloud[t, r : r + 30, c : c + 30] = True
    cloud[:, :NO_DATA_CORNER, :NO_DATA_CORNER] = True
    for name in bands:
        bands[name] = np.where(cloud, np.nan, bands[name]).astype(np.float32)

    plots = plots_frame(field_cells, single_plot_class=single_plot_class)
    return SyntheticSeason(season_dataset(bands), plots, truth, field_cells, grid_transform())


def plots_frame(
    field_cells: pd.DataFrame, *, single_plot_class: int | None = None
) -> gpd.GeoDataFrame:
    """Survey plots as a field export delivers them: EPSG:4326, polygons for crops, points else."""
    transform = grid_transform()
    rows = []
    seen: dict[int, int] = {}
    for cell in field_cells.itertuples():
        seen[cell.code] = seen.get(cell.code, 0) + 1
        if single_plot_class == cell.code and seen[cell.code] > 1:
            continue
        left, top = xy(transform, cell.row0, cell.col0, offset="ul")
        right, bottom = xy(transform, cell.row0 + FIELD, cell.col0 + FIELD, offset="ul")
        if cell.code in (1, 2, 3) or seen[cell.code] % 2:
            geometry = box(left, bottom, right, top)
        else:  # other land cover recorded as a point at the field centre
            geometry = Point((left + right) / 2, (top + bottom) / 2)
        rows.append(
            {"plot_id": cell.plot_id, "land_cover": name_of(cell.code), "geometry": geometry}
        )
    return gpd.GeoDataFrame(rows, crs=CRS).to_crs("EPSG:4326")
