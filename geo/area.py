"""Mapped area per zone and the stratified reference sample drawn from a class map.

``zonal_class_area`` measures how many hectares of each map class lie in each
district: exact pixel coverage fractions at district edges (exactextract) times
the true area of each pixel (``geo.pixel_area``). ``draw_reference_sample``
draws the stratified random sample (strata = map class within district) that
photo-interpreters label. The estimators that turn the two into hectares with
confidence intervals live in ``geo.estimators`` and ``geo.segments`` and are
re-exported here, so ``geo.area`` is the one entry point.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray
import xarray as xr
from exactextract import exact_extract
from rasterio import features as rio_features
from rasterio import windows as rio_windows
from shapely.geometry import box

from geo.area_files import estimate_from_files
from geo.estimators import StratifiedEstimate, stratified_area_estimate
from geo.field_estimates import eradication_by_district, production_estimates
from geo.landcover import NODATA
from geo.pixel_area import pixel_area_ha, row_pixel_area_m2
from geo.segments import SegmentEstimate, segment_estimate
from geo.zone_estimates import district_estimates, region_estimate
from models.errors import InvalidInputError

__all__ = [
    "zonal_class_area",
    "draw_reference_sample",
    "stratified_area_estimate",
    "StratifiedEstimate",
    "district_estimates",
    "region_estimate",
    "segment_estimate",
    "SegmentEstimate",
    "eradication_by_district",
    "production_estimates",
    "estimate_from_files",
    "open_class_map",
    "row_pixel_area_m2",
]

logger = logging.getLogger(__name__)

WINDOW_PX = 1024
"""Edge of the square windows read from the class map (pixels); bounds memory."""


def open_class_map(class_map: str | os.PathLike[str] | xr.DataArray) -> xr.DataArray:
    """Return a class map as a lazy 2-D ``(y, x)`` DataArray with its nodata value set.

    Parameters
    ----------
    class_map : path or xarray.DataArray
        A single-band raster of integer class codes. A raster without a nodata
        value gets the legend's ``0``.

    Returns
    -------
    xarray.DataArray
        Dask-backed when read from a file.

    Raises
    ------
    InvalidInputError
        Missing file, several bands, a non-integer type or no CRS.
    """
    if isinstance(class_map, xr.DataArray):
        data, label = class_map, class_map.name or "class map"
    else:
        path = Path(class_map)
        if not path.exists():
            raise InvalidInputError(
                f"class map {path} does not exist; pass the classes.tif of a run"
            )
        label = str(path)
        data = rioxarray.open_rasterio(path, chunks={"x": WINDOW_PX, "y": WINDOW_PX})
    if "band" in data.dims:
        if data.sizes["band"] != 1:
            raise InvalidInputError(
                f"{label} has {data.sizes['band']} bands; a class map has exactly one"
            )
        data = data.squeeze("band", drop=True)
    if data.dims != ("y", "x"):
        raise InvalidInputError(f"{label} has dims {data.dims}; expected ('y', 'x')")
    if not np.issubdtype(data.dtype, np.integer):
        raise InvalidInputError(
            f"{label} has dtype {data.dtype}; class codes must be integers (uint8 legend codes)"
        )
    if data.rio.crs is None:
        raise InvalidInputError(f"{label} has no CRS; write one before measuring areas")
    if data.rio.nodata is None:
        data = data.rio.write_nodata(NODATA)
    return data


def _prepare_zones(
    zones: gpd.GeoDataFrame | str | os.PathLike[str], zone_id: str, crs: object
) -> gpd.GeoDataFrame:
    """Read zones if needed, check the id column, reproject to ``crs``."""
    if not isinstance(zones, gpd.GeoDataFrame):
        zones = gpd.read_file(zones)
    if zone_id not in zones.columns:
        raise InvalidInputError(
            f"zones have no column {zone_id!r}; columns are {list(zones.columns)}; "
            "pass the district id field as zone_id"
        )
    if zones.crs is None:
        raise InvalidInputError("zones have no CRS; set it (e.g. gdf.set_crs(...)) first")
    missing = zones[zone_id].isna()
    if missing.any():
        raise InvalidInputError(
            f"zones rows {list(np.flatnonzero(missing))} have no {zone_id}; every zone needs an id"
        )
    duplicated = zones[zone_id][zones[zone_id].duplicated()].unique()
    if len(duplicated):
        raise InvalidInputError(f"zone ids repeat: {list(duplicated)}; dissolve them first")
    zones = zones[[zone_id, "geometry"]].copy()
    zones = zones[~zones.geometry.is_empty & zones.geometry.notna()]
    if zones.crs != crs:
        logger.info("reprojecting %d zones from %s to %s", len(zones), zones.crs, crs)
        zones = zones.to_crs(crs)
    return zones.reset_index(drop=True)


def _check_overlap(zones: gpd.GeoDataFrame, class_map: xr.DataArray) -> None:
    raster_box = box(*class_map.rio.bounds())
    if not zones.geometry.intersects(raster_box).any():
        raster_bounds = tuple(round(v, 3) for v in raster_box.bounds)
        zone_bounds = tuple(round(float(v), 3) for v in zones.total_bounds)
        raise InvalidInputError(
            f"no zone overlaps the class map (raster bounds {raster_bounds}, zone bounds "
            f"{zone_bounds} in {class_map.rio.crs}); "
            "check that zones and map cover the same region"
        )


def zonal_class_area(
    class_map: str | os.PathLike[str] | xr.DataArray,
    zones: gpd.GeoDataFrame | str | os.PathLike[str],
    zone_id: str,
) -> pd.DataFrame:
    """Return the mapped area (ha) of each class in each zone.

    Pixels cut by a zone edge count with their exact covered fraction
    (exactextract); each pixel counts with its true area (constant in a
    projected CRS, per row on the ellipsoid in a geographic CRS). Zones in
    another CRS are reprojected to the raster's.

    Parameters
    ----------
    class_map : path or xarray.DataArray
        Integer class codes (legend codes), nodata excluded.
    zones : geopandas.GeoDataFrame or path
        Polygons with an id column.
    zone_id : str
        Name of the id column; it is also the first column of the result.

    Returns
    -------
    pandas.DataFrame
        Columns ``<zone_id>, class, area_ha``: one row per zone and per class
        seen anywhere in the zones, explicit ``0.0`` where a class is absent; a
        zone without valid pixels gets zero rows for every class and a warning.

    Raises
    ------
    InvalidInputError
        No zone overlaps the raster, the map has no valid pixel inside the
        zones, or the inputs are malformed.

    Examples
    --------
    >>> zonal_class_area("classes.tif", "districts.gpkg", "district_id")  # doctest: +SKIP
      district_id  class  area_ha
    0         D01      1    12.34
    """
    class_map = open_class_map(class_map)
    zones = _prepare_zones(zones, zone_id, class_map.rio.crs)
    _check_overlap(zones, class_map)
    weights = pixel_area_ha(class_map, chunks=WINDOW_PX)
    # weighted_sum / weighted_mean of the class values = Σ coverage × pixel area over valid
    # pixels (class codes are >= 1, so the mean is never 0); weighted_frac splits it by class.
    stats = exact_extract(
        class_map,
        zones,
        ["unique", "weighted_frac", "weighted_sum", "weighted_mean"],
        weights=weights,
        include_cols=[zone_id],
        output="pandas",
    )
    rows: list[tuple[object, int, float]] = []
    empty_zones = []
    for record in stats.itertuples(index=False):
        codes = np.asarray(record.unique, dtype="int64")
        if codes.size == 0 or not np.isfinite(record.weighted_mean) or record.weighted_mean == 0:
            empty_zones.append(getattr(record, zone_id))
            continue
        valid_ha = float(record.weighted_sum) / float(record.weighted_mean)
        for code, frac in zip(
            codes, np.asarray(record.weighted_frac, dtype="float64"), strict=True
        ):
            rows.append((getattr(record, zone_id), int(code), frac * valid_ha))
    if not rows:
        raise InvalidInputError(
            f"class map has no valid (non-nodata) pixel inside any of the {len(zones)} zones; "
            "check the map's nodata value and that it covers the districts"
        )
    if empty_zones:
        logger.warning(
            "zones %s have no valid class-map pixel (outside the raster or all nodata); "
            "they are reported with 0 ha for every class",
            empty_zones,
        )
    found = pd.DataFrame(rows, columns=[zone_id, "class", "area_ha"])
    grid = pd.MultiIndex.from_product(
        [zones[zone_id].tolist(), sorted(found["class"].unique())], names=[zone_id, "class"]
    )
    table = found.groupby([zone_id, "class"])["area_ha"].sum().reindex(grid, fill_value=0.0)
    return table.reset_index()


def _iter_windows(class_map: xr.DataArray) -> Iterator[tuple[rio_windows.Window, np.ndarray]]:
    """Yield (window, class codes) over the map in fixed row-major order, one window in memory."""
    height, width = class_map.rio.height, class_map.rio.width
    for row_off in range(0, height, WINDOW_PX):
        for col_off in range(0, width, WINDOW_PX):
            h, w = min(WINDOW_PX, height - row_off), min(WINDOW_PX, width - col_off)
            block = class_map.isel(y=slice(row_off, row_off + h), x=slice(col_off, col_off + w))
            yield rio_windows.Window(col_off, row_off, w, h), np.asarray(block.values)


def _stratum_keys(
    class_map: xr.DataArray, zones: gpd.GeoDataFrame, window: rio_windows.Window, codes: np.ndarray
) -> np.ndarray:
    """Return ``zone_index * 2**16 + class`` per pixel of the window; -1 outside zones or nodata."""
    transform = rio_windows.transform(window, class_map.rio.transform())
    bounds = rio_windows.bounds(window, class_map.rio.transform())
    hits = zones.sindex.query(box(*bounds))
    zone_index = np.zeros(codes.shape, dtype="int64")
    if hits.size:
        shapes = ((zones.geometry.iloc[i], int(i) + 1) for i in hits)
        zone_index = rio_features.rasterize(
            shapes, out_shape=codes.shape, transform=transform, fill=0, dtype="int32"
        ).astype("int64")
    valid = (zone_index > 0) & (codes != class_map.rio.nodata) & (codes != NODATA)
    return np.where(valid, (zone_index - 1) * 65536 + codes.astype("int64"), -1)


def draw_reference_sample(
    class_map: str | os.PathLike[str] | xr.DataArray,
    zones: gpd.GeoDataFrame | str | os.PathLike[str],
    zone_id: str,
    *,
    n_per_stratum: int | Mapping[int, int],
    seed: int,
) -> gpd.GeoDataFrame:
    """Draw a stratified random sample of pixels; strata are map classes within zones.

    A pixel belongs to the zone that contains its centre. The map is read
    twice, window by window (stratum sizes, then the chosen pixels), so memory
    does not grow with the mosaic.

    Parameters
    ----------
    class_map : path or xarray.DataArray
        Integer class map.
    zones : geopandas.GeoDataFrame or path
        Districts with an id column; reprojected to the raster CRS if needed.
    zone_id : str
        Id column of ``zones``; copied into the sample.
    n_per_stratum : int or mapping of class code to int
        Sample size per stratum. A class missing from the mapping gets no
        sample (logged). A stratum smaller than its ``n`` is taken whole.
    seed : int
        Seed of ``numpy.random.default_rng``; same seed, same sample.

    Returns
    -------
    geopandas.GeoDataFrame
        ``sample_id, <zone_id>, map_class, stratum_pixels, stratum_sample_size,
        inclusion_probability, geometry`` (pixel centres, raster CRS).

    Raises
    ------
    InvalidInputError
        Bad inputs, or no valid map pixel inside the zones.
    """
    class_map = open_class_map(class_map)
    zones = _prepare_zones(zones, zone_id, class_map.rio.crs)
    _check_overlap(zones, class_map)
    if isinstance(n_per_stratum, Mapping):
        wanted = {int(k): int(v) for k, v in n_per_stratum.items()}
        if any(v < 0 for v in wanted.values()):
            raise InvalidInputError(f"n_per_stratum has a negative size: {wanted}")
    elif int(n_per_stratum) < 1:
        raise InvalidInputError(f"n_per_stratum must be >= 1, got {n_per_stratum}")

    stratum_pixels: dict[int, int] = {}
    for window, codes in _iter_windows(class_map):
        keys, counts = np.unique(_stratum_keys(class_map, zones, window, codes), return_counts=True)
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            if key >= 0:
                stratum_pixels[key] = stratum_pixels.get(key, 0) + count
    if not stratum_pixels:
        raise InvalidInputError("class map has no valid pixel inside the zones; nothing to sample")

    rng = np.random.default_rng(seed)
    chosen: dict[int, np.ndarray] = {}
    unsampled = set()
    for key in sorted(stratum_pixels):
        code = key % 65536
        n = wanted.get(code, 0) if isinstance(n_per_stratum, Mapping) else int(n_per_stratum)
        if n == 0:
            unsampled.add(code)
            continue
        size = stratum_pixels[key]
        chosen[key] = np.sort(rng.choice(size, size=min(n, size), replace=False))
    if unsampled:
        logger.warning(
            "map classes %s get no reference sample (not in n_per_stratum)", sorted(unsampled)
        )

    seen = dict.fromkeys(stratum_pixels, 0)
    picks: list[tuple[int, float, float]] = []
    affine = class_map.rio.transform()
    for window, codes in _iter_windows(class_map):
        keys = _stratum_keys(class_map, zones, window, codes).ravel()
        for key in np.unique(keys[keys >= 0]).tolist():
            positions = np.flatnonzero(keys == key)
            ranks = chosen.get(key)
            if ranks is not None:
                lo, hi = seen[key], seen[key] + positions.size
                here = ranks[(ranks >= lo) & (ranks < hi)] - lo
                rows, cols = np.divmod(positions[here], codes.shape[1])
                xs = affine.c + affine.a * (cols + window.col_off + 0.5)
                ys = affine.f + affine.e * (rows + window.row_off + 0.5)
                picks.extend(zip([key] * len(here), xs, ys, strict=True))
            seen[key] += positions.size

    sample = pd.DataFrame(picks, columns=["key", "x", "y"])
    sample[zone_id] = zones[zone_id].to_numpy()[sample["key"] // 65536]
    sample["map_class"] = (sample["key"] % 65536).astype("int64")
    sample["stratum_pixels"] = sample["key"].map(stratum_pixels).astype("int64")
    sample["stratum_sample_size"] = sample["key"].map({k: len(v) for k, v in chosen.items()})
    sample["inclusion_probability"] = sample["stratum_sample_size"] / sample["stratum_pixels"]
    sample = sample.sort_values(["key", "y", "x"], ascending=[True, False, True], kind="stable")
    sample.insert(0, "sample_id", np.arange(1, len(sample) + 1))
    geometry = gpd.points_from_xy(sample["x"], sample["y"], crs=class_map.rio.crs)
    columns = ["sample_id", zone_id, "map_class", "stratum_pixels", "stratum_sample_size"]
    columns.append("inclusion_probability")
    return gpd.GeoDataFrame(sample[columns].reset_index(drop=True), geometry=geometry)
