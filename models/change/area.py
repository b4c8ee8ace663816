"""Programme area polygons: crop area inside them from a class map (``"AREA"`` rows).

The mapped area inside the polygon is calibrated by the ratio estimate / mapped area
of the programme's districts (their user's-accuracy-adjusted stratified estimate over
what the map shows), with the districts' relative SE (and their unseen omission in the
upper limit, as a district row has it); without districts to calibrate
it, the bare mapped area is given and flagged ``"map area (no sample-based interval)"``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from shapely.geometry import box

from core.errors import InvalidInputError
from core.legend import CROPS_OF_INTEREST, code_of
from geo.estimation import zonal_class_area
from models.change.inputs import (
    add_note,
    current_fields,
    district_ids_of,
    reported_baseline,
    unseen_of,
)
from models.change.totals import sum_of_districts

__all__ = ["area_rows"]

logger = logging.getLogger(__name__)


def _measure_areas(
    polygons: gpd.GeoDataFrame, class_map: str | os.PathLike[str]
) -> tuple[pd.DataFrame, set[str]]:
    """Mapped class areas inside each programme polygon, and the ids of polygons on the map."""

    try:
        mapped = zonal_class_area(class_map, polygons[["programme_id", "geometry"]], "programme_id")
    except InvalidInputError as exc:  # areas outside the map: keep their rows, say why
        logger.warning("programme areas not measured on %s: %s", class_map, exc)
        mapped = pd.DataFrame(columns=["programme_id", "class", "area_ha"])
    if "zone_id" in mapped and "programme_id" not in mapped:
        mapped = mapped.rename(columns={"zone_id": "programme_id"})
    with rasterio.open(class_map) as src:  # zones off the map come back as 0 ha: tell them apart
        inside = polygons.to_crs(src.crs).intersects(box(*src.bounds))
    return mapped, set(polygons.loc[inside, "programme_id"].astype(str))


def _area_fields(
    prog: pd.Series,
    crop: str,
    measured: tuple[pd.DataFrame, set[str]],
    estimates: pd.DataFrame,
    z: float,
) -> dict[str, Any]:
    """Crop area inside one programme polygon: mapped area × the districts' estimate/map ratio."""
    mapped, on_map = measured
    pid = str(prog["programme_id"])
    if pid not in on_map:
        return current_fields(None, "programme area not covered by the class map")
    hit = mapped[
        (mapped["programme_id"].astype(str) == pid) & (mapped["class"].astype(int) == code_of(crop))
    ]
    map_ha = float(hit["area_ha"].sum())
    ids = district_ids_of(prog["district_ids"])
    districts = estimates[estimates["district_id"].isin(ids) & (estimates["crop"] == crop)]
    map_total = districts["map_area_ha"].sum() if "map_area_ha" in districts else 0.0
    if len(districts) < len(ids) or not map_total > 0:
        return dict(
            area_ha=map_ha,
            se_ha=np.nan,
            ci_low_ha=np.nan,
            ci_high_ha=np.nan,
            method="map area (no sample-based interval)",
            n_reference=np.nan,
            note="map area (no sample-based interval)",
        )
    ratio = districts["area_ha"].sum() / map_total
    shared = districts["shared_se_ha"] if "shared_se_ha" in districts else None
    _, districts_se = sum_of_districts(districts["area_ha"], districts["se_ha"], shared)
    se = map_ha * districts_se / map_total
    unseen = map_ha * float(np.sqrt(sum(unseen_of(d) ** 2 for _, d in districts.iterrows())))
    unseen /= map_total
    area = map_ha * ratio
    return dict(
        area_ha=area,
        se_ha=se,
        ci_low_ha=max(0.0, area - z * se),
        ci_high_ha=area + z * float(np.hypot(se, unseen)),
        _unseen=unseen,
        method="map area × district ratio",
        n_reference=np.nan,
        note=f"mapped {map_ha:.2f} ha × ratio {ratio:.3f} (estimate / map area of its districts)",
    )


def area_rows(
    polygons: gpd.GeoDataFrame,
    class_map: str | os.PathLike[str],
    current: pd.DataFrame,
    baselines: dict[str, tuple[pd.DataFrame, str | None]],
    baseline_class_map: str | os.PathLike[str] | None,
    z: float,
) -> list[dict[str, Any]]:
    """Rows (``district_id`` ``"AREA"``) for programme area polygons."""
    if polygons.empty:
        return []
    measured = _measure_areas(polygons, class_map)
    measured_then = _measure_areas(polygons, baseline_class_map) if baseline_class_map else None
    rows = []
    for _, prog in polygons.iterrows():
        base, base_run = baselines[str(prog["programme_id"])]
        for crop in CROPS_OF_INTEREST:
            row = _area_fields(prog, crop, measured, current, z)
            row.update(
                programme_id=prog["programme_id"],
                district_id="AREA",
                crop=crop,
                baseline_year=int(prog["baseline_year"]),
                baseline_run_id=None,
            )
            reported = reported_baseline(prog, crop)
            if reported is not None:
                row.update(reported, baseline_source="reported")
            elif measured_then is not None:
                then = _area_fields(prog, crop, measured_then, base, z)
                row.update(
                    baseline_ha=then["area_ha"],
                    baseline_se_ha=then["se_ha"],
                    baseline_source="derived" if not pd.isna(then["area_ha"]) else "missing",
                    baseline_uncertainty="estimated",
                    baseline_run_id=base_run,
                )
                add_note(row, f"baseline: {then['note']} on the {prog['baseline_year']} map")
            else:
                row.update(baseline_ha=np.nan, baseline_se_ha=np.nan, baseline_source="missing")
                add_note(row, "no reported baseline and no baseline-year class map for the area")
            rows.append(row)
    return rows
