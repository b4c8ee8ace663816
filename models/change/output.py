"""Writing ``programme_change.csv``/``.gpkg`` and the rows of its Prefect table artifact."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from core.io import write_table

__all__ = ["write_programme_change", "artifact_table"]


def write_programme_change(
    change: pd.DataFrame,
    run_dir: str | os.PathLike[str],
    *,
    districts: gpd.GeoDataFrame | None = None,
    programmes: gpd.GeoDataFrame | None = None,
) -> dict[str, Path]:
    """Write ``programme_change.csv`` and, with geometries, ``programme_change.gpkg``.

    District rows take the district polygon, ``ALL`` and ``AREA`` rows the programme's
    geometry. Both files are written atomically. Returns ``{"csv": ..., "gpkg": ...}``.
    """
    run_dir = Path(run_dir)
    written = {}
    written["csv"] = write_table(change, run_dir / "programme_change.csv")
    if districts is None and programmes is None:
        return written
    geoms = _row_geometries(change, districts, programmes)
    frame = gpd.GeoDataFrame(change.copy(), geometry=geoms.values, crs=geoms.crs)
    written["gpkg"] = write_table(frame, run_dir / "programme_change.gpkg")
    return written


def _row_geometries(
    change: pd.DataFrame, districts: gpd.GeoDataFrame | None, programmes: gpd.GeoDataFrame | None
) -> gpd.GeoSeries:
    crs = districts.crs if districts is not None else programmes.crs
    by_district = (
        {}
        if districts is None
        else dict(zip(districts["district_id"].astype(str), districts.geometry, strict=True))
    )
    by_programme = {}
    if programmes is not None and programmes.crs is not None:
        projected = programmes.to_crs(crs) if crs is not None else programmes
        by_programme = dict(zip(projected["programme_id"], projected.geometry, strict=True))
    geoms = [
        by_programme.get(p) if d in {"ALL", "AREA"} else by_district.get(d)
        for p, d in zip(change["programme_id"], change["district_id"], strict=True)
    ]
    return gpd.GeoSeries(geoms, crs=crs)


def artifact_table(
    change: pd.DataFrame, columns: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Rows for a Prefect table artifact: the key columns, rounded, NaN as ``None``.

    ``flows`` passes the result to ``prefect.artifacts.create_table_artifact(table=...)``.
    """
    keep = list(
        columns
        or (
            "programme_id",
            "district_id",
            "crop",
            "baseline_year",
            "baseline_ha",
            "baseline_source",
            "year",
            "area_ha",
            "change_ha",
            "change_pct",
            "change_ci_low_ha",
            "change_ci_high_ha",
            "verdict",
        )
    )
    table = change[keep].round(2).astype(object)
    return table.where(table.notna(), None).to_dict(orient="records")
