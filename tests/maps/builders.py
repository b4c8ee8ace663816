"""Builders of small, hand-checkable publishing inputs.

A grid of districts in UTM 47N, estimates, tiny COGs, field data and a manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Point, box

CRS = "EPSG:32647"
X0, Y0 = 500_000.0, 2_300_000.0  # UTM 47N, northern Shan uplands
SIDE_M = 2_000.0


def make_districts(n_cols: int, n_rows: int, side_m: float = SIDE_M) -> gpd.GeoDataFrame:
    """A grid of square districts, D001... numbered row by row from the north-west."""
    records = []
    for r in range(n_rows):
        for c in range(n_cols):
            k = r * n_cols + c + 1
            x, y = X0 + c * side_m, Y0 - (r + 1) * side_m
            records.append(
                {
                    "district_id": f"D{k:03d}",
                    "district_name": f"District {k}",
                    "geometry": box(x, y, x + side_m, y + side_m),
                }
            )
    return gpd.GeoDataFrame(records, crs=CRS)


def make_estimates(districts: gpd.GeoDataFrame, year: int, scale: float = 1.0) -> pd.DataFrame:
    """Deterministic estimates: poppy k*10*scale ha, cannabis k*2 ha, se 10% of area."""
    rows = []
    for k, row in enumerate(districts.itertuples(), start=1):
        for crop, area in (("opium_poppy", 10.0 * k * scale), ("cannabis", 2.0 * k)):
            se = 0.1 * area
            rows.append(
                {
                    "district_id": row.district_id,
                    "district_name": row.district_name,
                    "year": year,
                    "crop": crop,
                    "area_ha": area,
                    "ci_low_ha": area - 1.96 * se,
                    "ci_high_ha": area + 1.96 * se,
                    "method": "stratified",
                    "n_reference": 20 + k,
                    "se_ha": se,
                    "map_area_ha": area * 1.1,
                }
            )
    return pd.DataFrame(rows)


def write_cog(path: Path, array: np.ndarray, *, dtype: str, nodata: float | int) -> Path:
    """Write a single-band Cloud Optimized GeoTIFF over the district grid's north-west corner."""
    height, width = array.shape
    pixel = 40.0
    profile = {
        "driver": "COG",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": dtype,
        "crs": CRS,
        "transform": from_origin(X0, Y0, pixel, pixel),
        "nodata": nodata,
        "compress": "deflate",
        "blocksize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array.astype(dtype), 1)
    return path


@dataclass
class RunInputs:
    run_dir: Path
    districts: gpd.GeoDataFrame
    estimates: pd.DataFrame
    history: pd.DataFrame
    programme_change: pd.DataFrame
    programmes: pd.DataFrame
    plots: gpd.GeoDataFrame
    segments: gpd.GeoDataFrame
    class_map: Path
    ndvi: Path
    manifest: dict

    def kwargs(self) -> dict:
        return {
            "districts": self.districts,
            "district_estimates": self.estimates,
            "programme_change": self.programme_change,
            "class_map": self.class_map,
            "ndvi": self.ndvi,
            "plots": self.plots,
            "segments": self.segments,
            "programmes": self.programmes,
            "manifest": self.manifest,
            "synthetic": True,
            "history": self.history,
        }


def make_run_inputs(
    workspace: Path, year: int = 2025, run_id: str = "r2025a", n_cols: int = 3
) -> RunInputs:
    run_dir = workspace / "runs" / str(year) / run_id
    run_dir.mkdir(parents=True)
    districts = make_districts(n_cols, 2)
    estimates = make_estimates(districts, year)
    history = pd.concat(
        [make_estimates(districts, year - 1, scale=1.5), estimates], ignore_index=True
    )
    # class map: 150 x 100 px of 40 m over the 6 km x 4 km grid;
    # codes in vertical bands 1..6 of 25 px, the first 5 columns no data
    codes = np.repeat(np.arange(1, 7, dtype=np.uint8), 25)[None, :].repeat(100, axis=0)
    codes[:, :5] = 0
    class_map = write_cog(workspace / "classes.tif", codes, dtype="uint8", nodata=0)
    ndvi = np.linspace(-0.2, 0.9, 150, dtype="float32")[None, :].repeat(100, axis=0)
    ndvi[:10, :] = np.nan
    ndvi_path = write_cog(workspace / "ndvi_median.tif", ndvi, dtype="float32", nodata=np.nan)
    programmes = pd.DataFrame(
        {
            "programme_id": ["P1", "P2"],
            "name": ["Highland coffee", "Tea & macadamia"],
            "district_ids": [["D001", "D002"], "D005"],
            "baseline_year": [year - 1, year - 1],
            "baseline_opium_poppy_ha": [30.0, 75.0],
            "baseline_cannabis_ha": [3.0, 15.0],
        }
    )
    change_rows = []
    for pid, did in (("P1", "D001"), ("P1", "D002"), ("P2", "D005")):
        cur = estimates[(estimates.district_id == did) & (estimates.crop == "opium_poppy")].iloc[0]
        base = 1.5 * cur.area_ha
        change_rows.append(
            {
                "programme_id": pid,
                "district_id": did,
                "crop": "opium_poppy",
                "baseline_year": year - 1,
                "baseline_ha": base,
                "baseline_source": "estimate",
                "year": year,
                "area_ha": cur.area_ha,
                "ci_low_ha": cur.ci_low_ha,
                "ci_high_ha": cur.ci_high_ha,
                "change_ha": cur.area_ha - base,
                "change_pct": 100 * (cur.area_ha - base) / base,
                "change_ci_low_ha": cur.area_ha - base - 5,
                "change_ci_high_ha": cur.area_ha - base + 5,
                "verdict": "decrease",
            }
        )
    plots_utm = gpd.GeoDataFrame(
        {
            "plot_id": ["p1", "p2", "p3", "p4"],
            "crop": ["opium_poppy", "cannabis", "other_crops", "forest"],
            "status": ["verified", "eradicated", "verified", "verified"],
            "geometry": [
                box(X0 + 300, Y0 - 700, X0 + 380, Y0 - 640),
                box(X0 + 2500, Y0 - 900, X0 + 2560, Y0 - 850),
                box(X0 + 4300, Y0 - 3000, X0 + 4400, Y0 - 2920),
                Point(X0 + 1000, Y0 - 3000),
            ],
        },
        crs=CRS,
    )
    segments = gpd.GeoDataFrame(
        {
            "segment_id": ["S1", "S2"],
            "district_id": ["D001", "D006"],
            "stratum": ["high", "low"],
            "geometry": [
                box(X0 + 200, Y0 - 1000, X0 + 700, Y0 - 500),
                box(X0 + 4500, Y0 - 3600, X0 + 5000, Y0 - 3100),
            ],
        },
        crs=CRS,
    )
    manifest = {
        "run_id": run_id,
        "year": year,
        "created": f"{year}-04-01T10:00:00+00:00",
        "inputs": [{"path": "imagery/2025/S2A.json", "sha256": "ab" * 32}],
        "parameters": {"composite": "median", "n_per_stratum": 50},
        "versions": {"admon": "0.1.0", "rasterio": rasterio.__version__},
        "accuracy": {
            "overall": 0.912,
            "users": {"opium_poppy": 0.85, "cannabis": 0.8},
            "producers": {"opium_poppy": 0.75, "cannabis": 0.7},
        },
        "sample_sizes": {"reference_points": 600, "survey_plots": 4},
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    return RunInputs(
        run_dir,
        districts,
        estimates,
        history,
        pd.DataFrame(change_rows),
        programmes,
        plots_utm.to_crs("EPSG:4326"),
        segments,
        class_map,
        ndvi_path,
        manifest,
    )
