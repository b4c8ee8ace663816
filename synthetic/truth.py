"""The known truth of the synthetic demo region, built in memory.

``generate_truth`` draws districts, a smooth elevation, a river, valley paddy,
fallow patches and small fields of opium poppy, cannabis and dry-season crops
for each survey year, plus the AD programmes and their built-in effect. It is
pure numpy (no file is written) so that an estimator honesty check can run it
over many seeds; ``synthetic.region.build_demo_region`` writes it out
together with imagery and field data drawn from it.

District boundaries follow pixel edges, so every true area is an exact pixel
count times the pixel area.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from threadpoolctl import threadpool_limits

from core.legend import LEGEND, code_of
from synthetic import fields as field_drawing
from synthetic.landscape import (
    SURFACE,
    base_surface,
    district_labels,
    district_polygons,
    rng_for,
    smooth_noise,
    terrain,
)
from synthetic.programmes import district_names, draw_programmes

__all__ = [
    "CRS",
    "PIXEL_SIZE_M",
    "PIXEL_AREA_HA",
    "ORIGIN",
    "BASE_SIZE",
    "BASE_DISTRICTS",
    "SURFACE",
    "TruthRegion",
    "generate_truth",
    "resolve_shape",
    "rng_for",
    "smooth_noise",
]

logger = logging.getLogger(__name__)

CRS = "EPSG:32647"
"""UTM zone 47N: the Shan State uplands."""
PIXEL_SIZE_M = 10.0
PIXEL_AREA_HA = PIXEL_SIZE_M * PIXEL_SIZE_M / 10_000.0
ORIGIN = (380_000.0, 2_330_000.0)
"""Upper-left corner (x, y) of the region in EPSG:32647."""
BASE_SIZE = (1200, 900)
"""(width, height) in 10 m pixels at scale 1."""
BASE_DISTRICTS = 12


OTHER = code_of("other_crops")


def resolve_shape(
    scale: int, size: tuple[int, int] | None, n_districts: int | None
) -> tuple[int, int, int]:
    """Return ``(width, height, n_districts)`` for the given overrides."""
    if scale < 1:
        raise ValueError(f"scale must be a whole number >= 1, got {scale!r}")
    if size is None:
        factor = float(np.sqrt(scale))
        width, height = (int(round(BASE_SIZE[0] * factor)), int(round(BASE_SIZE[1] * factor)))
        default_n = BASE_DISTRICTS * scale
    else:
        width, height = (int(size[0]), int(size[1]))
        ratio = width * height / (BASE_SIZE[0] * BASE_SIZE[1])
        default_n = max(3, int(round(BASE_DISTRICTS * ratio)))
    if width < 50 or height < 50:
        raise ValueError(f"size must be at least 50 x 50 pixels, got {width} x {height}")
    n = default_n if n_districts is None else int(n_districts)
    if not 2 <= n <= width * height // 400:
        raise ValueError(
            f"n_districts={n} does not fit a {width} x {height} region; use 2.."
            f"{width * height // 400} (at least 400 pixels = 4 ha per district)"
        )
    return width, height, n


@dataclass(frozen=True)
class TruthRegion:
    """Everything true about a synthetic region, in memory."""

    seed: int
    """Seed the region was drawn from."""
    scale: int
    """Area multiplier relative to the 1200 x 900 pixel base region."""
    years: tuple[int, ...]
    """Survey (harvest) years; the first is the programmes' baseline year."""
    transform: Affine
    """Affine transform of the 10 m grid (EPSG:32647)."""
    crs: str
    """CRS of every raster and of ``districts``."""
    districts: gpd.GeoDataFrame
    """``district_id``, ``district_name``, ``area_ha``, geometry (pixel-edge polygons)."""
    district_raster: np.ndarray
    """int16 index into ``districts`` (0-based) per pixel."""
    elevation: np.ndarray
    """float32 elevation (m) per pixel, smooth."""
    landcover: dict[int, np.ndarray]
    """Year -> uint8 true land cover codes (core.legend)."""
    surface: dict[int, np.ndarray]
    """Year -> uint8 surface type (:data:`SURFACE`) that drives the imagery."""
    field_raster: dict[int, np.ndarray]
    """Year -> int32 1-based row of ``fields[year]`` per pixel, 0 outside fields."""
    fields: dict[int, gpd.GeoDataFrame]
    """Year -> field polygons (poppy, cannabis, dry-season crops) with attributes."""
    district_truth: pd.DataFrame
    """``district_id, year, class, area_ha`` for every district, year and class."""
    eradication: pd.DataFrame
    """``district_id, year, eradicated_ha, eradicated_fields``."""
    yields: pd.DataFrame
    """``district_id, year, poppy_harvested_ha, mean_yield_kg_ha, production_kg``."""
    programmes: pd.DataFrame
    """The programme table (``programmes.csv`` columns)."""
    programme_effect: pd.DataFrame
    """Per programme district, crop and later year: ``true_change_pct``, ``expected_verdict``."""
    targets: pd.DataFrame = field(repr=False)
    """Per district and year the drawn target fractions (diagnostics)."""

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of every raster."""
        return self.district_raster.shape

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the region."""
        height, width = self.shape
        left, top = self.transform.c, self.transform.f
        return (left, top - height * PIXEL_SIZE_M, left + width * PIXEL_SIZE_M, top)

    def true_area_ha(self, district_id: str, class_name: str, year: int) -> float:
        """Return the true area (ha) of a class in a district and year."""
        rows = self.district_truth
        hit = rows[
            (rows.district_id == district_id) & (rows["class"] == class_name) & (rows.year == year)
        ]
        if hit.empty:
            raise KeyError(f"no truth for {district_id} {class_name} {year}")
        return float(hit.area_ha.iloc[0])


# -- districts --
def _landcover_of(surface: np.ndarray) -> np.ndarray:
    lookup = np.zeros(256, dtype=np.uint8)
    for name, code in SURFACE.items():
        lookup[code] = OTHER if name in ("paddy", "dry_crop") else code_of(name)
    return lookup[surface]


# -- the truth tables --


def _district_truth(
    labels: np.ndarray, landcover: dict[int, np.ndarray], districts: gpd.GeoDataFrame
) -> pd.DataFrame:
    n = len(districts)
    records = []
    for year, classes in landcover.items():
        counts = np.bincount(
            labels.ravel().astype(np.int64) * 8 + classes.ravel(), minlength=n * 8
        ).reshape(n, 8)
        for k, district_id in enumerate(districts.district_id):
            for cover in LEGEND:
                records.append(
                    (district_id, year, cover.name, round(counts[k, cover.code] * PIXEL_AREA_HA, 2))
                )
    return pd.DataFrame(records, columns=["district_id", "year", "class", "area_ha"])


def _eradication_and_yield(
    fields_by_year: dict[int, gpd.GeoDataFrame], districts: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    for year, fields in fields_by_year.items():
        poppy = pd.DataFrame(fields.drop(columns="geometry"))
        poppy = poppy[poppy.land_cover == "opium_poppy"]
        kept = ~poppy.eradicated.astype(bool)
        per_field = pd.DataFrame(
            {
                "district_id": poppy.district_id,
                "eradicated_ha": poppy.area_ha.where(~kept, 0.0),
                "eradicated_fields": (~kept).astype(int),
                "poppy_harvested_ha": poppy.area_ha.where(kept, 0.0),
                "production_kg": (poppy.area_ha * poppy.yield_kg_ha).where(kept, 0.0),
            }
        )
        sums = per_field.groupby("district_id").sum().reindex(districts.district_id, fill_value=0)
        sums["year"] = year
        frames.append(sums.reset_index())
    table = pd.concat(frames, ignore_index=True)
    harvested = table.poppy_harvested_ha
    table["mean_yield_kg_ha"] = (table.production_kg / harvested.where(harvested > 0)).round(3)
    for col in ("eradicated_ha", "poppy_harvested_ha", "production_kg"):
        table[col] = table[col].astype(float).round(2)
    table["eradicated_fields"] = table.eradicated_fields.astype(int)
    eradication = table[["district_id", "year", "eradicated_ha", "eradicated_fields"]]
    yields = table[
        ["district_id", "year", "poppy_harvested_ha", "mean_yield_kg_ha", "production_kg"]
    ]
    return eradication, yields


def generate_truth(
    seed: int,
    *,
    scale: int = 1,
    years: tuple[int, ...] = (2024, 2025),
    size: tuple[int, int] | None = None,
    n_districts: int | None = None,
) -> TruthRegion:
    """Draw the known truth of a synthetic region (in memory, no files).

    Parameters
    ----------
    seed
        Seed; the same seed and parameters give identical arrays and tables.
    scale
        Area multiplier: ``scale=K`` gives sqrt(K) times the 1200 x 900 pixel
        base region per side and ``12 * K`` districts.
    years
        Survey (harvest) years, at least two, increasing; the first is the
        programmes' baseline year.
    size
        ``(width, height)`` in 10 m pixels, overriding ``scale``'s size.
    n_districts
        Number of districts, overriding the default.

    Returns
    -------
    TruthRegion
        Districts, true land cover per year, field polygons, true hectares per
        district, class and year, the programme table and the programme effect.

    Raises
    ------
    ValueError
        Sizes or years that cannot make a region.

    Examples
    --------
    >>> truth = generate_truth(7, size=(300, 300), n_districts=4)
    >>> truth.true_area_ha("D01", "opium_poppy", 2024) >= 0
    True
    """
    # small matrix products only: BLAS threads just contend for the cores
    with threadpool_limits(limits=1, user_api="blas"):
        return _generate_truth(seed, scale, tuple(int(y) for y in years), size, n_districts)


def _generate_truth(
    seed: int,
    scale: int,
    years: tuple[int, ...],
    size: tuple[int, int] | None,
    n_districts: int | None,
) -> TruthRegion:
    if len(years) < 2 or list(years) != sorted(set(years)):
        raise ValueError(f"years must be at least two increasing years, got {years!r}")
    width, height, n = resolve_shape(scale, size, n_districts)
    transform = Affine(PIXEL_SIZE_M, 0.0, ORIGIN[0], 0.0, -PIXEL_SIZE_M, ORIGIN[1])

    labels = district_labels(rng_for(seed, 1), height, width, n)
    district_ids = [f"D{k + 1:02d}" for k in range(n)]
    polygons = district_polygons(labels, transform, n)
    pixel_counts = np.bincount(labels.ravel(), minlength=n)
    districts = gpd.GeoDataFrame(
        {
            "district_id": district_ids,
            "district_name": district_names(rng_for(seed, 2), n),
            "area_ha": np.round(pixel_counts * PIXEL_AREA_HA, 2),
        },
        geometry=polygons,
        crs=CRS,
    )

    elevation, river_distance = terrain(rng_for(seed, 3), height, width)
    base = base_surface(rng_for(seed, 4), elevation, river_distance)
    plan = draw_programmes(rng_for(seed, 5), district_ids, years)

    surface, field_raster, fields = field_drawing.draw_fields_all_years(
        seed, base, elevation, labels, district_ids, plan.targets, transform, years
    )
    landcover = {year: _landcover_of(surface[year]) for year in years}
    district_truth = _district_truth(labels, landcover, districts)
    eradication, yields = _eradication_and_yield(fields, districts)
    programmes, effect = plan.tables(district_truth, years)
    return TruthRegion(
        seed=int(seed),
        scale=int(scale),
        years=years,
        transform=transform,
        crs=CRS,
        districts=districts,
        district_raster=labels,
        elevation=elevation,
        landcover=landcover,
        surface=surface,
        field_raster=field_raster,
        fields=fields,
        district_truth=district_truth,
        eradication=eradication,
        yields=yields,
        programmes=programmes,
        programme_effect=effect,
        targets=plan.targets,
    )
